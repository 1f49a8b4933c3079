"""MirroredStrategy over two logical CPUs against one device (a subprocess: logical
devices must be configured before TensorFlow initialises). Prints one RESULT JSON line."""

import json
import sys

import tensorflow as tf

cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)

import dist_common as common  # noqa: E402
import numpy as np  # noqa: E402

from mmcnn import distribute  # noqa: E402

data = common.labelled_data(sys.argv[1], "arrays")
single = common.classifier()
single_loss = single.fit(
    data, epochs=common.EPOCHS, batch_size=2 * common.PER_REPLICA_BATCH, early_stopping=False, verbose=0
).history["loss"]
strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
mirrored = common.classifier()
mirrored_loss = mirrored.fit(
    data,
    epochs=common.EPOCHS,
    batch_size=common.PER_REPLICA_BATCH,
    early_stopping=False,
    verbose=0,
    strategy=strategy,
).history["loss"]
diffs = [
    float(np.max(np.abs(a - b))) for a, b in zip(single.model.get_weights(), mirrored.model.get_weights())
]
scales = [float(np.max(np.abs(a))) for a in single.model.get_weights()]
print(
    "RESULT "
    + json.dumps(
        {
            "replicas": distribute.num_replicas(strategy),
            "single_loss": single_loss,
            "mirrored_loss": mirrored_loss,
            "diffs": diffs,
            "scales": scales,
            "accuracy": mirrored.evaluate(data)["accuracy"],
        }
    ),
    flush=True,
)
