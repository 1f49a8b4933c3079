"""Runs the benchmarks and rewrites bench/RESULTS.md from their result files.

    bash bench/setup.sh                       # Debian data packages + bench extras (once)
    .venv/bin/python -m bench.run_all         # every benchmark, with its defaults (many hours on 2 cores)
    .venv/bin/python -m bench.run_all --only image text
    .venv/bin/python -m bench.run_all --quick                 # smoke runs of those that take --quick
    .venv/bin/python -m bench.run_all --quick --only performance device
    .venv/bin/python -m bench.run_all --list                  # the benchmarks, and which take --quick
    .venv/bin/python -m bench.run_all --merge-only            # just rebuild RESULTS.md

`BENCHMARKS` names every `bench/bench_*.py` (tests/test_bench_layout.py checks it). Each
benchmark writes its own results file with its own command, machine and numbers; this script
runs them one after another (never in parallel: they time the CPU). The results files of
`MERGED` are copied into RESULTS.md under a header that names the machine and versions; the
hand-written sections of RESULTS.md that follow them are kept.

`--quick` passes `--quick` to each chosen benchmark that takes it (the others are skipped, and
named), with `--out` in a temporary folder so that a smoke run never replaces a results file;
RESULTS.md is left alone.
"""

import argparse
import ast
import os
import subprocess
import sys
import tempfile
import time

from bench.harness import machine_line

HERE = os.path.dirname(os.path.abspath(__file__))
RESULTS_DIR = os.path.join(HERE, "results")
# name -> module, for every bench/bench_<name>.py; run in this order.
BENCHMARKS = {
    name: f"bench.bench_{name}"
    for name in (
        # The sections that RESULTS.md copies from bench/results/<name>.md (MERGED), in its order.
        "image",
        "audio",
        "text",
        "serving",
        "performance",
        "board",
        "spatial_transformer",
        # The others (RESULTS.md summarises their results files in hand-written sections).
        "edge",
        "calibration",
        "precision",
        "predict",
        "transfer",
        "transfer_audio",
        "transfer_text",
        "multilabel",
        "small_data",
        "early_stopping",
        "small_audio",
        "time_to_accuracy",
        "warm_start",
        "tune",
        "device",
        "feature_cache",
        "audio_cache",
        "explain",
        "image_auto",
        "table",
        "text_vs_linear",
        "text_label_smoothing",
        "cli_time_to_accuracy",
        "image_larger",
    )
}
MERGED = ("image", "audio", "text", "serving", "performance", "board", "spatial_transformer")


def script_path(name):
    return os.path.join(HERE, f"bench_{name}.py")


def takes_option(name, option):
    """Whether bench/bench_<name>.py declares `option` (an `add_argument` call; read, not imported)."""
    with open(script_path(name), encoding="utf-8") as f:
        tree = ast.parse(f.read())
    return any(
        isinstance(node, ast.Call)
        and getattr(node.func, "attr", None) == "add_argument"
        and any(isinstance(a, ast.Constant) and a.value == option for a in node.args)
        for node in ast.walk(tree)
    )


def merge():
    parts = [
        "# Benchmark results",
        "",
        "Written by `.venv/bin/python -m bench.run_all` (see each section for its own command).",
        f"Machine of the last merge: {machine_line()}.",
        "",
    ]
    titles = set()
    for name in MERGED:
        path = os.path.join(RESULTS_DIR, f"{name}.md")
        if os.path.exists(path):
            with open(path, encoding="utf-8") as f:
                section = _as_section(f.read().strip())
            titles.add(next((line for line in section.splitlines() if line.startswith("## ")), None))
            parts += [section, ""]
        else:
            titles.add(f"## {name}")
            parts += [f"## {name}", "", "Not run yet.", ""]
    results_md = os.path.join(HERE, "RESULTS.md")
    text = "\n".join(parts)
    kept = _hand_written_sections(results_md, titles)
    if kept:
        text = text.rstrip("\n") + "\n\n" + kept
    with open(results_md, "w", encoding="utf-8") as f:
        f.write(text)


def _hand_written_sections(path, merged_titles):
    """The `## ` sections of the RESULTS.md at `path` that are not copies of a merged results file."""
    if not os.path.exists(path):
        return ""
    with open(path, encoding="utf-8") as f:
        lines = f.read().splitlines()
    sections, current = [], None
    for line in lines:
        if line.startswith("## "):
            current = [line]
            sections.append(current)
        elif current is not None:
            current.append(line)
    kept = [s for s in sections if s[0] not in merged_titles]
    return "\n".join("\n".join(s) for s in kept).strip("\n") + "\n" if kept else ""


def _as_section(text):
    """Shifts the headings of one results file so that its title is a `##` section."""
    lines = text.splitlines()
    first = next((line for line in lines if line.startswith("#")), "## ")
    shift = 2 - (len(first) - len(first.lstrip("#")))
    if shift <= 0:
        return text
    return "\n".join("#" * shift + line if line.startswith("#") else line for line in lines)


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--only", nargs="+", choices=list(BENCHMARKS), help="run these benchmarks")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smoke runs (--quick) of those that take it; results to a temp folder",
    )
    parser.add_argument("--list", action="store_true", help="print the benchmarks and exit")
    parser.add_argument("--merge-only", action="store_true")
    args = parser.parse_args(argv)
    if args.list:
        for name, module in BENCHMARKS.items():
            notes = [
                n for n, ok in (("merged", name in MERGED), ("--quick", takes_option(name, "--quick"))) if ok
            ]
            print(f"{name:20} {module:32} {', '.join(notes)}")
        return 0
    failed, skipped = [], []
    quick_out = tempfile.mkdtemp(prefix="bench_quick_") if args.quick else None
    if not args.merge_only:
        for name in args.only or BENCHMARKS:
            command = [sys.executable, "-m", BENCHMARKS[name]]
            if args.quick:
                if not takes_option(name, "--quick"):
                    skipped.append(name)
                    continue
                command += ["--quick", "--out", os.path.join(quick_out, f"{name}.md")]
            start = time.time()
            print(f"== {name}: {' '.join(command[1:])}", flush=True)
            code = subprocess.call(command, cwd=os.path.dirname(HERE))
            print(f"== {name}: exit {code} after {time.time() - start:.0f} s", flush=True)
            if code:
                failed.append(name)
    if args.quick:
        print(f"--quick: reports in {quick_out}; RESULTS.md left alone")
        if skipped:
            print(f"--quick: skipped (no --quick option): {', '.join(skipped)}")
    else:
        merge()
    if failed:
        print(f"failed: {failed}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
