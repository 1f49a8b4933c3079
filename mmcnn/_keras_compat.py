"""The private APIs of Keras (and of TensorFlow and KerasTuner under it) that mmcnn uses, one function each.

Every underscore attribute and `keras.src` import in mmcnn goes through here, so
that an upgrade that moves one breaks this file only. Each function says what it
stands for and why no public API does it.

Checked against Keras 3.15.1, TensorFlow 2.21.0 and KerasTuner 1.4.8.

Not wrapped here: two callbacks that subclass Keras callbacks and override a
private hook, and so depend on their parent's private state by construction.
`training/resumable_backup.py` (`BackupAndRestore._save_model`, `_weights_path`,
`_training_metadata_path`, `_current_epoch`, `_last_batch_seen`) and
`training/atomic_model_checkpoint.py` (`ModelCheckpoint._save_model`,
`_get_file_path`, `_should_save_model`) are the other places to check on an
upgrade. Module names such as `keras.src.layers` in
`training/model_files.py` are data (what a saved config may name), not API use.
"""

import contextlib

# --------------------------------------------------------------------- layers


def flatten_layers(layer, include_self=True):
    """`layer` and every layer tracked inside it, recursively (`Layer._flatten_layers`).

    `Model.layers` lists only the top level, and `Layer` has no public walk
    over the layers it holds in attributes (a composite block's sub-layers).
    """
    return layer._flatten_layers(include_self=include_self, recursive=True)


def accept_raw_inputs(layer):
    """Lets `layer.call` receive its positional inputs as given (`_convert_input_args`,
    `_allow_non_tensor_positional_args`).

    By default `Layer.__call__` casts inputs to the layer's float dtype and
    refuses non-tensor ones; a converter must see strings and integer pixels.
    Call it in `__init__`.
    """
    layer._convert_input_args = False
    layer._allow_non_tensor_positional_args = True


def layer_seed_generators(layer):
    """The `keras.random.SeedGenerator`s that `layer` itself tracks (`Layer._seed_generators`)."""
    return getattr(layer, "_seed_generators", ())


# ------------------------------------------------------------ functional graph


def first_inbound_node(layer):
    """The node of `layer`'s first call in a functional model (`Layer._inbound_nodes[0]`).

    Its `input_tensors` and `output_tensors` are the symbolic tensors of that call;
    Keras 3 has no public accessor for them.
    """
    return layer._inbound_nodes[0]


def producing_layer(tensor):
    """The layer (operation) whose output the symbolic `tensor` is (`KerasTensor._keras_history`)."""
    return tensor._keras_history.operation


# -------------------------------------------------------------------- training


def set_initial_epoch(model, epoch):
    """Sets the epoch the next `model.fit` starts from, whatever its `initial_epoch` argument
    (`Model._initial_epoch`, as `keras.callbacks.BackupAndRestore` sets it); `None` clears it."""
    model._initial_epoch = epoch


def distribute_strategy(model):
    """The `tf.distribute` strategy `model` was created under, or `None` (`Model._distribute_strategy`)."""
    return getattr(model, "_distribute_strategy", None)


def in_multi_worker_mode(strategy):
    """Whether a `MultiWorkerMirroredStrategy` spans several workers (TensorFlow's
    `strategy.extended._in_multi_worker_mode()`; a one-worker cluster is not multi-worker)."""
    return strategy.extended._in_multi_worker_mode()


@contextlib.contextmanager
def patched_tensorflow_trainer(symbolic_build, reduce_per_replica):
    """Replaces two functions of Keras' TensorFlow trainer while in use.

    `TensorFlowTrainer._maybe_symbolic_build` becomes
    `symbolic_build(original, trainer, iterator=None, data_batch=None)` and
    `keras/src/backend/tensorflow/trainer.reduce_per_replica` becomes
    `reduce_per_replica(original, values, strategy, reduction)`; each receives
    the original first, to defer to it. Restored on exit.
    """
    from keras.src.backend.tensorflow import trainer

    original_build = trainer.TensorFlowTrainer._maybe_symbolic_build
    original_reduce = trainer.reduce_per_replica

    def build(self, iterator=None, data_batch=None):
        return symbolic_build(original_build, self, iterator=iterator, data_batch=data_batch)

    def reduce(values, strategy, reduction):
        return reduce_per_replica(original_reduce, values, strategy, reduction)

    trainer.TensorFlowTrainer._maybe_symbolic_build = build
    trainer.reduce_per_replica = reduce
    try:
        yield
    finally:
        trainer.TensorFlowTrainer._maybe_symbolic_build = original_build
        trainer.reduce_per_replica = original_reduce


def interrupted_trials(oracle):
    """The trials a KerasTuner oracle will run again first: those running when an earlier
    search was killed (`Oracle._retry_queue`)."""
    return list(getattr(oracle, "_retry_queue", []))


# ---------------------------------------------------------------- export, tests


def patch_tf2onnx():
    """Keras' fixes of tf2onnx for current NumPy and TensorFlow (`keras.src.export.tf2onnx_lib`),
    which `Model.export(format="onnx")` applies too; call before converting."""
    from keras.src.export.tf2onnx_lib import patch_tf2onnx as patch

    patch()


def keras_test_case():
    """Keras' own `TestCase` class (`keras.src.testing`), whose `run_layer_test` holds Keras'
    core layers to their contract; Keras publishes no testing module."""
    from keras.src.testing import TestCase

    return TestCase
