"""The `mmcnn` command end to end, through the real entry point in a subprocess."""

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest
from PIL import Image

# Subprocesses of the whole command line or of TensorFlow: part of `./run test`, not of the
# quick `-m "not slow"` loop.
pytestmark = pytest.mark.slow

MMCNN = [sys.executable, "-m", "mmcnn.cli"]


def run(*args, check=True, timeout=300):
    result = subprocess.run([*MMCNN, *args], capture_output=True, text=True, timeout=timeout)
    if check and result.returncode != 0:
        raise AssertionError(f"mmcnn {' '.join(args)} failed ({result.returncode}):\n{result.stderr[-3000:]}")
    return result


def make_images(root, per_class, seed=0):
    rng = np.random.default_rng(seed)
    for name, base in (("dark", 50), ("bright", 200)):
        folder = root / name
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            pixels = np.clip(rng.normal(base, 25, (12, 14)), 0, 255).astype("uint8")
            Image.fromarray(pixels).save(folder / f"{i}.png")
    return root


def error_line(result):
    """The mmcnn error line; asserts there is exactly one and no traceback."""
    assert "Traceback" not in result.stderr, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("mmcnn: ")]
    assert len(lines) == 1, result.stderr
    return lines[0]


TINY = [
    "--preset",
    "tiny",
    "--batch-size",
    "8",
    "--set",
    "image_size=[12,12]",
    "--set",
    "channels=1",
    "--set",
    "augmentation='none'",
]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli")
    train = make_images(root / "train", 24)
    test = make_images(root / "test", 6, seed=1)
    (train / "dark" / "corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")
    out = root / "run"
    result = run(
        "train",
        "image",
        "--train",
        str(train),
        "--test",
        str(test),
        "--out",
        str(out),
        "--epochs",
        "12",
        "--seed",
        "3",
        *TINY,
    )
    return {"root": root, "train": train, "test": test, "out": out, "result": result}


def test_train_writes_the_run_directory(trained):
    out = trained["out"]
    for name in (
        "config.json",
        "labels.txt",
        "model.keras",
        "history.csv",
        "metrics.json",
        "report/index.html",
    ):
        assert (out / name).exists(), name
    assert (out / "logs").is_dir()
    assert (out / "labels.txt").read_text().split() == ["bright", "dark"]
    config = json.loads((out / "config.json").read_text())
    assert config["command"]["epochs"] == 12 and config["classifier"]["image_size"] == [12, 12]
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["test"]["accuracy"] >= 0.9
    assert [path for path, _ in metrics["skipped"]["train"]] == [
        str(trained["train"] / "dark" / "corrupt.png")
    ]
    assert "accuracy" in trained["result"].stderr + trained["result"].stdout


def test_evaluate_json(trained):
    result = run("evaluate", str(trained["out"]), "--data", str(trained["test"]), "--json")
    metrics = json.loads(result.stdout)
    assert {"accuracy", "macro_f1", "per_class", "confusion_matrix", "labels"} <= set(metrics)
    assert sum(map(sum, metrics["confusion_matrix"])) == 12
    assert metrics["labels"] == ["bright", "dark"]


def test_predict_and_export_and_inspect(trained):
    files = [str(trained["test"] / "dark" / "0.png"), str(trained["test"] / "bright" / "0.png")]
    result = run("predict", str(trained["out"]), *files, "--top-k", "2", "--json")
    rows = json.loads(result.stdout)
    assert [row["label"] for row in rows] == ["dark", "bright"]
    assert all(len(row["top_k"]) == 2 for row in rows)

    export_dir = trained["root"] / "exported"
    run("export", str(trained["out"]), "--out", str(export_dir))
    assert (export_dir / "saved_model.pb").exists()
    again = run("export", str(trained["out"]), "--out", str(export_dir), check=False)
    assert again.returncode != 0 and "exist" in error_line(again)

    table = run("inspect", str(trained["out"])).stdout
    assert "Conv2D" in table and "dense_params" in table and "multiply-adds" in table
    preset = run("inspect", "--preset", "small", "--modality", "image").stdout
    assert "backbone/stage3_block1/conv" in preset


def test_a_completed_run_is_not_overwritten(trained):
    result = run(
        "train", "image", "--train", str(trained["train"]), "--out", str(trained["out"]), *TINY, check=False
    )
    assert result.returncode != 0
    assert "--overwrite" in error_line(result)


@pytest.mark.parametrize(
    "args,needle",
    [
        (["train", "image", "--train", "/nonexistent/data", "--out", "x"], "/nonexistent/data"),
        (["train", "video", "--train", ".", "--out", "x"], "invalid choice"),
        (["train", "image", "--out", "x"], "--train"),
        (["evaluate", "/nonexistent/run", "--data", "."], "/nonexistent/run"),
        (["predict"], "run_dir"),
        (["inspect", "--preset", "huge", "--modality", "image"], "huge"),
    ],
)
def test_bad_arguments_give_one_line(args, needle):
    result = run(*args, check=False)
    assert result.returncode != 0
    assert needle in error_line(result)


def test_malformed_manifest_names_rows(tmp_path):
    images = make_images(tmp_path / "imgs", 2)
    frame = pd.DataFrame(
        {
            "path": ["imgs/dark/0.png", "imgs/dark/1.png", "imgs/missing.png"],
            "label": ["dark", None, "bright"],
        }
    )
    frame.to_csv(tmp_path / "train.csv", index=False)
    result = run(
        "train",
        "image",
        "--train",
        str(tmp_path / "train.csv"),
        "--out",
        str(tmp_path / "run"),
        *TINY,
        check=False,
    )
    line = error_line(result)
    # The row without a label is skipped (and named in the log); the missing file stops the run.
    assert result.returncode != 0 and "row 3: file not found" in line
    assert "row 2: missing label" in result.stdout + result.stderr
    assert images.exists()
    pd.DataFrame({"file": ["a.png"], "label": ["x"]}).to_csv(tmp_path / "bad.csv", index=False)
    result = run(
        "train", "image", "--train", str(tmp_path / "bad.csv"), "--out", str(tmp_path / "run2"), check=False
    )
    assert "missing column" in error_line(result)


def test_resume_after_kill(tmp_path):
    train = make_images(tmp_path / "train", 60)
    out = tmp_path / "run"
    args = ["train", "image", "--train", str(train), "--out", str(out), "--epochs", "25", *TINY]
    process = subprocess.Popen([*MMCNN, *args], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    history = out / "history.csv"
    deadline = time.time() + 240
    while time.time() < deadline:
        if history.exists() and len(history.read_text().strip().splitlines()) >= 3:  # header + 2 epochs
            break
        if process.poll() is not None:
            pytest.fail(f"training ended before it could be killed:\n{process.stderr.read()[-2000:]}")
        time.sleep(0.05)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    done_before = pd.read_csv(history)["epoch"].tolist()
    assert not (out / "metrics.json").exists()

    result = run(*args)
    assert "resuming" in result.stderr
    epochs = pd.read_csv(history)["epoch"].tolist()
    resumed = epochs[len(done_before) :]
    # The resumed run starts after the last completed epoch: no epoch is trained twice.
    assert resumed and resumed[0] > done_before[-1], (done_before, resumed)
    assert (out / "metrics.json").exists()


TENSORFLOW_START_UP = ("cudart_stub.cc", "cuInit", "cpu_feature_guard", "oneDNN custom operations", "absl::")


def test_no_tensorflow_start_up_lines(trained):
    # What a user sees first must be mmcnn's own words, not TensorFlow's C++ probing.
    for result in (
        trained["result"],
        run("--help"),
        run("inspect", "--preset", "tiny", "--modality", "image"),
    ):
        shown = result.stdout + result.stderr
        assert not [line for line in shown.splitlines() if any(m in line for m in TENSORFLOW_START_UP)], shown


def test_verbose_shows_them_and_real_errors_still_pass_through(tmp_path):
    verbose = run("--verbose", "inspect", "--preset", "tiny", "--modality", "image")
    assert "rebuild TensorFlow" in verbose.stderr or "oneDNN" in verbose.stderr or "cuda" in verbose.stderr
    # A line on file descriptor 2 that is not start-up noise reaches the terminal.
    code = (
        "import os, mmcnn._stderr as s; s.filter_stderr(); os.write(2, b'E0000 real failure: disk full\\n')"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert "real failure: disk full" in result.stderr


def test_training_output_in_a_log_is_plain_lines(trained):
    # stdout is a pipe here, as in a log file or CI: one line per epoch, no redrawn bars.
    out = trained["result"].stdout
    assert "\r" not in out and "\x1b" not in out
    assert out.count("Epoch 1/12") == 1


def test_predict_names_unreadable_inputs_and_predicts_the_rest(trained, tmp_path):
    good = str(trained["test"] / "dark" / "0.png")
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n not an image")
    result = run("predict", str(trained["out"]), good, str(bad), str(tmp_path / "missing.png"), "--json")
    rows = json.loads(result.stdout)
    assert [row["label"] for row in rows] == ["dark", None, None]
    assert rows[0]["error"] is None and rows[1]["error"] and "no such file" in rows[2]["error"]
    assert str(bad) in result.stderr and "2 of 3 inputs could not be predicted" in result.stderr
    strict = run("predict", str(trained["out"]), good, str(bad), "--strict", check=False)
    assert strict.returncode == 1
    nothing = run("predict", str(trained["out"]), str(bad), check=False)
    assert nothing.returncode == 1 and "error" in nothing.stdout


def test_predict_a_folder_and_a_manifest_to_csv(trained, tmp_path):
    csv_path = tmp_path / "predictions.csv"
    run("predict", str(trained["out"]), str(trained["test"]), "--csv", str(csv_path))
    frame = pd.read_csv(csv_path)
    assert list(frame.columns) == ["path", "label", "probability", "error"]
    assert len(frame) == 12 and frame["error"].isna().all()
    truth = frame["path"].map(lambda p: os.path.basename(os.path.dirname(p)))
    assert (frame["label"] == truth).mean() >= 0.9
    manifest = tmp_path / "to_predict.csv"
    pd.DataFrame({"path": [str(trained["test"] / "bright" / "1.png"), "nowhere.png"]}).to_csv(manifest)
    rows = json.loads(run("predict", str(trained["out"]), str(manifest), "--json").stdout)
    assert rows[0]["label"] == "bright" and "no such file" in rows[1]["error"]


def test_predict_output_paths_and_run_dir_are_checked_before_predicting(trained, tmp_path):
    good = str(trained["test"] / "dark" / "0.png")
    for option, name in (("--csv", "out.csv"), ("--embed", "out.npy")):
        result = run("predict", str(trained["out"]), good, option, str(tmp_path / "gone" / name), check=False)
        # Exit 2 (a usage error found before any input is read), naming the option and the folder.
        line = error_line(result)
        assert result.returncode == 2 and f"{option} " in line and "does not exist" in line, line
    result = run("predict", str(trained["out"] / "model.keras"), good, check=False)
    assert result.returncode == 2 and "is a file; give the run directory" in error_line(result)


@pytest.mark.parametrize(
    "extra,needle",
    [(["--batch-size", "0"], "--batch-size"), (["--epochs", "-2"], "--epochs"), (["--seed", "-1"], "--seed")],
)
def test_bad_numbers_are_refused_before_anything_is_written(trained, tmp_path, extra, needle):
    out = tmp_path / "run"
    result = run("train", "image", "--train", str(trained["train"]), "--out", str(out), *extra, check=False)
    assert result.returncode != 0 and needle in error_line(result)
    assert not out.exists()


def test_out_that_is_a_file_is_refused(trained, tmp_path):
    out = tmp_path / "notes.txt"
    out.write_text("mine")
    result = run("train", "image", "--train", str(trained["train"]), "--out", str(out), check=False)
    assert result.returncode != 0 and "is a file" in error_line(result)
    assert out.read_text() == "mine"


def test_a_run_that_fails_before_its_first_epoch_leaves_nothing(trained, tmp_path):
    out = tmp_path / "run"
    one_class = tmp_path / "one"
    make_images(one_class, 3)
    import shutil

    shutil.rmtree(one_class / "bright")
    failed = run("train", "image", "--train", str(one_class), "--out", str(out), *TINY, check=False)
    assert failed.returncode != 0
    assert f"found 1 class (dark) in {one_class}; a classifier needs at least 2" in error_line(failed)
    assert not out.exists()


def test_a_second_writer_is_refused(trained, tmp_path):
    import fcntl

    out = tmp_path / "run"
    out.mkdir()
    with open(out / ".lock", "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        handle.write("pid 12345\n")
        handle.flush()
        result = run(
            "train", "image", "--train", str(trained["train"]), "--out", str(out), *TINY, check=False
        )
    assert result.returncode != 0 and "another mmcnn train (pid 12345)" in error_line(result)
    assert os.listdir(out) == [".lock"]


def test_evaluate_on_some_of_the_classes_and_name_unknown_ones(trained, tmp_path):
    import shutil

    some = tmp_path / "some"
    shutil.copytree(trained["test"] / "dark", some / "dark")
    metrics = json.loads(run("evaluate", str(trained["out"]), "--data", str(some), "--json").stdout)
    assert metrics["num_examples"] == 6 and metrics["labels"] == ["bright", "dark"]
    (some / "grey").mkdir()
    shutil.copy(trained["test"] / "dark" / "0.png", some / "grey" / "0.png")
    result = run("evaluate", str(trained["out"]), "--data", str(some), check=False)
    assert (
        result.returncode != 0 and "['grey']" in error_line(result) and "does not know" in error_line(result)
    )


def test_a_manifest_in_another_encoding(trained, tmp_path):
    import shutil

    shutil.copy(trained["test"] / "dark" / "0.png", tmp_path / "café.png")
    (tmp_path / "m.csv").write_bytes("path,label\ncafé.png,dark\n".encode("cp1252"))
    refused = run("evaluate", str(trained["out"]), "--data", str(tmp_path / "m.csv"), check=False)
    assert refused.returncode != 0 and "encoding" in error_line(refused) and "row 1" in error_line(refused)
    result = run(
        "evaluate", str(trained["out"]), "--data", str(tmp_path / "m.csv"), "--encoding", "cp1252", "--json"
    )
    assert json.loads(result.stdout)["num_examples"] == 1


def test_metrics_record_what_loading_changed(trained):
    metrics = json.loads((trained["out"] / "metrics.json").read_text())
    assert {"train", "val", "test"} <= set(metrics["data"])
    assert metrics["data"]["train"]["dropped_classes"] == []


def test_export_litert_int8_and_evaluate_the_file(trained, tmp_path):
    out = tmp_path / "model_int8.tflite"
    result = run("export", str(trained["out"]), "--format", "litert", "--quantize", "int8", "--out", str(out))
    assert out.is_file() and (tmp_path / "model_int8.labels.txt").read_text().split() == ["bright", "dark"]
    assert "exported to" in result.stdout
    assert "mmcnn: checked in: LiteRT interpreter, MediaPipe ImageClassifier" in result.stderr
    # An existing file is kept without --overwrite.
    again = run("export", str(trained["out"]), "--format", "litert", "--out", str(out), check=False)
    assert again.returncode != 0 and "overwrite" in error_line(again)
    result = run(
        "evaluate", str(trained["out"]), "--model", str(out), "--data", str(trained["test"]), "--json"
    )
    metrics = json.loads(result.stdout)
    assert metrics["num_examples"] == 12 and metrics["format"] == "litert"
    assert metrics["file_size_bytes"] == out.stat().st_size and metrics["latency_ms_batch1"] > 0
    assert abs(metrics["accuracy"] - metrics["keras_accuracy"]) <= 1 / 12
    text = run("evaluate", str(trained["out"]), "--model", str(out), "--data", str(trained["test"])).stdout
    assert "Keras model" in text and "batch-1 latency" in text and "file size" in text


def test_export_onnx_and_quantize_refused(trained, tmp_path):
    out = tmp_path / "model.onnx"
    run("export", str(trained["out"]), "--format", "onnx", "--out", str(out))
    metrics = json.loads(
        run(
            "evaluate", str(trained["out"]), "--model", str(out), "--data", str(trained["test"]), "--json"
        ).stdout
    )
    assert metrics["accuracy"] == metrics["keras_accuracy"] and metrics["max_abs_diff"] < 1e-5
    refused = run("export", str(trained["out"]), "--format", "onnx", "--quantize", "int8", check=False)
    assert refused.returncode == 2 and "--quantize is for --format litert" in error_line(refused)


def test_a_test_split_with_a_class_the_training_data_lacks_is_refused_before_training(tmp_path):
    train = make_images(tmp_path / "train", 4)
    make_images(tmp_path / "new", 2, seed=1)
    (tmp_path / "new" / "dark").rename(tmp_path / "new" / "shiny")
    manifest = tmp_path / "test_with_new_label.csv"
    rows = [(str(p), p.parent.name) for p in sorted((tmp_path / "new").glob("*/*.png"))]
    pd.DataFrame(rows, columns=["path", "label"]).to_csv(manifest, index=False)
    out = tmp_path / "run"
    result = run(
        "train", "image", "--train", str(train), "--test", str(manifest), "--out", str(out),
        "--epochs", "1", *TINY, check=False,
    )  # fmt: skip
    line = error_line(result)
    assert result.returncode == 3, result.stderr
    assert f"--test {manifest} has classes ['shiny'] that the training data" in line
    assert "Epoch" not in result.stdout + result.stderr  # refused before the first epoch
    assert not out.exists()


MAIN_MANY = """
import contextlib, io, json, sys
from mmcnn.cli import main
results = []
for argv in json.loads(sys.argv[1]):
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        code = main(argv)
    results.append([code, err.getvalue()])
print(json.dumps(results))
"""


def run_many(commands):
    """`[(exit code, stderr), ...]` of several `mmcnn` commands, run in one process (one TensorFlow start)."""
    done = subprocess.run(
        [sys.executable, "-c", MAIN_MANY, json.dumps(commands)], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_exit_codes_are_one_per_kind_of_mistake_in_every_subcommand(trained, tmp_path):
    from mmcnn.cli import EXIT_DATA, EXIT_USAGE

    one_class = make_images(tmp_path / "one", 3)
    import shutil

    shutil.rmtree(one_class / "bright")
    train, run_dir = str(trained["train"]), str(trained["out"])
    exported = tmp_path / "exported"
    exported.mkdir()
    (exported / "saved_model.pb").write_bytes(b"")
    usage = [
        ["train", "image", "--out", str(tmp_path / "a")],
        ["train", "image", "--train", train, "--out", str(tmp_path / "b"), "--freeze-epochs", "1"],
        [
            "train",
            "image",
            "--train",
            train,
            "--out",
            str(tmp_path / "c"),
            *TINY,
            "--set",
            "image_size=[-3,5]",
        ],
        ["train", "image", "--train", train, "--out", run_dir, *TINY],  # a completed run
        ["tune", "image", "--train", str(tmp_path / "missing"), "--out", str(tmp_path / "d")],
        ["evaluate", str(tmp_path / "no-run"), "--data", train],
        ["export", str(tmp_path / "no-run")],
        ["export", run_dir, "--out", str(exported)],  # exists: needs --overwrite
        ["predict", run_dir, train, "--embed", str(tmp_path / "missing" / "x.npy")],
    ]
    data = [
        ["train", "image", "--train", str(one_class), "--out", str(tmp_path / "e"), *TINY],
        ["tune", "image", "--train", str(one_class), "--out", str(tmp_path / "f"), "--budget", "1"],
    ]
    results = run_many(usage + data)
    codes = [code for code, _ in results]
    assert codes == [EXIT_USAGE] * len(usage) + [EXIT_DATA] * len(data), list(zip(codes, usage + data))
    messages = [err for _, err in results]
    # (Lines before the last one are the log of reading the data.)
    assert all("Traceback" not in m and m.strip().splitlines()[-1].startswith("mmcnn: ") for m in messages)
    # The command line names its options, not the Python arguments behind them.
    assert (
        "--overwrite" in messages[3] and "--overwrite" in messages[7] and "overwrite=True" not in messages[7]
    )
    assert (
        f"--embed {tmp_path / 'missing' / 'x.npy'}: the folder" in messages[8] and ".tmp" not in messages[8]
    )
    assert not (tmp_path / "b").exists() and not (tmp_path / "c").exists()


def test_train_help_marks_the_required_options():
    help_text = run("train", "--help").stdout
    assert "--train DATA --out RUN_DIR [options]" in help_text.splitlines()[0]
    assert "required (here, or as `train` and `out` in the --config file)" in help_text
