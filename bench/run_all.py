"""Runs every benchmark and rewrites bench/RESULTS.md from their result files.

    bash bench/setup.sh                       # Debian data packages + bench extras (once)
    .venv/bin/python -m bench.run_all         # all benchmarks (about an hour on 2 cores)
    .venv/bin/python -m bench.run_all --only image text
    .venv/bin/python -m bench.run_all --merge-only   # just rebuild RESULTS.md

Each benchmark writes `bench/results/<name>.md` with its own command, machine and
numbers; this script runs them one after another (never in parallel: they time the CPU)
and joins the files under a header that names the machine and versions.
"""

import argparse
import os
import subprocess
import sys
import time

from bench.harness import machine_line

HERE = os.path.dirname(os.path.abspath(__file__))
RESULTS_DIR = os.path.join(HERE, "results")
# name -> module; the order is the order of sections in RESULTS.md.
BENCHMARKS = {
    "image": "bench.bench_image",
    "audio": "bench.bench_audio",
    "text": "bench.bench_text",
    "serving": "bench.bench_serving",
    "performance": "bench.bench_performance",
    "board": "bench.bench_board",
    "spatial_transformer": "bench.bench_spatial_transformer",
}


def merge():
    parts = [
        "# Benchmark results",
        "",
        "Written by `.venv/bin/python -m bench.run_all` (see each section for its own command).",
        f"Machine of the last merge: {machine_line()}.",
        "",
    ]
    for name in BENCHMARKS:
        path = os.path.join(RESULTS_DIR, f"{name}.md")
        if os.path.exists(path):
            with open(path, encoding="utf-8") as f:
                parts += [_as_section(f.read().strip()), ""]
        else:
            parts += [f"## {name}", "", "Not run yet.", ""]
    with open(os.path.join(HERE, "RESULTS.md"), "w", encoding="utf-8") as f:
        f.write("\n".join(parts))


def _as_section(text):
    """Shifts the headings of one results file so that its title is a `##` section."""
    lines = text.splitlines()
    first = next((line for line in lines if line.startswith("#")), "## ")
    shift = 2 - (len(first) - len(first.lstrip("#")))
    if shift <= 0:
        return text
    return "\n".join("#" * shift + line if line.startswith("#") else line for line in lines)


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--only", nargs="+", choices=list(BENCHMARKS))
    parser.add_argument("--merge-only", action="store_true")
    args = parser.parse_args()
    failed = []
    if not args.merge_only:
        for name in args.only or BENCHMARKS:
            start = time.time()
            print(f"== {name}", flush=True)
            code = subprocess.call([sys.executable, "-m", BENCHMARKS[name]], cwd=os.path.dirname(HERE))
            print(f"== {name}: exit {code} after {time.time() - start:.0f} s", flush=True)
            if code:
                failed.append(name)
    merge()
    if failed:
        print(f"failed: {failed}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
