"""Data, model and launching shared by the distributed tests (and their worker script)."""

import os

import numpy as np
from PIL import Image

import mmcnn

EPOCHS = 3
PER_REPLICA_BATCH = 4
NUM_EXAMPLES = 32  # a multiple of the global batch (2 replicas x 4): every step splits evenly


def write_images(root):
    """NUM_EXAMPLES tiny grey PNGs in two class folders (dark-ish and bright-ish)."""
    rng = np.random.default_rng(0)
    for i in range(NUM_EXAMPLES):
        label = i % 2
        folder = os.path.join(root, ["dark", "bright"][label])
        os.makedirs(folder, exist_ok=True)
        pixels = rng.integers(0, 128, (8, 8)) + 100 * label
        Image.fromarray(pixels.astype(np.uint8)).save(os.path.join(folder, f"{i:03d}.png"))


def labelled_data(root, kind):
    data = mmcnn.image.from_directory(root, verbose=0)
    if kind == "files":
        return data
    pixels = np.stack([np.asarray(Image.open(p), "float32") for p in data.inputs])
    return mmcnn.image.from_arrays(pixels, data.labels, class_names=data.class_names)


def classifier():
    clf = mmcnn.image.ImageClassifier(
        num_classes=2,
        image_size=(8, 8),
        channels=1,
        preset="tiny",
        augmentation="none",
        learning_rate=0.01,
        seed=1,
    )
    clf._shuffle_training = False  # compare runs batch by batch
    return clf


# ------------------------------------------------------------------ launching
HERE = os.path.dirname(os.path.abspath(__file__))
WORKER_TIMEOUT = 420  # seconds; a hang fails the test instead of blocking the suite


def free_port():
    """A TCP port that was free on 127.0.0.1 a moment ago."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def loopback_namespace_error():
    """None if `unshare --net` can make a loopback-only network namespace, else why not."""
    import shutil
    import subprocess

    if shutil.which("unshare") is None or shutil.which("ip") is None:
        return "`unshare` or `ip` is not installed"
    try:
        done = subprocess.run(
            ["unshare", "--net", "--map-root-user", "sh", "-c", "ip link set lo up"],
            capture_output=True,
            text=True,
            timeout=30,
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"unshare failed: {error}"
    if done.returncode:
        return f"unshare --net is not permitted here: {done.stderr.strip()[:200]}"
    return None


def launch_workers(settings, log_dir, isolate=False, num_workers=2):
    """Runs `num_workers` worker.py processes as one cluster on 127.0.0.1 and waits for them.

    With `isolate`, all of them run inside one new network namespace that has
    only a loopback interface (nothing outside the machine can reach them).

    Returns:
        list per worker of dicts: `returncode`, `ended` (seconds after the
        start), `result` (the worker's RESULT JSON or None) and `log`.
    """
    import json
    import subprocess
    import sys
    import time

    ports = [free_port() for _ in range(num_workers)]
    cluster = {"worker": [f"127.0.0.1:{port}" for port in ports]}
    commands = []
    for index in range(num_workers):
        tf_config = json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}})
        log = os.path.join(log_dir, f"worker{index}.log")
        commands.append(
            (tf_config, log, [sys.executable, os.path.join(HERE, "worker.py"), json.dumps(settings)])
        )
    start = time.monotonic()
    if isolate:
        # One namespace for the whole cluster: a shell starts the workers and reports each exit.
        script = "ip link set lo up\n"
        for _index, (tf_config, log, argv) in enumerate(commands):
            quoted = " ".join(_quote(a) for a in argv)
            script += (
                f"(TF_CONFIG={_quote(tf_config)} {quoted} > {_quote(log)} 2>&1; "
                f'echo "$?" > {_quote(log + ".rc")}) &\n'
            )
        script += "wait\n"
        process = subprocess.Popen(
            ["unshare", "--net", "--map-root-user", "sh", "-c", script], env=_environment()
        )
        processes = [process]
    else:
        processes = [
            subprocess.Popen(
                argv, env=_environment(TF_CONFIG=tf_config), stdout=open(log, "w"), stderr=subprocess.STDOUT
            )
            for tf_config, log, argv in commands
        ]
    ended = {}
    deadline = start + WORKER_TIMEOUT
    while time.monotonic() < deadline:
        for index, (_, log, _) in enumerate(commands):
            if index in ended:
                continue
            if isolate and os.path.exists(log + ".rc") and open(log + ".rc").read().strip():
                ended[index] = time.monotonic() - start
            elif not isolate and processes[index].poll() is not None:
                ended[index] = time.monotonic() - start
        if len(ended) == num_workers:
            break
        time.sleep(0.5)
    for process in processes:
        if process.poll() is None:
            process.kill()
        process.wait()
    results = []
    for index, (_, log, _) in enumerate(commands):
        text = open(log).read() if os.path.exists(log) else ""
        if isolate:
            rc_text = open(log + ".rc").read().strip() if os.path.exists(log + ".rc") else ""
            returncode = _shell_returncode(rc_text)
        else:
            returncode = processes[index].returncode if index in ended else None
        lines = [line for line in text.splitlines() if line.startswith("RESULT ")]
        results.append(
            {
                "returncode": returncode,
                "ended": ended.get(index),
                "log": text,
                "result": json.loads(lines[-1][len("RESULT ") :]) if lines else None,
            }
        )
    return results


def _shell_returncode(text):
    if not text:
        return None
    code = int(text)
    return -(code - 128) if code > 128 else code  # the shell reports a signal as 128 + its number


def _quote(text):
    import shlex

    return shlex.quote(text)


def _environment(**extra):
    env = dict(
        os.environ,
        PYTHONPATH=HERE + os.pathsep + os.environ.get("PYTHONPATH", ""),
        TF_CPP_MIN_LOG_LEVEL="2",
        CUDA_VISIBLE_DEVICES="",
        **extra,
    )
    env.pop("TF_CONFIG", None) if "TF_CONFIG" not in extra else None
    return env
