"""The report's pictures of a model built in mixed precision (bfloat16 or float16 activations)."""

import numpy as np
import pytest

import mmcnn
from mmcnn.report import write_report


def _image(precision):
    clf = mmcnn.image.ImageClassifier(
        num_classes=2, image_size=(16, 16), channels=1, preset="tiny", precision=precision
    )
    example = np.zeros((16, 16, 1), dtype="uint8")
    example[4:12, 4:12] = 255
    return clf, example


def _text(precision):
    clf = mmcnn.text.TextClassifier(
        num_classes=2, max_tokens=16, embedding_dim=8, filters=4, precision=precision
    )
    clf.adapt(["the cat sat on the mat", "a dog ran in the park"] * 2)
    return clf, "the dog sat on the mat"


@pytest.mark.parametrize("modality", [_image, _text])
@pytest.mark.parametrize("precision", ["mixed_bfloat16", "mixed_float16"])
def test_feature_maps_of_a_mixed_precision_model_are_drawn(precision, modality, tmp_path, caplog):
    clf, example = modality(precision)
    files = write_report(clf, tmp_path / "report", example=example)
    assert clf.model.dtype_policy.name == precision
    failed = [r.getMessage() for r in caplog.records if "feature_maps.png was not made" in r.getMessage()]
    assert not failed and "feature_maps.png" in [f.name for f in files]
