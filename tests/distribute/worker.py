"""One worker of the multi-worker tests (run as a script, with TF_CONFIG set by the test).

Usage: python worker.py SETTINGS_JSON. Prints one `RESULT {...}` JSON line at the end.
"""

import json
import os
import shutil
import signal
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from mmcnn import distribute  # noqa: E402  (the strategy must exist before any TF op)

settings = json.loads(sys.argv[1])
strategy = distribute.make_strategy("multiworker", collective_timeout=settings.get("collective_timeout", 120))

import dist_common as common  # noqa: E402
import keras  # noqa: E402
import numpy as np  # noqa: E402

import mmcnn  # noqa: E402

result = {"task": list(distribute.worker_id(strategy)), "chief": distribute.is_chief(strategy)}


def upstream_check():
    """Runs Keras' own fit under this strategy without the workaround."""
    with strategy.scope():
        model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(2, activation="softmax")])
        model.compile("sgd", "sparse_categorical_crossentropy", metrics=["accuracy"])
    import tensorflow as tf

    ds = tf.data.Dataset.from_tensor_slices((np.zeros((8, 2), "float32"), np.zeros(8, "int32"))).batch(4)
    try:
        model.fit(ds, epochs=1, verbose=0)
    except Exception as error:  # noqa: BLE001 - we record whatever upstream raises
        return f"{type(error).__name__}: {str(error).strip().splitlines()[0][:200]}"
    return None


if settings.get("upstream_check"):
    result["upstream_error"] = upstream_check()


class KillAt(keras.callbacks.Callback):
    """Kills this worker (SIGKILL, no clean-up) after one batch of epoch `epoch`."""

    def __init__(self, epoch):
        super().__init__()
        self.kill_epoch = epoch
        self.epoch = None

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self.epoch == self.kill_epoch and batch == 1:
            os.kill(os.getpid(), signal.SIGKILL)


class Epochs(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.epochs = []

    def on_epoch_begin(self, epoch, logs=None):
        self.epochs.append(epoch)


data = common.labelled_data(settings["data_dir"], settings["kind"])
clf = common.classifier()
epochs_seen = Epochs()
callbacks = [epochs_seen]
if settings.get("kill_at") is not None and not distribute.is_chief(strategy):
    callbacks.append(KillAt(settings["kill_at"]))
try:
    history = clf.fit(
        data,
        epochs=common.EPOCHS,
        batch_size=common.PER_REPLICA_BATCH,
        callbacks=callbacks,
        backup_dir=settings["backup_dir"],
        early_stopping=False,
        verbose=0,
        strategy=strategy,
    )
except distribute.ClusterError as error:
    result["error"] = str(error)
    result["epochs"] = epochs_seen.epochs
    print("RESULT " + json.dumps(result), flush=True)
    sys.exit(3)
result["epochs"] = epochs_seen.epochs
result["loss"] = [float(v) for v in history.history["loss"]]
out = distribute.output_path(settings["out"], strategy)
os.makedirs(out, exist_ok=True)
clf.save(os.path.join(out, "model.keras"))
clf.export(os.path.join(out, "export"))
np.savez(os.path.join(out, "weights.npz"), *[np.asarray(w) for w in clf.model.get_weights()])
# What `mmcnn train` does after a distributed fit: evaluate a plain copy, no collectives.
plain = mmcnn.load(os.path.join(out, "model.keras"))
result["accuracy"] = plain.evaluate(data)["accuracy"]
result["out"] = out
result["wrote"] = sorted(os.listdir(out))
if not distribute.is_chief(strategy):
    shutil.rmtree(os.path.dirname(out))  # a private temporary folder
print("RESULT " + json.dumps(result), flush=True)
