"""bench/ is a harness: benchmarks import the shared modules, never each other, and run_all
lists every benchmark. Read with `ast` (nothing is imported: no TensorFlow)."""

import ast
import pathlib

BENCH = pathlib.Path(__file__).resolve().parents[1] / "bench"
MAX_LINES = 700


def benchmark_names():
    return sorted(p.stem[len("bench_") :] for p in BENCH.glob("bench_*.py"))


def imported_benchmarks(source):
    """Names of the benchmark scripts (`bench_*`) that `source` imports, at any depth."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.module:
            parts = node.module.split(".")
            if parts[0] != "bench":
                continue
            if len(parts) > 1 and parts[1].startswith("bench_"):
                found.append(parts[1])
            elif len(parts) == 1:
                found += [a.name for a in node.names if a.name.startswith("bench_")]
        elif isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] == "bench" and len(parts) > 1 and parts[1].startswith("bench_"):
                    found.append(parts[1])
    return found


def run_all_lists():
    """`(BENCHMARKS names, MERGED names)` of bench/run_all.py: the string constants of each assignment."""
    tree = ast.parse((BENCH / "run_all.py").read_text(encoding="utf-8"))
    values = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
            values[node.targets[0].id] = node.value
    names = {}
    for key in ("BENCHMARKS", "MERGED"):
        names[key] = {
            n.value
            for n in ast.walk(values.get(key, ast.Tuple(elts=[])))
            if isinstance(n, ast.Constant) and isinstance(n.value, str) and n.value.isidentifier()
        }
    return names["BENCHMARKS"], names["MERGED"]


def test_the_import_check_sees_every_form_of_import():
    source = (
        "import bench.bench_a\n"
        "from bench.bench_b import f\n"
        "from bench import bench_c, harness\n"
        "def g():\n    from bench import bench_d\n"
        "from bench.harness import publish\nfrom bench.datasets import draw\n"
    )
    assert imported_benchmarks(source) == ["bench_a", "bench_b", "bench_c", "bench_d"]


def test_no_bench_module_imports_a_benchmark():
    offenders = {
        path.name: imported_benchmarks(path.read_text(encoding="utf-8"))
        for path in sorted(BENCH.glob("*.py"))
        if path.name != "run_all.py"
    }
    offenders = {name: found for name, found in offenders.items() if found}
    assert not offenders, f"benchmarks must import bench.harness/baselines/datasets/measures: {offenders}"


def test_run_all_lists_every_benchmark():
    listed, merged = run_all_lists()
    assert len(benchmark_names()) >= 20
    assert set(benchmark_names()) - listed == set(), "bench/run_all.py BENCHMARKS misses these"
    assert listed - set(benchmark_names()) == set(), "bench/run_all.py BENCHMARKS names missing scripts"
    assert merged <= listed


def test_no_bench_file_passes_the_size_limit():
    sizes = {p.name: len(p.read_text(encoding="utf-8").splitlines()) for p in BENCH.glob("*.py")}
    assert {n: s for n, s in sizes.items() if s > MAX_LINES} == {}
