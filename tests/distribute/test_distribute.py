"""The strategy helpers of mmcnn.distribute, in this process (no cluster)."""

import json

import dist_common as common
import numpy as np
import pytest
import tensorflow as tf

from mmcnn import distribute


def test_make_strategy_none_and_bad_kind():
    assert distribute.make_strategy("none") is None
    with pytest.raises(ValueError, match="`kind` must be one of"):
        distribute.make_strategy("horovod")
    with pytest.raises(ValueError, match="collective_timeout"):
        distribute.make_strategy("multiworker", collective_timeout=0)


@pytest.mark.parametrize(
    "tf_config, message",
    [
        (None, "needs the TF_CONFIG"),
        ("{not json", "not valid JSON"),
        (json.dumps({"task": {"type": "worker", "index": 0}}), "non-empty `cluster`"),
        (json.dumps({"cluster": {"worker": ["a:1"]}, "task": {"type": "worker"}}), "`type` and `index`"),
        (
            json.dumps({"cluster": {"worker": ["a:1"]}, "task": {"type": "worker", "index": 1}}),
            "is not in the cluster",
        ),
    ],
)
def test_read_tf_config_names_the_problem(tf_config, message):
    environ = {} if tf_config is None else {"TF_CONFIG": tf_config}
    with pytest.raises(ValueError, match=message):
        distribute.read_tf_config(environ)


def test_single_process_paths_are_unchanged(tmp_path):
    assert distribute.is_chief(None)
    assert distribute.num_replicas(None) == 1
    assert distribute.output_path(tmp_path / "run", None) == str(tmp_path / "run")
    assert distribute.backup_path(tmp_path / "backup", None) == str(tmp_path / "backup")


def test_in_memory_data_sets_data_sharding_and_the_global_batch(tmp_path):
    common.write_images(str(tmp_path))
    data = common.labelled_data(str(tmp_path), "arrays")
    clf = common.classifier()
    strategy = tf.distribute.MirroredStrategy(["/cpu:0"])
    ds, class_weight = distribute.distributed_dataset(
        clf, data, strategy, batch_size=4, training=True, class_weight={0: 2.0}
    )
    assert ds.options().experimental_distribute.auto_shard_policy == tf.data.experimental.AutoShardPolicy.DATA
    assert class_weight == {0: 2.0}  # Keras applies it
    x, y = next(iter(ds))
    assert x.shape[0] == 4  # one replica here: global batch = 4 x 1
    np.testing.assert_array_equal(y.numpy(), data.labels[:4])  # unshuffled for the test


def test_fit_refuses_a_model_built_without_the_strategy(tmp_path):
    common.write_images(str(tmp_path))
    data = common.labelled_data(str(tmp_path), "arrays")
    clf = common.classifier()
    clf.class_names = list(data.class_names)
    clf.build()
    with pytest.raises(ValueError, match="must be created under the strategy"):
        clf.fit(data, epochs=1, verbose=0, strategy=tf.distribute.MirroredStrategy(["/cpu:0"]))
