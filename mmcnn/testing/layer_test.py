"""`run_layer_test`: one call checks everything a layer must do.

Modelled on Keras core's `run_layer_test`: every public mmcnn layer is tested
through `run_layer_test`, so that a new layer gets the whole check by calling it.
"""

import inspect
import os
import tempfile

import keras
import numpy as np
import tensorflow as tf


def _init_arg_names(layer_cls):
    names = set()
    for cls in layer_cls.__mro__:
        if cls.__module__.startswith(("keras", "tensorflow")) or cls is object:
            break
        if "__init__" not in cls.__dict__:
            continue
        params = inspect.signature(cls.__dict__["__init__"]).parameters
        names |= {
            n for n, p in params.items() if n != "self" and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)
        }
    return names


def check_config(layer):
    """`get_config()` holds every `__init__` argument, and `from_config` rebuilds it."""
    config = layer.get_config()
    missing = _init_arg_names(type(layer)) - set(config)
    if missing:
        raise AssertionError(f"{type(layer).__name__}.get_config() lacks __init__ args {sorted(missing)}")
    clone = type(layer).from_config(config)
    if clone.get_config() != config:
        raise AssertionError(
            f"{type(layer).__name__} config does not round-trip:\n{config}\n!=\n{clone.get_config()}"
        )
    return clone


def _as_tensor(data):
    if isinstance(data, (list, tuple)) or (isinstance(data, np.ndarray) and data.dtype.kind in "OUS"):
        return tf.constant(
            np.asarray(data, dtype=object).astype(bytes) if isinstance(data, np.ndarray) else data
        )
    return tf.convert_to_tensor(data)


def _assert_shape(where, shape, expected):
    if expected is None:
        return
    got = tuple(shape)
    if len(got) != len(expected) or any(e is not None and g != e for g, e in zip(got, expected)):
        raise AssertionError(f"{where}: output shape {got} != expected {tuple(expected)}")


def _assert_close(where, a, b, atol):
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape:
        raise AssertionError(f"{where}: shapes differ {a.shape} != {b.shape}")
    if a.dtype.kind in "fc":
        err = float(np.max(np.abs(a - b))) if a.size else 0.0
        if err > atol:
            raise AssertionError(f"{where}: max abs difference {err} > {atol}")
    elif not np.array_equal(a, b):
        raise AssertionError(f"{where}: outputs differ")


def run_layer_test(
    layer_cls,
    init_kwargs,
    input_data,
    expected_output_shape=None,
    expected_num_trainable_weights=None,
    expected_num_non_trainable_weights=None,
    run_training_step=True,
    run_saved_model=True,
    atol=1e-5,
):
    """Checks a layer end to end and returns the built test model.

    Config round trip; symbolic and eager calls with the expected shape
    (`None` entries match anything, e.g. the batch); weight counts; one
    training step that changes the trainable weights; `.keras` save and safe
    load with equal outputs; SavedModel export and reload with equal outputs
    at two batch sizes.
    """
    layer = layer_cls(**init_kwargs)
    check_config(layer)
    x = _as_tensor(input_data)

    inputs = keras.Input(shape=tuple(x.shape[1:]), dtype=x.dtype.name if x.dtype != tf.string else "string")
    symbolic = layer(inputs)
    sym_shape = tuple(symbolic.shape)
    if expected_output_shape is not None:
        _assert_shape("symbolic call", sym_shape[1:], tuple(expected_output_shape)[1:])
    model = keras.Model(inputs, symbolic)

    eager = layer(x)
    _assert_shape("eager call", eager.shape, expected_output_shape)

    if (
        expected_num_trainable_weights is not None
        and len(layer.trainable_weights) != expected_num_trainable_weights
    ):
        raise AssertionError(
            f"trainable weights: {len(layer.trainable_weights)} != {expected_num_trainable_weights}"
        )
    if (
        expected_num_non_trainable_weights is not None
        and len(layer.non_trainable_weights) != expected_num_non_trainable_weights
    ):
        raise AssertionError(
            f"non-trainable weights: {len(layer.non_trainable_weights)} != "
            f"{expected_num_non_trainable_weights}"
        )

    if run_training_step and layer.trainable_weights:
        _one_training_step(model, x, eager)

    reference = model(x, training=False)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "layer.keras")
        model.save(path)
        loaded = keras.saving.load_model(path)  # safe mode, no custom_objects
        if type(loaded.layers[-1]) is not type(layer):
            raise AssertionError(f".keras load gave {type(loaded.layers[-1])}, not {layer_cls}")
        _assert_close(".keras round trip", loaded(x, training=False), reference, atol)
        if run_saved_model:
            export_dir = os.path.join(tmp, "export")
            model.export(export_dir, verbose=False)
            restored = tf.saved_model.load(export_dir)
            _assert_close("SavedModel", restored.serve(x), reference, atol)
            one = x[:1]
            _assert_close("SavedModel batch 1", restored.serve(one), model(one, training=False), atol)
    return model


def _one_training_step(model, x, output):
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    before = [w.numpy().copy() for w in model.trainable_weights]
    target = np.random.default_rng(0).normal(size=output.shape).astype("float32")
    model.fit(x, target, batch_size=int(x.shape[0]), epochs=1, verbose=0)
    after = [w.numpy() for w in model.trainable_weights]
    if all(np.array_equal(a, b) for a, b in zip(before, after)):
        raise AssertionError("one training step left every trainable weight unchanged")
