"""Training on several devices or hosts with TensorFlow's distribution strategies.

`Classifier.fit(..., strategy=...)` takes one of:

- `None`: one device, as before.
- `tf.distribute.MirroredStrategy`: several GPUs (or logical CPUs) of one host.
- `tf.distribute.MultiWorkerMirroredStrategy`: several hosts (workers), each
  with one or more devices, configured by the standard `TF_CONFIG` environment
  variable (see `docs/distributed.md`).

`make_strategy("none" | "mirrored" | "multiworker")` makes them with mmcnn's
settings (a bounded collective timeout, so that a dead worker ends the others
with an error instead of a hang).

Batch size and learning rate: `batch_size` (the argument or the preset's) is
the batch of ONE replica; the global batch is `batch_size * num_replicas`, so
an epoch has `num_replicas` times fewer steps. The learning rate is NOT scaled
with the number of replicas: the peak of the warm-up + cosine schedule is the
preset's (or the explicit `learning_rate`) whatever the replica count, and the
schedule counts global steps. Two runs with the same global batch therefore
follow the same trajectory; to use linear scaling, pass
`learning_rate=base_lr * num_replicas` yourself.

Data sharding (across workers; one worker's replicas split its batches):

- in-memory data (`LabeledData.kind` "arrays" or "texts"): by data,
  `AutoShardPolicy.DATA` set explicitly: every worker builds the same
  pipeline (same seed, same shuffle) and keeps its replicas' slices of each
  global batch, so the global batches are exactly those of a one-process run.
- file data (`kind="files"`): by file. The path list is split explicitly,
  worker `i` of `n` taking paths `i, i + n, i + 2n, ...`, and each worker
  reads, decodes, caches and shuffles only its own files
  (`AutoShardPolicy.OFF` is then set explicitly, because the split is already
  done: `AutoShardPolicy.FILE` cannot shard `from_tensor_slices` of paths).
  With an unshuffled pipeline and a size divisible by the global batch, the
  global batches again hold the same examples as a one-process run.
"""

import contextlib
import json
import math
import os
import tempfile

import keras
import numpy as np
import tensorflow as tf

from mmcnn._keras_compat import (
    distribute_strategy,
    flatten_layers,
    in_multi_worker_mode,
    patched_tensorflow_trainer,
)

STRATEGIES = ("none", "mirrored", "multiworker")
# A collective that waits longer than this for a peer fails (DeadlineExceeded)
# instead of hanging. It must exceed the slowest step, first-step tracing included.
DEFAULT_COLLECTIVE_TIMEOUT = 300.0
# Errors that mean "a peer is gone or unreachable" (see `cluster_errors`).
CLUSTER_ERRORS = (
    tf.errors.UnavailableError,
    tf.errors.DeadlineExceededError,
    tf.errors.CancelledError,
    tf.errors.AbortedError,
    tf.errors.FailedPreconditionError,
)


class ClusterError(RuntimeError):
    """A worker of a multi-worker run failed or cannot be reached."""


# ------------------------------------------------------------------ strategies
def read_tf_config(environ=None):
    """The parsed and checked `TF_CONFIG` of this process.

    Returns:
        dict with `cluster` (job name -> list of "host:port") and `task`
        (`type`, `index`).

    Raises:
        ValueError: naming what is missing or malformed.
    """
    environ = os.environ if environ is None else environ
    text = environ.get("TF_CONFIG")
    if not text:
        raise ValueError(
            "multi-worker training needs the TF_CONFIG environment variable "
            "(cluster and task); see docs/distributed.md"
        )
    try:
        config = json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(f"TF_CONFIG is not valid JSON ({error}). Received: TF_CONFIG={text!r}") from None
    cluster, task = config.get("cluster"), config.get("task")
    if not isinstance(cluster, dict) or not cluster:
        raise ValueError(f"TF_CONFIG needs a non-empty `cluster` object. Received: TF_CONFIG={text!r}")
    if not isinstance(task, dict) or "type" not in task or "index" not in task:
        raise ValueError(f"TF_CONFIG needs `task` with `type` and `index`. Received: TF_CONFIG={text!r}")
    members = cluster.get(task["type"])
    if not isinstance(members, list) or not 0 <= int(task["index"]) < len(members):
        raise ValueError(
            f"TF_CONFIG task {task['type']}:{task['index']} is not in the cluster "
            f"{cluster}. Received: TF_CONFIG={text!r}"
        )
    return config


def make_strategy(kind="none", collective_timeout=DEFAULT_COLLECTIVE_TIMEOUT):
    """A distribution strategy by name, for `Classifier.fit(strategy=...)`.

    Create it first thing in the program: `MultiWorkerMirroredStrategy` must
    exist before TensorFlow runs any operation.

    A worker that dies is noticed by TensorFlow's coordination service (its
    heartbeats stop; about 10 s): the collectives of the other workers are
    aborted and their `fit` raises `ClusterError`. A worker that is alive but
    stuck is caught by `collective_timeout`.

    Args:
        kind: `"none"` (returns `None`), `"mirrored"` (all GPUs of this host,
            or its CPU) or `"multiworker"` (the cluster in `TF_CONFIG`).
        collective_timeout: seconds a cross-worker collective may wait for
            its peers before it fails (multiworker only). It must exceed the
            slowest step, the first one (tracing) included.

    Returns:
        `None` or a `tf.distribute.Strategy`.

    Example:
    >>> make_strategy("none") is None
    True
    """
    if kind not in STRATEGIES:
        raise ValueError(f"`kind` must be one of {STRATEGIES}. Received: kind={kind!r}")
    if kind == "none":
        return None
    if kind == "mirrored":
        return tf.distribute.MirroredStrategy()
    if not (isinstance(collective_timeout, (int, float)) and collective_timeout > 0):
        raise ValueError(
            "`collective_timeout` must be a positive number of seconds. "
            f"Received: collective_timeout={collective_timeout!r}"
        )
    read_tf_config()
    options = tf.distribute.experimental.CommunicationOptions(timeout_seconds=collective_timeout)
    return tf.distribute.MultiWorkerMirroredStrategy(communication_options=options)


def is_multi_worker(strategy):
    """Whether `strategy` spans several worker processes."""
    return isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy) and in_multi_worker_mode(strategy)


def num_replicas(strategy):
    """Replicas that train in sync (1 without a strategy)."""
    return 1 if strategy is None else int(strategy.num_replicas_in_sync)


def worker_id(strategy):
    """`(task_type, task_index)` of this process; `("worker", 0)` outside a cluster."""
    if is_multi_worker(strategy):
        resolver = strategy.cluster_resolver
        return resolver.task_type, int(resolver.task_id)
    return "worker", 0


def num_workers(strategy):
    if not is_multi_worker(strategy):
        return 1
    spec = strategy.cluster_resolver.cluster_spec()
    return sum(spec.num_tasks(job) for job in ("chief", "worker") if job in spec.jobs)


def is_chief(strategy):
    """Whether this process writes the run's outputs.

    The chief is the `chief` task if the cluster has one, else worker 0.
    """
    if not is_multi_worker(strategy):
        return True
    task_type, task_id = worker_id(strategy)
    if task_type == "chief":
        return True
    has_chief = "chief" in strategy.cluster_resolver.cluster_spec().jobs
    return task_type == "worker" and task_id == 0 and not has_chief


def output_path(path, strategy):
    """Where this process writes what the chief writes to `path`.

    The chief writes to `path`. Every worker must still run the same saving
    code (saving reads distributed variables, which may need all workers), so
    the other workers write to a private temporary folder, which they may
    delete afterwards.
    """
    path = os.fspath(path)
    if is_chief(strategy):
        return path
    task_type, task_id = worker_id(strategy)
    folder = tempfile.mkdtemp(prefix=f"mmcnn-{task_type}{task_id}-")
    return os.path.join(folder, os.path.basename(os.path.normpath(path)) or "out")


def backup_path(backup_dir, strategy):
    """Per-worker resume folder under `backup_dir` (itself without a cluster).

    Every worker keeps its own `BackupAndRestore` state: workers sharing one
    folder would race on the same HDF5 file (and fail on its lock).
    """
    backup_dir = os.fspath(backup_dir)
    if not is_multi_worker(strategy):
        return backup_dir
    task_type, task_id = worker_id(strategy)
    return os.path.join(backup_dir, f"{task_type}-{task_id}")


def check_model_strategy(model, strategy):
    """Raises unless `model` was created under `strategy` (or both are absent)."""
    built_with = distribute_strategy(model)
    if built_with is not strategy:
        raise ValueError(
            f"the model was built under {type(built_with).__name__ if built_with else 'no strategy'} "
            f"but fit received strategy={type(strategy).__name__ if strategy else None}; the model, "
            "optimizer and metrics must be created under the strategy that trains them: pass "
            "`strategy` to the first fit (before `clf.model` is used), or make a new classifier"
        )


# ------------------------------------------------------------------------ data
def _with_shard_policy(ds, policy):
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = policy
    return ds.with_options(options)


def distributed_dataset(classifier, data, strategy, batch_size, training, class_weight=None):
    """The input of `model.fit` for `data` under `strategy`, sharded explicitly.

    Args:
        classifier: the `Classifier` whose `make_dataset` builds the pipeline.
        data: a `LabeledData`.
        strategy: the strategy (not `None`).
        batch_size: batch of one replica.
        training: shuffle and augment.
        class_weight: `None` or a dict class id -> weight.

    Returns:
        `(dataset, class_weight)`: the dataset to pass to Keras and the class
        weights Keras should still apply (`None` when they are already in the
        dataset as sample weights).
    """
    global_batch = batch_size * num_replicas(strategy)
    if data.kind != "files" or not is_multi_worker(strategy):
        ds = classifier.make_dataset(data, training=training, batch_size=global_batch)
        # Every worker runs the whole (in-memory) pipeline and keeps its slice of each batch.
        return _with_shard_policy(ds, tf.data.experimental.AutoShardPolicy.DATA), class_weight

    def dataset_fn(context):
        part = data.subset(np.arange(context.input_pipeline_id, len(data), context.num_input_pipelines))
        ds = classifier.make_dataset(
            part, training=training, batch_size=context.get_per_replica_batch_size(global_batch)
        )
        if class_weight:
            ds = ds.map(
                _class_weight_map(class_weight, classifier.num_classes), num_parallel_calls=tf.data.AUTOTUNE
            )
        # Already split by file above: TensorFlow must not shard it again.
        return _with_shard_policy(ds, tf.data.experimental.AutoShardPolicy.OFF)

    if len(data) < num_workers(strategy):
        raise ValueError(f"{len(data)} files cannot be split over {num_workers(strategy)} workers")
    return strategy.distribute_datasets_from_function(dataset_fn), None


def _class_weight_map(class_weight, num_classes):
    weights = tf.constant([float(class_weight.get(i, 1.0)) for i in range(num_classes)], tf.float32)

    def add_weights(x, y):
        # One-hot (mixed) labels weigh by their largest class, as Keras does.
        ids = y if y.shape.rank == 1 else tf.argmax(y, axis=-1)
        return x, y, tf.gather(weights, tf.cast(ids, tf.int32))

    return add_weights


def steps_per_epoch(num_examples, batch_size, strategy):
    """Optimizer steps per epoch with a per-replica `batch_size`."""
    return max(1, math.ceil(num_examples / (batch_size * num_replicas(strategy))))


# ------------------------------------------------------------------ failures
@contextlib.contextmanager
def cluster_errors(strategy):
    """Turns a lost or unreachable worker into one clear `ClusterError`."""
    if not is_multi_worker(strategy):
        yield
        return
    try:
        yield
    except CLUSTER_ERRORS as error:
        task_type, task_id = worker_id(strategy)
        first = _cause(error)
        raise ClusterError(
            f"{task_type} {task_id}: another worker of the cluster failed or cannot be reached "
            f"({type(error).__name__}: {first}). Restart every worker with the same command: "
            "each resumes from its last completed epoch when `backup_dir` is set"
        ) from error


def _cause(error):
    # TensorFlow's first line is often just "Graph execution error:"; the cause comes later.
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    for line in lines:
        if any(
            word in line
            for word in (
                "unhealthy",
                "aborted",
                "Socket closed",
                "Connection",
                "heartbeat",
                "Deadline",
                "timed out",
                "unavailable",
            )
        ):
            return line[:300]
    return next((line for line in lines if line != "Graph execution error:"), "")[:300]


# ============================================================================
# WORKAROUND for keras-team/keras#20585 (Keras 3.15.1, TensorFlow 2.21): `model.fit`
# under a multi-worker `MultiWorkerMirroredStrategy` fails twice in
# keras/src/backend/tensorflow/trainer.py:
#   1. `TensorFlowTrainer._maybe_symbolic_build` cross-worker-reduces the first
#      (per-replica) data batch with `strategy.reduce("MEAN", batch, axis=None)`
#      to get shapes for the symbolic build; eagerly under MWMS this raises
#      "Attempt to convert a value (PerReplica...) ... to a Tensor".
#   2. `reduce_per_replica(..., reduction="mean")` reduces every train/test step
#      output with `strategy.reduce("MEAN", v, axis=0)`, which fails on the
#      scalar metric and loss values (rank 0 has no axis 0).
# The same mean of the first batch fails under any strategy, one worker included,
# when the batch holds strings (a text model's texts, a table's text and category
# columns): `AddN` has no string kernel ("Value for attr 'T' of string is not in
# the list of allowed values").
# The fix, only while a multi-worker strategy is in use or the batch holds
# strings: build from one local replica's batch (the build needs shapes, not
# values), and, multi-worker only, average the step outputs across replicas
# element-wise (`axis=None`), which is what the one-worker branch of
# `reduce_per_replica` computes. The test
# tests/distribute/test_multi_worker.py::test_upstream_bug_still_present runs the
# unpatched path and fails when upstream is fixed: then delete this block and
# its use in `Classifier.fit` (tests/distribute/test_mirrored.py's table
# case says whether the string half is still needed).
# ============================================================================
@contextlib.contextmanager
def keras_multi_worker_workaround(strategy):
    """Patches Keras' TensorFlow trainer for keras-team/keras#20585 while in use.

    A no-op without a strategy. The symbolic build takes the first replica's
    batch under a multi-worker `MultiWorkerMirroredStrategy` or when the batch
    holds strings; the step outputs are patched under a multi-worker strategy
    only; otherwise the patched functions defer to Keras.
    """
    if strategy is None:
        yield
        return

    def symbolic_build(original_build, trainer, iterator=None, data_batch=None):
        strategy = distribute_strategy(trainer)
        if iterator is None or strategy is None:
            return original_build(trainer, iterator=iterator, data_batch=data_batch)
        local = strategy.experimental_local_results
        for _, _, it in iterator:
            batch = next(it)
            break
        first = keras.tree.map_structure(
            lambda v: local(v)[0] if isinstance(v, tf.distribute.DistributedValues) else v, batch
        )
        strings = any(getattr(v, "dtype", None) == tf.string for v in keras.tree.flatten(first))
        distributed = all(isinstance(v, tf.distribute.DistributedValues) for v in keras.tree.flatten(batch))
        if distributed and not (strings or is_multi_worker(strategy)):
            # What Keras builds from (the batch is already taken from the iterator).
            return original_build(trainer, data_batch=strategy.reduce("MEAN", batch, axis=None))
        return original_build(trainer, data_batch=first if distributed else batch)

    def reduce_per_replica(original_reduce, values, strategy, reduction):
        if reduction in ("auto", "mean") and is_multi_worker(strategy):
            return keras.tree.map_structure(lambda v: strategy.reduce("MEAN", v, axis=None), values)
        return original_reduce(values, strategy, reduction)

    with patched_tensorflow_trainer(symbolic_build, reduce_per_replica):
        yield


def synchronize_batch_norm(model):
    """Makes every `BatchNormalization` of `model` use the global batch's statistics.

    With several replicas, each would otherwise normalise by its own slice of
    the batch, and training would differ from a one-device run with the same
    global batch. Costs three small all-reduces per layer and step. Saved
    models are unaffected: inference uses the moving statistics.
    """
    for layer in flatten_layers(model, include_self=False):
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.synchronized = True
