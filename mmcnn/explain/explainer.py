"""`Classifier.explain`: Grad-CAM maps at the input's resolution, with the top classes."""

import numpy as np

from mmcnn.explain.gradcam import empty_maps, grad_cam

TOP_CLASSES = 3


def class_ids_for(class_names, class_name, n):
    """`class_name` (None, one name, or one per input) -> class ids `(n,)`, -1 for the most probable."""
    if class_name is None:
        return np.full(n, -1, dtype="int32")
    names = [class_name] * n if isinstance(class_name, (str, bytes)) else list(class_name)
    if len(names) != n:
        raise ValueError(
            f"`class_name` must be None, one class name, or one per input ({n}). Received {len(names)} names"
        )
    ids = []
    for name in names:
        if name is None:
            ids.append(-1)
        elif str(name) in class_names:
            ids.append(class_names.index(str(name)))
        else:
            raise ValueError(f"`class_name` must be one of {class_names}. Received: class_name={name!r}")
    return np.asarray(ids, dtype="int32")


def explain_classifier(clf, inputs, class_name=None, batch_size=32):
    """What `Classifier.explain` returns; see there."""
    batch = clf.preprocess(inputs)
    n = int(batch.shape[0]) if hasattr(batch, "shape") else len(batch)
    class_ids = class_ids_for(list(clf.class_names), class_name, n)
    cam = grad_cam(clf.model, batch, class_ids, batch_size=batch_size)
    views = clf.explanation_views(batch, cam)
    probabilities = cam["probabilities"]
    order = np.argsort(-probabilities, axis=-1)[:, :TOP_CLASSES]
    names = list(clf.class_names)
    result = {
        "maps": list(views.pop("maps")),
        "class_names": [names[i] for i in cam["class_ids"]],
        "probabilities": probabilities,
        "top_k": [[(names[j], float(p[j])) for j in row] for row, p in zip(order, probabilities)],
        "backgrounds": list(views.pop("backgrounds", [None] * n)),
        "feature_maps": list(cam["maps"]),
    }
    result.update(views)
    # After the hook: a modality may build its maps from the contributions (text does).
    result["empty"] = empty_maps(result["maps"])
    return result
