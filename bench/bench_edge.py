"""On-device exports: accuracy, file size and batch-1 latency of Keras vs LiteRT (float32, float16,
dynamic, int8) vs ONNX, for each modality's default preset on the benchmark data.

Each classifier is trained once (the preset's schedule; `--epochs N` overrides it for every
modality, `--epochs image=3 text=4 audio=8` for each), then written in every format (checked on
the validation split, as `mmcnn export` does) and scored in its own runtime (`ai_edge_litert`,
onnxruntime) on the whole test split through `Classifier.evaluate_model_file`: the same rows as
the Keras model, one example at a time. int8 is calibrated on 300 training examples (seeded).
Each LiteRT row also says which runtimes the file was checked or loaded in (the `checked_in` of
its `mmcnn.json`: the LiteRT interpreter, the MediaPipe Task).

Data (`bench.datasets.load_split`): Fashion-MNIST, espeak speech (`load_speech`), fortunes
(`split_fortunes`); `bench/setup.sh` installs them. `--demo-data` uses the small sets shipped in
`mmcnn/demo_data/` instead, and `--limit N` keeps N examples of each split: both are for checking
that the script runs, not for results. The measure itself is `bench.measures.edge_measure` (shared
with bench/bench_calibration.py --edge).

Run:  python -m bench.bench_edge [--modalities image audio text] [--epochs image=3 text=4 audio=8]
          [--out bench/results/edge.md]
"""

import argparse
import json
import os
import tempfile

from bench.harness import load_average, parse_epochs, write_results
from bench.measures import edge_lines, edge_measure

RESULTS = os.path.join(os.path.dirname(__file__), "results", "edge.md")
MODALITIES = ["image", "audio", "text"]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--modalities", nargs="+", default=MODALITIES, choices=MODALITIES)
    parser.add_argument(
        "--epochs", nargs="+", default=None, help="N for all, or MODALITY=N each (default: the presets')"
    )
    parser.add_argument(
        "--limit", type=int, default=None, help="keep this many examples of each split (smoke runs)"
    )
    parser.add_argument("--demo-data", action="store_true", help="use mmcnn/demo_data (smoke runs)")
    parser.add_argument("--speech-data", default="/tmp/speech_bench", help="bench_audio's data folder")
    parser.add_argument("--files", default=None, help="keep the exported files in this folder")
    parser.add_argument("--out", default=RESULTS)
    args = parser.parse_args(argv)
    epochs = parse_epochs(args.epochs, MODALITIES)
    before = load_average()
    folder = args.files or tempfile.mkdtemp(prefix="bench-edge-files-")
    os.makedirs(folder, exist_ok=True)
    results = [
        edge_measure(m, argparse.Namespace(**{**vars(args), "epochs": epochs.get(m)}), folder)
        for m in args.modalities
    ]
    after = load_average()
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(os.path.splitext(args.out)[0] + ".json", "w", encoding="utf-8") as f:
        json.dump(results, f, indent=2)
    write_results(args.out, edge_lines(results, args, before, after))
    print(f"wrote {args.out}", flush=True)


if __name__ == "__main__":
    main()
