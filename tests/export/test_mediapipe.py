"""MediaPipe Tasks load every modality's float32 and int8 `.tflite` file and name the same classes as mmcnn.

What an app developer does: create the task's classifier from the file alone
(class names, input range, sample rate and tokenizer come from the file's
standard TFLite Metadata), classify demo-like inputs, and read `category_name`.
"""

import numpy as np
import pytest
from edge_models import TOLERANCE, tiny_classifier
from mediapipe.tasks.python import audio, text, vision
from mediapipe.tasks.python.components.containers.audio_data import AudioData
from mediapipe.tasks.python.core.base_options import BaseOptions
from mediapipe.tasks.python.vision.core.image import Image, ImageFormat

from mmcnn.export import load_edge_model
from mmcnn.export.tflite_metadata import METADATA_NAME

COUNT = 12
SHARPEN = 10.0


@pytest.fixture(scope="module", params=["image", "audio", "text"])
def tiny(request):
    """A tiny untrained classifier whose last kernel is scaled up, so that it decides clearly (not
    1/3 each): the top class then means something after int8 quantization too."""
    clf, data = tiny_classifier(request.param)
    kernel = [w for w in clf.model.weights if len(w.shape) == 2][-1]
    kernel.assign(kernel * SHARPEN)
    return request.param, clf, data


def mediapipe_scores(modality, path, inputs, class_names):
    """`(n, num_classes)` scores MediaPipe's classifier gives, and the category names it returned."""
    options = dict(base_options=BaseOptions(model_asset_path=str(path)), max_results=len(class_names))
    scores, names = np.zeros((len(inputs), len(class_names))), set()
    if modality == "image":
        task = vision.ImageClassifier.create_from_options(vision.ImageClassifierOptions(**options))
        run = lambda x: task.classify(Image(image_format=ImageFormat.SRGB, data=x))  # noqa: E731
    elif modality == "audio":
        task = audio.AudioClassifier.create_from_options(audio.AudioClassifierOptions(**options))
        run = lambda x: task.classify(AudioData.create_from_array(x, 8000))[0]  # noqa: E731
    else:
        task = text.TextClassifier.create_from_options(text.TextClassifierOptions(**options))
        run = task.classify
    with task:
        for i, x in enumerate(inputs):
            for category in run(x).classifications[0].categories:
                names.add(category.category_name)
                scores[i, class_names.index(category.category_name)] = category.score
    return scores, names


def demo_inputs(modality, clf, data):
    """Raw inputs for MediaPipe (RGB uint8 images, waveforms, lowercase texts) and the same for `predict`."""
    if modality == "image":
        grey = np.asarray(data.subset(np.arange(COUNT)).inputs, dtype=np.uint8).reshape(COUNT, 16, 16, 1)
        return [np.repeat(g, 3, axis=-1) for g in grey], grey
    if modality == "audio":
        waves = [np.asarray(w, dtype=np.float32) for w in data.subset(np.arange(COUNT)).inputs]
        return waves, waves
    texts = [str(t).lower() for t in data.subset(np.arange(COUNT)).inputs]
    return texts, texts


@pytest.mark.slow
@pytest.mark.parametrize("quantize", [None, "int8"])
def test_mediapipe_names_the_classes_predict_names(tiny, quantize, tmp_path):
    modality, clf, data = tiny
    path = clf.export(tmp_path / "model.tflite", format="litert", quantize=quantize, calibration_data=data)
    ours, theirs = demo_inputs(modality, clf, data)
    scores, names = mediapipe_scores(modality, path, ours, list(clf.class_names))
    assert names == set(clf.class_names)  # category_name is set, from the labels packed in the file
    # MediaPipe runs the file as LiteRT's interpreter does (its resize at the model's size is exact) ...
    edge = load_edge_model(path)
    litert = edge(np.stack(ours) if modality != "text" else clf.edge_inputs(ours))
    assert float(np.abs(scores - litert).max()) <= 1e-5
    # ... and the file is as close to Keras (`predict`) as the quantization allows.
    reference = clf.predict_proba(theirs)
    diff = float(np.abs(scores - reference).max())
    assert diff <= TOLERANCE[quantize] + 1e-4, f"max |MediaPipe - predict_proba| {diff:.2e}"
    # The same top class as `predict` wherever its top two are further apart than the error could move them.
    top2 = np.sort(reference, axis=-1)[:, -2:]
    clear = top2[:, 1] - top2[:, 0] > 2 * diff + 1e-6
    predicted = np.asarray(clf.predict(theirs)["labels"])
    assert clear.sum() >= COUNT // 3
    assert list(np.asarray(clf.class_names)[scores.argmax(-1)][clear]) == list(predicted[clear])


def test_file_has_standard_metadata_and_one_subgraph(tiny, tmp_path):
    from mediapipe.tasks.metadata import metadata_schema_py_generated as meta_schema
    from tensorflow.lite.python import schema_py_generated as schema

    modality, clf, _ = tiny
    data = open(clf.export(tmp_path / "model.tflite", format="litert"), "rb").read()
    model = schema.Model.GetRootAs(data, 0)
    assert model.SubgraphsLength() == 1
    entries = {
        model.Metadata(i).Name().decode(): model.Metadata(i).Buffer() for i in range(model.MetadataLength())
    }
    assert {"mmcnn.labels", "mmcnn.json", METADATA_NAME} <= set(entries)
    buffer = model.Buffers(entries[METADATA_NAME]).DataAsNumpy().tobytes()
    metadata = meta_schema.ModelMetadataT.InitFromPackedBuf(buffer, 0)
    inputs = metadata.subgraphMetadata[0].inputTensorMetadata[0]
    output = metadata.subgraphMetadata[0].outputTensorMetadata[0]
    assert output.associatedFiles[0].name == b"labels.txt"
    assert output.associatedFiles[0].type == meta_schema.AssociatedFileType.TENSOR_AXIS_LABELS
    kind = inputs.content.contentPropertiesType
    properties = meta_schema.ContentProperties
    if modality == "image":
        assert kind == properties.ImageProperties
        assert inputs.content.contentProperties.colorSpace == meta_schema.ColorSpaceType.RGB
    elif modality == "audio":
        assert kind == properties.AudioProperties
        assert inputs.content.contentProperties.sampleRate == 8000
    else:
        unit = inputs.processUnits[0]
        assert unit.optionsType == meta_schema.ProcessUnitOptions.RegexTokenizerOptions
        assert unit.options.vocabFile[0].name == b"vocab.txt"
    # The packed files: a zip archive after the flatbuffer, read as MediaPipe reads it.
    import io
    import zipfile

    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.read("labels.txt").decode().split("\n")[:-1] == list(clf.class_names)
