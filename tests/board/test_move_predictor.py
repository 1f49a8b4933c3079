"""MovePredictor: the head layers, masking of illegal points, training, save/load and export."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import mmcnn.board
from mmcnn.board import (
    GoPosition,
    LegalMoveSoftmax,
    MoveHead,
    MovePredictor,
    from_sgf,
    legal_plane_index,
    move_accuracy,
)
from mmcnn.export import read_metadata
from mmcnn.models import Classifier
from mmcnn.testing import check_config, run_layer_test


def test_move_head_layer():
    x = np.random.default_rng(0).normal(size=(2, 5, 5, 3)).astype("float32")
    run_layer_test(
        MoveHead, dict(pass_units=4), x, expected_output_shape=(2, 26), expected_num_trainable_weights=6
    )


def test_legal_move_softmax_masks_with_minus_infinity():
    check_config(LegalMoveSoftmax(legal_plane=1))
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(3, 10)).astype("float32")
    planes = np.zeros((3, 3, 3, 2), "float32")
    legal = rng.uniform(size=(3, 3, 3)) > 0.5
    planes[..., 1] = legal
    probs = LegalMoveSoftmax(1)([logits, planes]).numpy()
    mask = np.concatenate([legal.reshape(3, 9), np.ones((3, 1), bool)], axis=1)
    expected = np.where(mask, np.exp(logits), 0)
    np.testing.assert_allclose(probs, expected / expected.sum(1, keepdims=True), atol=1e-6)
    assert np.all(probs[~mask] == 0)
    with pytest.raises(ValueError, match="legal_plane"):
        LegalMoveSoftmax(-1)


@pytest.mark.parametrize("policy", ["float16", "mixed_bfloat16"])
def test_head_layers_keep_float32_logits_and_probabilities(policy):
    rng = np.random.default_rng(0)
    features = rng.normal(size=(2, 3, 3, 4)).astype("float32")
    head = MoveHead(4, dtype=policy)
    logits = head(features)
    assert logits.dtype == "float32"
    assert {layer.dtype_policy.name for layer in head._flatten_layers(include_self=False)} == {policy}
    assert head.point_conv.compute_dtype == keras.DTypePolicy(policy).compute_dtype
    assert head(keras.Input((3, 3, 4))).dtype == "float32"

    # Logits 1e-3 apart: rounded to float16 / bfloat16 on the way in they would tie.
    logits = (5.0 + 1e-3 * np.arange(10, dtype="float32"))[None].repeat(2, axis=0)
    planes = np.ones((2, 3, 3, 1), "float32")
    expected = LegalMoveSoftmax(0)([logits, planes]).numpy()
    softmax = LegalMoveSoftmax(0, dtype=policy)
    probabilities = softmax([logits, planes])
    assert probabilities.dtype == "float32"
    np.testing.assert_allclose(probabilities.numpy(), expected, rtol=1e-6)
    assert len(set(probabilities.numpy()[0].tolist())) == 10
    symbolic = softmax([keras.Input((10,)), keras.Input((3, 3, 1))])
    assert symbolic.dtype == "float32"


def test_mixed_bfloat16_predictor_gives_float32_probabilities():
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy("mixed_bfloat16")
    try:
        predictor = mmcnn.board.MovePredictor(board_size=9, preset="tiny")
        assert predictor.model.get_layer("backbone").output.dtype == "bfloat16"
        assert predictor.model.output.dtype == "float32"
        position = GoPosition(9)
        probabilities = predictor.predict([position, position])["probabilities"]
    finally:
        keras.config.set_dtype_policy(previous)
    assert probabilities.dtype == np.float32
    np.testing.assert_allclose(probabilities.sum(axis=-1), 1.0, atol=1e-6)


def test_predictor_validation():
    with pytest.raises(ValueError, match="legal"):
        MovePredictor(9, planes=("stones",))
    with pytest.raises(ValueError, match="augmentation"):
        MovePredictor(9, augmentation="flip")
    with pytest.raises(ValueError, match="board_size"):
        MovePredictor(0)


def test_train_evaluate_predict_save_export(game_sgfs, tmp_path):
    data = from_sgf(game_sgfs, on_error="raise")
    predictor = MovePredictor(board_size=9, preset="tiny", batch_size=32)
    predictor.fit(data, epochs=1, verbose=0)
    report = predictor.evaluate(data)
    assert set(report) >= {"top1_accuracy", "top5_accuracy", "num_examples"}
    assert 0 <= report["top1_accuracy"] <= report["top5_accuracy"] <= 1

    # Illegal points get probability exactly 0 (occupied points of a real position).
    position = GoPosition(9)
    for move in [(4, 4), (4, 5), (3, 4)]:
        position.play(move)
    result = predictor.predict([position], top_k=5)
    probs = result["probabilities"][0]
    assert probs[4 * 9 + 4] == 0 and probs[4 * 9 + 5] == 0 and abs(probs.sum() - 1) < 1e-5
    assert len(result["top_k"][0]) == 5 and result["labels"][0] != "E5"

    path = tmp_path / "moves.keras"
    predictor.save(path)
    loaded = Classifier.load(path)
    assert isinstance(loaded, MovePredictor) and loaded.get_config() == predictor.get_config()
    x = data.inputs[:5]
    np.testing.assert_allclose(loaded.predict_proba(x), predictor.predict_proba(x), atol=1e-5)

    # The generic exporter: atomic, with the graph check and mmcnn.json like every modality.
    export_dir = predictor.export(tmp_path / "export")
    restored = tf.saved_model.load(export_dir)  # keep a reference: its variables die with it
    served = restored.signatures["serving_default"](planes=tf.constant(x))
    np.testing.assert_allclose(served["probabilities"].numpy(), predictor.predict_proba(x), atol=1e-5)
    assert [n.decode() for n in served["class_name"].numpy()] == predictor.predict(x)["labels"]
    metadata = read_metadata(export_dir)
    assert metadata["modality"] == "board" and metadata["class_names"][-1] == "pass"
    assert metadata["preprocessing"]["board_size"] == predictor.board_size
    with pytest.raises(FileExistsError, match="overwrite=True"):
        predictor.export(export_dir)


def test_move_accuracy():
    probs = np.array([[0.1, 0.7, 0.2], [0.5, 0.3, 0.2]])
    assert move_accuracy([1, 2], probs, ks=(1, 2)) == {
        "top1_accuracy": 0.5,
        "top2_accuracy": 0.5,
        "num_examples": 2,
    }
    assert legal_plane_index(mmcnn.board.DEFAULT_PLANES) == 15
