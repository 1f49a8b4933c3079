"""Every classifier passes `mmcnn.testing.run_classifier_test`: fit, evaluate, predict, `.keras`, export."""

import io

import numpy as np
import pytest
from PIL import Image

import mmcnn.audio
import mmcnn.board
import mmcnn.image
import mmcnn.text
from mmcnn.data import LabeledData
from mmcnn.testing import run_classifier_test

pytestmark = pytest.mark.slow


def png_bytes(array):
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


def test_image_classifier(tmp_path):
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, size=(8, 12, 12), dtype=np.uint8)
    paths = []
    for i, image in enumerate(pixels[:3]):
        paths.append(str(tmp_path / f"{i}.png"))
        Image.fromarray(image).save(paths[-1])
    run_classifier_test(
        mmcnn.image.ImageClassifier,
        dict(image_size=(12, 12), channels=1, preset="tiny", augmentation="none"),
        mmcnn.image.from_arrays(pixels, ["dark", "light"] * 4),
        raw_inputs=paths,
        serving_inputs={"image_bytes": np.array([png_bytes(p) for p in pixels[:3]], dtype=object)},
        tmp_dir=tmp_path,
    )


def test_audio_classifier(tmp_path):
    rng = np.random.default_rng(1)
    clips = (0.1 * rng.standard_normal((6, 4000))).astype("float32")
    run_classifier_test(
        mmcnn.audio.AudioClassifier,
        dict(clip_seconds=0.25, preset="tiny", augmentation="none", n_mels=16),
        mmcnn.audio.from_arrays(clips, ["hiss", "hum", "hiss", "hum", "hiss", "hum"]),
        raw_inputs=list(clips[:2]),
        serving_inputs={"waveform": clips[:2]},
        tmp_dir=tmp_path,
    )


def test_text_classifier(tmp_path):
    texts = ["the cat sat", "a dog ran", "cats sleep all day", "dogs bark at night"] * 2
    run_classifier_test(
        mmcnn.text.TextClassifier,
        dict(max_tokens=8, embedding_dim=8, filters=4, min_frequency=1),
        mmcnn.text.from_arrays(texts, ["cat", "dog", "cat", "dog"] * 2),
        raw_inputs=texts[:3],
        serving_inputs={"texts": np.array(texts[:3], dtype=object)},
        tmp_dir=tmp_path,
    )


def test_move_predictor(tmp_path):
    predictor = mmcnn.board.MovePredictor(board_size=5, preset="tiny")
    planes = np.stack([mmcnn.board.encode_position(mmcnn.board.GoPosition(5), predictor.planes)] * 6)
    moves = np.arange(6)  # points A1..; every point of an empty board is legal
    run_classifier_test(
        mmcnn.board.MovePredictor,
        dict(board_size=5, preset="tiny", augmentation="none"),
        LabeledData(planes, moves, predictor.class_names, kind="arrays"),
        raw_inputs=planes[:2],
        serving_inputs={"planes": planes[:2]},
        expected_metrics=("top1_accuracy", "top5_accuracy"),
        tmp_dir=tmp_path,
    )
