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

if len(sys.argv) > 2 and sys.argv[2] == "table":
    # A table of the same pictures, a title and a number: its encoders and fusion under the strategy.
    import pandas as pd  # noqa: E402

    import mmcnn.multimodal  # noqa: E402

    files = common.labelled_data(sys.argv[1], "files")
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            "photo": files.inputs,
            "title": [["a dark one", "a bright one"][y] for y in files.labels],
            "level": [float(y) + rng.normal(0, 0.3) for y in files.labels],
            "label": [files.class_names[y] for y in files.labels],
        }
    )
    data = mmcnn.multimodal.from_dataframe(frame, columns={"title": "text"}, verbose=0)
    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    table = mmcnn.multimodal.TableClassifier(
        column_settings={
            "photo": dict(image_size=[8, 8], channels=1, preset="tiny", augmentation="none"),
            "title": dict(max_tokens=4, embedding_dim=8, filters=4, min_frequency=1),
        },
        fusion_units=8,
        learning_rate=0.01,
        seed=1,
    )
    history = table.fit(
        data, epochs=common.EPOCHS, batch_size=common.PER_REPLICA_BATCH, verbose=0, strategy=strategy
    )
    print(
        "RESULT "
        + json.dumps(
            {
                "replicas": distribute.num_replicas(strategy),
                "loss": history.history["loss"],
                "accuracy": table.evaluate(data)["accuracy"],
                "columns": table.columns,
            }
        ),
        flush=True,
    )
    sys.exit(0)

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
