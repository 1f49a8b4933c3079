"""The Fusion layer: the contract, missing columns, attention, column dropout, single-column examples."""

import keras
import numpy as np
import pytest

from mmcnn.layers import Fusion
from mmcnn.testing import run_layer_test

RNG = np.random.default_rng(0)


def _columns(batch=4, sizes=(8, 3)):
    return [RNG.normal(size=(batch, size)).astype("float32") for size in sizes]


@pytest.mark.parametrize(
    "kwargs,out,trainable",
    [
        (dict(column_dropout=0.5), (4, 18), 3),
        (dict(units=5, column_dropout=0.3), (4, 15), 3 + 3 * 2),
        (dict(mode="gated", units=5), (4, 5), 3 + 3 * 2 + 2),
        (dict(mode="attention"), (4, 6), 3 + 1),
        (dict(units=5, column_dropout=0.1, single_column_rate=0.5), (4, 15), 3 + 3 * 2),
    ],
)
def test_fusion_layer_contract(kwargs, out, trainable):
    # Three stacked (batch, columns, d) columns: the one-tensor form the harness feeds.
    run_layer_test(
        Fusion,
        kwargs,
        RNG.normal(size=(4, 3, 6)).astype("float32"),
        out,
        expected_num_trainable_weights=trainable,
    )


@pytest.mark.parametrize("mode", ["concat", "gated", "attention"])
def test_masked_column_gets_exactly_the_missing_embedding(mode):
    photo, title = _columns()
    fusion = Fusion(mode=mode, units=4)
    mask = np.array([1, 0, 1, 0], "float32")
    fusion([photo, title])
    missing = [RNG.normal(size=w.shape).astype("float32") for w in fusion.missing_embeddings]
    for weight, value in zip(fusion.missing_embeddings, missing):
        weight.assign(value)
    got = np.asarray(fusion([photo, title], column_mask=[None, mask]))

    # Manual computation: rows 1 and 3 see the missing title embedding, whatever their title.
    title_in = np.where(mask[:, None] > 0, title, missing[1][None, :])
    expected = np.asarray(fusion([photo, title_in]))
    if mode == "attention":
        # ...and the attention leaves the missing column out: rows 1 and 3 are the photo alone.
        alone = np.asarray(fusion.projections[0](photo))
        np.testing.assert_allclose(got[[1, 3]], alone[[1, 3]], atol=1e-5)
        np.testing.assert_allclose(got[[0, 2]], expected[[0, 2]], atol=1e-5)
    else:
        np.testing.assert_allclose(got, expected, atol=1e-5)
    if mode == "concat":
        kernel, bias = (np.asarray(w) for w in fusion.projections[1].weights)
        np.testing.assert_allclose(got[[1, 3], 4:], np.tile(missing[1] @ kernel + bias, (2, 1)), atol=1e-5)
    # The title's own values no longer matter in a masked row.
    scrambled = np.asarray(fusion([photo, title * 100], column_mask=[None, mask]))
    np.testing.assert_allclose(scrambled[[1, 3]], got[[1, 3]], atol=1e-4)


def test_attention_weights_sum_to_one_over_present_columns():
    columns = _columns(batch=5, sizes=(6, 6, 6))
    mask = np.array([[1, 1, 1], [1, 0, 1], [0, 0, 1], [0, 1, 0], [0, 0, 0]], "float32")
    fusion = Fusion(mode="attention", units=4)
    weights = np.asarray(fusion.column_weights(columns, column_mask=mask))
    assert weights.shape == (5, 3)
    np.testing.assert_allclose(weights.sum(axis=1), 1.0, atol=1e-6)
    np.testing.assert_array_equal(weights[:4][mask[:4] == 0], 0.0)
    assert np.all(weights[mask > 0] > 0)
    # A row with nothing present attends over the missing embeddings alike (no NaN).
    assert np.all(np.isfinite(weights[4]))


def test_column_dropout_is_identity_at_inference_and_drops_in_training():
    photo, title = _columns(batch=64)
    fusion = Fusion(units=4, column_dropout=0.5)
    plain = Fusion.from_config({**fusion.get_config(), "column_dropout": 0.0})
    first = np.asarray(fusion([photo, title], training=False))
    plain([photo, title])
    plain.set_weights(fusion.get_weights())
    np.testing.assert_allclose(first, np.asarray(plain([photo, title])), atol=1e-6)
    np.testing.assert_allclose(first, np.asarray(fusion([photo, title], training=False)), atol=0)
    # In training whole columns are dropped: each half equals either the column or its missing embedding.
    trained = np.asarray(fusion([photo, title], training=True))
    everything_missing = np.asarray(fusion([photo, title], column_mask=np.zeros((64, 2), "float32")))
    for half in (slice(0, 4), slice(4, 8)):
        kept = np.all(np.isclose(trained[:, half], first[:, half], atol=1e-5), axis=1)
        dropped = np.all(np.isclose(trained[:, half], everything_missing[:, half], atol=1e-5), axis=1)
        assert np.all(kept | dropped)
        assert 10 < dropped.sum() < 54


def test_single_column_examples_keep_exactly_one_present_column_in_training():
    columns = _columns(batch=400, sizes=(4, 4, 4))
    mask = np.ones((400, 3), "float32")
    mask[:100, 0] = 0  # the first 100 rows lack column 0
    mask[100:110] = 0  # and 10 rows have no column at all
    fusion = Fusion(single_column_rate=0.5)
    fusion(columns, column_mask=mask)
    for weight in fusion.missing_embeddings:
        weight.assign(np.full(weight.shape, 99.0, "float32"))
    trained = np.asarray(fusion(columns, column_mask=mask, training=True)).reshape(400, 3, 4)
    kept = trained[:, :, 0] != 99.0
    # Never a missing column, and a row either keeps all its columns or exactly one of them.
    assert not np.any(kept & (mask == 0))
    count = kept.sum(axis=1)
    assert np.all((count == mask.sum(axis=1)) | (count == 1))
    single = (count == 1) & (mask.sum(axis=1) > 1)
    assert 130 < single.sum() < 260  # about half of the 390 rows with a column
    # The one column is chosen at random among the present ones: each column gets its share.
    assert np.all(kept[single].sum(axis=0) > 25)
    assert not np.any(kept[single & (mask[:, 0] == 0), 0])
    # At inference it is the identity.
    plain = np.asarray(fusion(columns, column_mask=mask)).reshape(400, 3, 4)
    np.testing.assert_array_equal(plain[:, :, 0] != 99.0, mask > 0)


def test_two_input_model_trains_and_round_trips_through_keras_file(tmp_path):
    photo = keras.Input((8,), name="photo")
    title = keras.Input((3,), name="title")
    title_present = keras.Input((), name="title_present")
    fused = Fusion(
        mode="gated", units=4, column_dropout=0.2, single_column_rate=0.3, columns=["photo", "title"]
    )({"photo": photo, "title": title}, column_mask={"title": title_present})
    model = keras.Model([photo, title, title_present], keras.layers.Dense(2, activation="softmax")(fused))
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    x = [*_columns(batch=8), np.array([1, 0] * 4, "float32")]
    before = [w.copy() for w in model.get_weights()]
    model.fit(x, np.array([0, 1] * 4), batch_size=8, epochs=1, verbose=0)
    assert any(not np.array_equal(a, b) for a, b in zip(before, model.get_weights()))
    path = tmp_path / "fusion.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert isinstance(loaded.get_layer(model.layers[-2].name), Fusion)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-6)


@pytest.mark.parametrize(
    "kwargs,message",
    [
        (dict(mode="sum"), "`mode` must be one of ['concat', 'gated', 'attention']. Received: mode='sum'"),
        (dict(units=0), "`units` must be a positive integer. Received: units=0"),
        (
            dict(column_dropout=1.0),
            "`column_dropout` must be a number in [0, 1). Received: column_dropout=1.0",
        ),
        (
            dict(single_column_rate=-0.1),
            "`single_column_rate` must be a number in [0, 1). Received: single_column_rate=-0.1",
        ),
        (dict(columns="photo"), "Received: columns='photo'"),
        (dict(columns=["a", "a"]), "must name each column once"),
    ],
)
def test_bad_arguments_are_named(kwargs, message):
    with pytest.raises(ValueError) as error:
        Fusion(**kwargs)
    assert message in str(error.value)


def test_gated_without_units_needs_equal_sizes():
    with pytest.raises(ValueError, match=r"`units` must be set for mode='gated'.*sizes=\[8, 3\]"):
        Fusion(mode="gated")(_columns())
