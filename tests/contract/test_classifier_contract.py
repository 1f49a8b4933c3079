"""Every installed modality passes `mmcnn.testing.run_classifier_test`: fit, evaluate, predict, save, export.

The modalities come from the `mmcnn.modalities` entry points (`pyproject.toml`):
a modality declared there without a case here fails, so none goes untested.
"""

import io

import numpy as np
import pytest
from PIL import Image

from mmcnn.data import LabeledData
from mmcnn.models import registry
from mmcnn.testing import run_classifier_test

pytestmark = pytest.mark.slow


def png_bytes(array):
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


def image_case(cls, tmp_path):
    import mmcnn.image

    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, size=(8, 12, 12), dtype=np.uint8)
    paths = []
    for i, image in enumerate(pixels[:3]):
        paths.append(str(tmp_path / f"{i}.png"))
        Image.fromarray(image).save(paths[-1])
    return dict(
        init_kwargs=dict(image_size=(12, 12), channels=1, preset="tiny", augmentation="none"),
        train_data=mmcnn.image.from_arrays(pixels, ["dark", "light"] * 4),
        raw_inputs=paths,
        serving_inputs={"image_bytes": np.array([png_bytes(p) for p in pixels[:3]], dtype=object)},
    )


def audio_case(cls, tmp_path):
    import mmcnn.audio

    rng = np.random.default_rng(1)
    clips = (0.1 * rng.standard_normal((6, 4000))).astype("float32")
    return dict(
        init_kwargs=dict(clip_seconds=0.25, preset="tiny", augmentation="none", n_mels=16),
        train_data=mmcnn.audio.from_arrays(clips, ["hiss", "hum", "hiss", "hum", "hiss", "hum"]),
        raw_inputs=list(clips[:2]),
        serving_inputs={"waveform": clips[:2]},
    )


def text_case(cls, tmp_path):
    import mmcnn.text

    texts = ["the cat sat", "a dog ran", "cats sleep all day", "dogs bark at night"] * 2
    return dict(
        init_kwargs=dict(max_tokens=8, embedding_dim=8, filters=4, min_frequency=1),
        train_data=mmcnn.text.from_arrays(texts, ["cat", "dog", "cat", "dog"] * 2),
        raw_inputs=texts[:3],
        serving_inputs={"texts": np.array(texts[:3], dtype=object)},
    )


def board_case(cls, tmp_path):
    import mmcnn.board

    predictor = cls(board_size=5, preset="tiny")
    planes = np.stack([mmcnn.board.encode_position(mmcnn.board.GoPosition(5), predictor.planes)] * 6)
    moves = np.arange(6)  # points A1..; every point of an empty board is legal
    return dict(
        init_kwargs=dict(board_size=5, preset="tiny", augmentation="none"),
        train_data=LabeledData(planes, moves, predictor.class_names, kind="arrays"),
        raw_inputs=planes[:2],
        serving_inputs={"planes": planes[:2]},
        expected_metrics=("top1_accuracy", "top5_accuracy"),
    )


def table_case(cls, tmp_path):
    import pandas as pd

    import mmcnn.multimodal

    rng = np.random.default_rng(2)
    pixels = rng.integers(0, 256, size=(8, 12, 12), dtype=np.uint8)
    paths = []
    for i, image in enumerate(pixels):
        paths.append(str(tmp_path / f"t{i}.png"))
        Image.fromarray(image).save(paths[-1])
    titles = ["the cat sat", "a dog ran", "cats sleep all day", "dogs bark at night"] * 2
    frame = pd.DataFrame(
        {
            "photo": paths,
            "title": titles,
            "hour": [6.0, 21.0, 7.0, None, 5.0, 20.0, 8.0, 22.0],
            "label": ["cat", "dog"] * 4,
        }
    )
    rows = frame.drop(columns="label").iloc[:3].to_dict("records")
    rows[1]["photo"] = None  # a missing picture: predicted from the other columns
    return dict(
        init_kwargs=dict(
            column_settings={
                "photo": dict(image_size=(12, 12), channels=1, preset="tiny", augmentation="none"),
                "title": dict(max_tokens=8, embedding_dim=8, filters=4, min_frequency=1),
            },
            fusion_units=8,
        ),
        train_data=mmcnn.multimodal.from_dataframe(frame, columns={"title": "text"}, verbose=0),
        raw_inputs=rows,
        serving_inputs={
            "photo": np.array([png_bytes(pixels[0]), b"", png_bytes(pixels[2])], dtype=object),
            "title": np.array(titles[:3], dtype=object),
            "hour": np.array([6.0, 21.0, 7.0], dtype="float32"),
        },
    )


# Tiny data of each modality, by its entry point name.
CASES = {
    "image": image_case,
    "audio": audio_case,
    "text": text_case,
    "board": board_case,
    "table": table_case,
}


@pytest.mark.parametrize("modality", list(registry.modality_modules()))
def test_classifier_contract(modality, tmp_path):
    if modality not in CASES:
        pytest.fail(
            f"the modality {modality!r} is declared in the `mmcnn.modalities` entry points "
            f"but has no case in {__name__}.CASES: add one"
        )
    cls = registry.get_classifier(modality)
    run_classifier_test(cls, **CASES[modality](cls, tmp_path), tmp_dir=tmp_path)
