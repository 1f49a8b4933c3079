"""`run_layer_test`: one call checks everything a layer must do.

Modelled on Keras core's `run_layer_test`: every public mmcnn layer is tested
through `run_layer_test`, so that a new layer gets the whole check by calling it.
Keras's own `run_layer_test` runs as part of it, so an mmcnn layer also meets
the contract Keras holds its core layers to (mixed precision included).
"""

import inspect
import logging
import os
import tempfile
import warnings

import keras
import numpy as np
import tensorflow as tf

from mmcnn._keras_compat import keras_test_case

_log = logging.getLogger(__name__)


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


def _assert_dtype(where, tensor, expected):
    if expected is None:
        return
    got = keras.backend.standardize_dtype(tensor.dtype)
    if got != keras.backend.standardize_dtype(expected):
        raise AssertionError(f"{where}: output dtype {got} != expected {expected}")


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
    expected_output_dtype=None,
    keras_checks=True,
    run_mixed_precision_check=True,
    skip_reason=None,
):
    """Checks a layer end to end and returns the built test model.

    Config round trip; symbolic and eager calls with the expected shape
    (`None` entries match anything, e.g. the batch); weight counts; one
    training step that changes the trainable weights; `.keras` save and safe
    load with equal outputs; SavedModel export and reload with equal outputs
    at two batch sizes. Then Keras's own `run_layer_test` on the same input:
    serialization (`get_config`, `serialize_keras_object`, the same
    attributes after revival), build and weight counts, symbolic and eager
    output shapes, a compiled training step, and the mixed-precision check
    (under `dtype="mixed_float16"` the output has the dtype
    `compute_output_spec` promises and every float weight is float32).

    Args:
        expected_output_dtype: optional dtype of the output, checked in the
            symbolic and the eager call.
        keras_checks: run Keras's `run_layer_test`. `False` needs a
            `skip_reason`.
        run_mixed_precision_check: include Keras's mixed-precision check.
            `False` needs a `skip_reason`.
        skip_reason: why part of the Keras contract does not apply to this
            layer (logged; required when a Keras check is turned off).
    """
    if not (keras_checks and run_mixed_precision_check) and not skip_reason:
        raise ValueError(
            "Turning off part of the Keras layer contract needs a `skip_reason` saying why. "
            f"Received: keras_checks={keras_checks}, run_mixed_precision_check="
            f"{run_mixed_precision_check}, skip_reason={skip_reason!r}"
        )
    layer = layer_cls(**init_kwargs)
    check_config(layer)
    x = _as_tensor(input_data)

    inputs = keras.Input(shape=tuple(x.shape[1:]), dtype=x.dtype.name if x.dtype != tf.string else "string")
    symbolic = layer(inputs)
    sym_shape = tuple(symbolic.shape)
    if expected_output_shape is not None:
        _assert_shape("symbolic call", sym_shape[1:], tuple(expected_output_shape)[1:])
    _assert_dtype("symbolic call", symbolic, expected_output_dtype)
    model = keras.Model(inputs, symbolic)

    eager = layer(x)
    _assert_shape("eager call", eager.shape, expected_output_shape)
    _assert_dtype("eager call", eager, expected_output_dtype)

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

    if keras_checks:
        _run_keras_layer_test(
            layer_cls,
            init_kwargs,
            x,
            expected_output_shape=expected_output_shape,
            expected_output_dtype=expected_output_dtype,
            expected_num_trainable_weights=expected_num_trainable_weights,
            expected_num_non_trainable_weights=expected_num_non_trainable_weights,
            run_training_check=run_training_step,
            run_mixed_precision_check=run_mixed_precision_check,
        )
    if skip_reason:
        _log.info(
            "%s: Keras checks skipped (keras_checks=%s, run_mixed_precision_check=%s): %s",
            layer_cls.__name__,
            keras_checks,
            run_mixed_precision_check,
            skip_reason,
        )
    return model


class _KerasContract(keras_test_case()):
    """Keras's `TestCase`, instantiated only to call its `run_layer_test`.

    Its `setUp` (which clears the Keras session, global dtype policy included)
    is deliberately not called: the caller's global state stays as it is.
    """


def _run_keras_layer_test(layer_cls, init_kwargs, x, **kwargs):
    try:
        with warnings.catch_warnings():
            # Noise from Keras's harness (it fits on a generator), not from the layer.
            warnings.filterwarnings("ignore", "`shuffle=True` was passed", UserWarning)
            warnings.filterwarnings("ignore", "The model does not have any trainable weights", UserWarning)
            _KerasContract().run_layer_test(layer_cls, init_kwargs, input_data=x, **kwargs)
    except Exception as err:
        raise AssertionError(
            f"{layer_cls.__name__} fails Keras's run_layer_test (run_mixed_precision_check="
            f"{kwargs['run_mixed_precision_check']}): {type(err).__name__}: {err}"
        ) from err


def _one_training_step(model, x, output):
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    before = [w.numpy().copy() for w in model.trainable_weights]
    target = np.random.default_rng(0).normal(size=output.shape).astype("float32")
    model.fit(x, target, batch_size=int(x.shape[0]), epochs=1, verbose=0)
    after = [w.numpy() for w in model.trainable_weights]
    if all(np.array_equal(a, b) for a, b in zip(before, after)):
        raise AssertionError("one training step left every trainable weight unchanged")
