"""Helpers shared by the export tests: a serving process that never imports mmcnn.

The exports are checked the way a server sees them: `tf.saved_model.load` in a
fresh Python process (plus `tensorflow_text` for text models), and the raw
`saved_model.pb` protocol buffer walked op by op.
"""

import os
import pickle
import subprocess
import sys

PYTHON = sys.executable
SAVED_MODEL_CLI = os.path.join(os.path.dirname(sys.executable), "saved_model_cli")
FORBIDDEN = {"ReadFile", "WriteFile", "PyFunc", "PyFuncStateless", "EagerPyFunc"}
TOLERANCE = 1e-5

# Runs in the serving process: load, call each signature, pickle the numpy outputs.
_SERVING_SCRIPT = r"""
import pickle, sys
import numpy as np
import tensorflow as tf
if sys.argv[3] == "text":
    import tensorflow_text  # registers the tokenizer ops the graph uses
model = tf.saved_model.load(sys.argv[1])
with open(sys.argv[2], "rb") as f:
    calls = pickle.load(f)
results = []
for signature, inputs in calls:
    fn = model.signatures[signature]
    outputs = fn(**{k: tf.constant(v) for k, v in inputs.items()})
    results.append({k: v.numpy() for k, v in outputs.items()})
loaded = sorted(m for m in sys.modules if m == "mmcnn" or m.startswith("mmcnn."))
with open(sys.argv[2] + ".out", "wb") as f:
    pickle.dump({"results": results, "mmcnn_modules": loaded}, f)
"""


def _env():
    env = dict(os.environ)
    env["TF_CPP_MIN_LOG_LEVEL"] = "2"
    env["CUDA_VISIBLE_DEVICES"] = ""
    return env


def serve_in_fresh_process(export_dir, calls, workdir, modality):
    """Runs `[(signature, {input: array})]` against `export_dir` in a new process without mmcnn.

    Returns the list of output dicts (numpy arrays), one per call.
    """
    request = os.path.join(workdir, "calls.pkl")
    with open(request, "wb") as f:
        pickle.dump(calls, f)
    done = subprocess.run(
        [PYTHON, "-c", _SERVING_SCRIPT, os.fspath(export_dir), request, modality],
        cwd=workdir,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    if done.returncode:
        raise AssertionError(f"serving process failed:\n{done.stderr[-4000:]}")
    with open(request + ".out", "rb") as f:
        answer = pickle.load(f)
    assert answer["mmcnn_modules"] == [], f"the serving process imported {answer['mmcnn_modules']}"
    return answer["results"]


def run_saved_model_cli(*args, cwd=None):
    done = subprocess.run(
        [SAVED_MODEL_CLI, *args], cwd=cwd, env=_env(), capture_output=True, text=True, timeout=300
    )
    if done.returncode:
        raise AssertionError(f"saved_model_cli {' '.join(args)} failed:\n{done.stderr[-4000:]}")
    return done.stdout


def graph_op_types(export_dir):
    """Every op type in saved_model.pb: top-level nodes and all library functions' nodes."""
    from tensorflow.core.protobuf import saved_model_pb2

    proto = saved_model_pb2.SavedModel()
    with open(os.path.join(export_dir, "saved_model.pb"), "rb") as f:
        proto.ParseFromString(f.read())
    ops = set()
    for meta_graph in proto.meta_graphs:
        ops |= {node.op for node in meta_graph.graph_def.node}
        for function in meta_graph.graph_def.library.function:
            ops |= {node.op for node in function.node_def}
    return ops


def assert_matches_predict(outputs, expected):
    """Export outputs agree with `Classifier.predict` output."""
    import numpy as np

    np.testing.assert_allclose(outputs["probabilities"], expected["probabilities"], rtol=0, atol=TOLERANCE)
    assert outputs["probabilities"].dtype == np.float32
    np.testing.assert_array_equal(outputs["class_id"], np.argmax(outputs["probabilities"], -1))
    assert [n.decode() for n in outputs["class_name"]] == [
        expected["class_names"][i] for i in outputs["class_id"]
    ]
    # Top classes agree wherever the top two are not a near-tie.
    top2 = np.sort(expected["probabilities"], axis=-1)[:, -2:]
    clear = top2[:, 1] - top2[:, 0] > 10 * TOLERANCE
    np.testing.assert_array_equal(outputs["class_id"][clear], expected["class_ids"][clear])
