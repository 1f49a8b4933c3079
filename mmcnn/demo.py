"""`mmcnn demo`: train, evaluate and export an image, an audio and a text classifier and a
fused table classifier (icon, description, numbers) on the small real data that ships in
`mmcnn/demo_data/` (see its README for sources and licences), then reload each export with
plain TensorFlow in a fresh process, and write an int8 LiteRT file of each single-modality
model, scored in ai_edge_litert next to the Keras model, with the runtimes it was checked in."""

import json
import os
import subprocess
import sys
import time

import numpy as np

DEMO_DATA = os.path.join(os.path.dirname(__file__), "demo_data")

# The default presets and few epochs keep the whole demo within about five minutes on 2 CPU cores.
DEMO_SETTINGS = {
    "image": {
        "preset": None,
        "epochs": 10,
        "batch_size": 32,
        # image_size and channels "auto": the 28x28 grey PNGs give a 28x28x1 model.
        "classifier": {},
    },
    "audio": {"preset": None, "epochs": 15, "batch_size": None, "classifier": {}},
    "text": {"preset": None, "epochs": 8, "batch_size": None, "classifier": {}},
    # One fused model over the demo table's icon, description, numbers and section.
    "table": {"preset": None, "epochs": 40, "batch_size": None, "classifier": {}},
}


def _image_folders(root):
    """Writes the shipped Fashion-MNIST subset as PNG class folders (what users have)."""
    from PIL import Image

    subset = np.load(os.path.join(DEMO_DATA, "image", "fashion_mnist_subset.npz"))
    names = [str(n).replace("/", "-") for n in subset["class_names"]]
    paths = {}
    for split in ("train", "test"):
        folder = os.path.join(root, split)
        paths[split] = folder
        if os.path.isdir(folder):
            continue
        tmp = folder + ".tmp"
        for i, (x, y) in enumerate(zip(subset[f"x_{split}"], subset[f"y_{split}"])):
            class_dir = os.path.join(tmp, names[int(y)])
            os.makedirs(class_dir, exist_ok=True)
            Image.fromarray(x).save(os.path.join(class_dir, f"{i:05d}.png"))
        os.replace(tmp, folder)
    return paths


def _data_paths(modality, work):
    if modality == "image":
        return _image_folders(os.path.join(work, "data", "image"))
    if modality == "audio":
        return {s: os.path.join(DEMO_DATA, "audio", s) for s in ("train", "test")}
    return {s: os.path.join(DEMO_DATA, modality, f"{s}.csv") for s in ("train", "test")}


def run_demo(out="demo-runs", only=None):
    from mmcnn.models.classifier import load
    from mmcnn.runs import train_run

    os.makedirs(out, exist_ok=True)
    summary = {}
    for modality in only or tuple(DEMO_SETTINGS):
        start = time.time()
        print(f"\n=== {modality}: training on mmcnn/demo_data/{modality} ===", flush=True)
        paths = _data_paths(modality, out)
        run_dir = os.path.join(out, modality)
        settings = DEMO_SETTINGS[modality]
        config = {
            "modality": modality,
            "train": paths["train"],
            "val": None,
            "test": paths["test"],
            "out": run_dir,
            "preset": settings["preset"],
            "epochs": settings["epochs"],
            "batch_size": settings["batch_size"],
            "seed": 0,
            "on_error": "skip",
            "val_fraction": 0.1,
            "classifier": settings["classifier"],
        }
        metrics = train_run(config, overwrite=True, verbose=2)
        clf = load(os.path.join(run_dir, "model.keras"))
        export_dir = os.path.join(run_dir, "export")
        clf.export(export_dir, overwrite=True)
        served = check_export(modality, export_dir, paths["test"])
        # A table's model is exported as a SavedModel only (LiteRT files take one input).
        lite = litert_int8(clf, run_dir, config) if modality != "table" else None
        summary[modality] = {
            "test_accuracy": metrics["test"]["accuracy"],
            "test_macro_f1": metrics["test"]["macro_f1"],
            "export_accuracy": served["accuracy"],
            "litert_int8_accuracy": lite and lite["accuracy"],
            "litert_int8_bytes": lite and lite["file_size_bytes"],
            "seconds": time.time() - start,
        }
        print(
            f"{modality}: test accuracy {metrics['test']['accuracy']:.3f}, macro-F1 "
            f"{metrics['test']['macro_f1']:.3f}; the export, reloaded by plain TensorFlow, scores "
            f"{served['accuracy']:.3f} on the same test set"
        )
        for line in litert_lines(lite) if lite else ():
            print(f"  {line}")
        for line in served["examples"]:
            print(f"  {line}")
        print(f"  report: {os.path.join(run_dir, 'report', 'index.html')}")
    with open(os.path.join(out, "summary.json"), "w") as f:
        json.dump(summary, f, indent=2)
    print(
        "\nmmcnn demo: "
        + ", ".join(f"{m} {s['test_accuracy']:.3f}" for m, s in summary.items())
        + f" test accuracy; runs in {out}/"
    )
    return summary


def litert_int8(clf, run_dir, config, calibration_size=200):
    """Writes `model_int8.tflite`, calibrated on the training data and checked against the Keras model
    on the run's validation split (held out from training), and scores it in ai_edge_litert on the
    test data. The metrics gain `check_lines`: the file's agreement and the runtimes it was checked in."""
    from mmcnn.export import export_litert
    from mmcnn.runs import load_data
    from mmcnn.runs.export import check_lines, run_validation_data

    train = load_data(clf.modality, config["train"], class_names=clf.class_names, verbose=0)
    test = load_data(clf.modality, config["test"], class_names=clf.class_names, verbose=0)
    validation, why = run_validation_data(run_dir, clf)
    if validation is None:
        raise FileNotFoundError(f"{run_dir}: the demo's validation split cannot be read again: {why}")
    path = export_litert(
        clf,
        os.path.join(run_dir, "model_int8.tflite"),
        quantize="int8",
        calibration_data=train,
        calibration_size=calibration_size,
        overwrite=True,
        check_data=validation,
    )
    return {**clf.evaluate_model_file(test, path), "check_lines": check_lines(path, "litert", "int8")}


def litert_lines(lite):
    """What the demo prints about an int8 file (`litert_int8`'s metrics): its size, speed and test
    accuracy next to the Keras model's, its agreement on the validation split, the runtimes it was
    checked in."""
    return [
        f"int8 LiteRT file ({lite['file_size_bytes'] / 1024:.0f} KB, {lite['latency_ms_batch1']:.2f} ms per "
        f"example) scores {lite['accuracy']:.3f}, the Keras model {lite['keras_accuracy']:.3f}, on the same "
        f"test set: {lite['model_file']}",
        *lite["check_lines"],
    ]


def check_export(modality, export_dir, test_path):
    """Scores an export on the test data in a fresh Python process that does not import mmcnn."""
    code = _SERVE_SCRIPT.format(modality=modality, export_dir=export_dir, test_path=test_path)
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    if result.returncode != 0:
        raise RuntimeError(f"reloading the {modality} export failed: {result.stderr.strip()[-2000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


# Runs with TensorFlow (and tensorflow-text for text), soundfile and pandas only: no mmcnn.
_SERVE_SCRIPT = r"""
import json, os, sys
import numpy as np, tensorflow as tf
modality, export_dir, test_path = "{modality}", r"{export_dir}", r"{test_path}"
if modality in ("text", "table"):
    import tensorflow_text  # registers the tokenizer ops the graph uses (the table's description)
model = tf.saved_model.load(export_dir)
serve = model.signatures["serving_default"]
inputs, labels = [], []
if modality == "text":
    import pandas as pd
    frame = pd.read_csv(test_path)
    inputs, labels = frame["text"].astype(str).tolist(), frame["label"].astype(str).tolist()
elif modality == "table":
    import pandas as pd
    frame = pd.read_csv(test_path, dtype=str, keep_default_na=False)
    labels = frame.pop("label").tolist()
    inputs = frame.to_dict("records")
    spec = serve.structured_input_signature[1]
else:
    for label in sorted(os.listdir(test_path)):
        for name in sorted(os.listdir(os.path.join(test_path, label))):
            inputs.append(os.path.join(test_path, label, name)); labels.append(label)
names = []
for start in range(0, len(inputs), 64):
    chunk = inputs[start:start + 64]
    if modality == "table":
        # One input per column: the icon's bytes, the text, the numbers, the section.
        def cell(column, value):
            if spec[column].dtype == tf.float32:
                return float(value) if value else float("nan")
            if column == "icon":
                return open(os.path.join(os.path.dirname(test_path), value), "rb").read() if value else b""
            return value
        out = serve(**{{c: tf.constant([cell(c, row[c]) for row in chunk]) for c in spec}})
        names += [n.decode() for n in out["class_name"].numpy()]
        continue
    if modality == "image":
        batch = tf.constant([open(p, "rb").read() for p in chunk])
    elif modality == "audio":
        import soundfile
        clips = [soundfile.read(p, dtype="float32")[0] for p in chunk]
        width = max(len(c) for c in clips)
        batch = tf.constant(np.stack([np.pad(c, (0, width - len(c))) for c in clips]))
    else:
        batch = tf.constant(chunk)
    out = serve(batch)
    names += [n.decode() for n in out["class_name"].numpy()]
accuracy = float(np.mean([n == l for n, l in zip(names, labels)]))
show = lambda x: x.get("text", "") if isinstance(x, dict) else os.path.basename(str(x))
examples = [f"{{' '.join(show(x).split())[:40]:<42}} -> {{n}} (true: {{l}})"
            for x, n, l in list(zip(inputs, names, labels))[:: max(1, len(inputs) // 4)][:4]]
print(json.dumps({{"accuracy": accuracy, "examples": examples}}))
"""
