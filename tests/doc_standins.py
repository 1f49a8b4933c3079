"""Stand-in exports that the docs' examples open: one SavedModel, `.tflite`, `.onnx` and
`.keras` file per modality, with a picture and a clip beside them (tests/test_docs.py and
tests/export/test_serving_doc.py build them with this one function)."""

import io

import numpy as np


def build_exports(root):
    """`<modality>/model` (SavedModel), `model.tflite`, `model.onnx`, `model.keras`, `photo.png`,
    `clip.wav`."""
    import soundfile
    from PIL import Image

    import mmcnn.audio
    import mmcnn.image
    import mmcnn.text

    rng = np.random.default_rng(0)
    image = mmcnn.image.ImageClassifier(
        class_names=["cat", "dog"], image_size=(16, 16), channels=3, preset="tiny"
    )
    audio = mmcnn.audio.AudioClassifier(
        class_names=["yes", "no"], clip_seconds=0.25, preset="tiny", n_mels=16
    )
    text = mmcnn.text.TextClassifier(
        class_names=["neg", "pos"], mode="word", max_tokens=16, min_frequency=1, embedding_dim=8, filters=4
    )
    text.adapt(["a good film", "what a dull plot", "the cat sat on the mat"])
    for modality, clf in [("image", image), ("audio", audio), ("text", text)]:
        folder = root / modality
        folder.mkdir()
        clf.export(folder / "model")
        clf.export(folder / "model.tflite", format="litert")
        clf.export(folder / "model.onnx", format="onnx")
        clf.save(folder / "model.keras")
        buffer = io.BytesIO()
        Image.fromarray(rng.integers(0, 256, (20, 24, 3), dtype=np.uint8)).save(buffer, "PNG")
        (folder / "photo.png").write_bytes(buffer.getvalue())
        soundfile.write(folder / "clip.wav", 0.3 * rng.standard_normal(7000), 16000, subtype="PCM_16")
