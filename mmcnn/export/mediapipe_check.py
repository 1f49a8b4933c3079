"""Does a `.tflite` file load in the MediaPipe Task an app would use for it.

Which Task follows from what the file's `mmcnn.json` preprocessing holds
(the modality's `edge_metadata()`): image pixels -> `ImageClassifier`, a
sample rate -> `AudioClassifier`, a regex tokenizer -> `TextClassifier`;
other files (token ids without a tokenizer MediaPipe implements, a model's
own float input) have no Task. Creating the Task reads the file's standard
TFLite Metadata, checks its input and output tensors and the single
subgraph: what refuses a file refuses it here, with MediaPipe's message.
"""

from mmcnn._stderr import quiet_native
from mmcnn.export.exporter import ExportError


def mediapipe_task_name(document):
    """The MediaPipe Task for a file with this `mmcnn.json` document, or None."""
    settings = document.get("preprocessing") or {}
    if "color" in settings:
        return "ImageClassifier"
    if "sample_rate" in settings:
        return "AudioClassifier"
    if "regex_tokenizer" in settings:
        return "TextClassifier"
    return None


def check_in_mediapipe(data, document):
    """Creates the file's MediaPipe classifier from `data`; returns `"MediaPipe <Task>"`.

    Returns None when the file has no Task or `mediapipe` is not installed
    (it comes with `mmcnn[lite]`).

    Raises:
        ExportError: MediaPipe refuses the file (its message is quoted).
    """
    name = mediapipe_task_name(document)
    if name is None:
        return None
    try:
        from mediapipe.tasks.python import audio, text, vision
        from mediapipe.tasks.python.core.base_options import BaseOptions
    except ImportError:
        return None
    module = {"ImageClassifier": vision, "AudioClassifier": audio, "TextClassifier": text}[name]
    task, options = getattr(module, name), getattr(module, f"{name}Options")
    try:
        with quiet_native():
            classifier = task.create_from_options(options(base_options=BaseOptions(model_asset_buffer=data)))
            classifier.close()
    except (ValueError, RuntimeError) as error:
        raise ExportError(f"MediaPipe's {name} refuses the file: {error}") from error
    return f"MediaPipe {name}"
