"""Which way the imports point: the core knows no modality, and neither a module nor a package
imports itself in a circle.

Read from the source (every `import` statement, at module level or inside a
function), so that a lazy import inside a function counts as much as one at
the top of a file. The package graph joins the modules of each subpackage
(`mmcnn.models.*` is one node, `mmcnn.cli` another): `models -> tune -> models`
is a cycle there even when no two modules import each other.
"""

import ast
import pathlib

import pytest

from mmcnn.models import registry

PACKAGE = pathlib.Path(__file__).resolve().parents[2] / "mmcnn"
CORE = (
    "layers",
    "models",
    "export",
    "training",
    "report",
    "inspect",
    "data",
    "runs",
    "distribute",
    "testing",
    "tune",
    "explain",
    "multimodal",
)
# The modalities mmcnn declares (pyproject.toml's `mmcnn.modalities` entry points).
MODALITIES = tuple(sorted(registry.modality_modules()))


def test_the_modalities_are_the_declared_ones():
    assert {"image", "audio", "text", "board"} <= set(MODALITIES)


def module_name(path, package=PACKAGE):
    parts = path.relative_to(package.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def all_modules(package=PACKAGE):
    return {module_name(p, package): p for p in package.rglob("*.py") if "demo_data" not in p.parts}


def module_graph(package=PACKAGE):
    modules = all_modules(package)
    return {name: imported_modules(name, path, modules) for name, path in modules.items()}


def imported_modules(name, path, known):
    """The mmcnn modules that `name` imports (`from a import b` counts `a.b` when it is a module)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{parent}.{base}" if base else parent
            # `from a import b` imports the module a.b when there is one, else a name of a.
            submodules = [f"{base}.{alias.name}" for alias in node.names if f"{base}.{alias.name}" in known]
            targets = submodules + ([base] if len(submodules) < len(node.names) else [])
        else:
            continue
        found |= {t for t in targets if t in known}
    found.discard(name)
    return found


@pytest.fixture(scope="module")
def graph():
    return module_graph()


def top_package(name):
    parts = name.split(".")
    return parts[1] if len(parts) > 1 else ""


def test_the_walk_sees_the_package(graph):
    assert {"mmcnn.models.classifier", "mmcnn.image.image_classifier", "mmcnn.runs.train"} <= set(graph)
    # A known edge, to show that the parser finds imports at all.
    assert "mmcnn.models.classifier" in graph["mmcnn.image.image_classifier"]


def test_core_imports_no_modality(graph):
    offending = sorted(
        f"{name} imports {target}"
        for name, targets in graph.items()
        if top_package(name).lstrip("_") in CORE or name.split(".")[1:2] in (["cli"], ["demo"])
        for target in targets
        if top_package(target) in MODALITIES
    )
    assert offending == []


def strongly_connected(graph):
    """Tarjan's algorithm: the groups of modules that import each other, directly or not."""
    index, low, stack, on_stack, groups = {}, {}, [], set(), []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.add(member)
                if member == node:
                    break
            groups.append(group)

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return groups


def package_of(name):
    """The node of `name` in the package graph: `mmcnn.models.classifier` -> `mmcnn.models`."""
    return ".".join(name.split(".")[:2])


def package_graph(graph):
    """The imports between subpackages (and top-level modules), each with the module imports behind it."""
    packages = {}
    for name, targets in graph.items():
        edges = packages.setdefault(package_of(name), {})
        for target in targets:
            if package_of(target) != package_of(name):
                edges.setdefault(package_of(target), []).append(f"{name} -> {target}")
    return packages


def cycles(graph):
    return [sorted(group) for group in strongly_connected(graph) if len(group) > 1]


def explained(packages, groups):
    """Each cycle with the module imports that make it, for the failure message."""
    return {
        " <-> ".join(group): sorted(
            why
            for source in group
            for target, whys in packages[source].items()
            if target in group
            for why in whys
        )
        for group in groups
    }


def test_no_import_cycles(graph):
    assert cycles(graph) == []


def test_no_package_import_cycles(graph):
    packages = package_graph(graph)
    assert {"mmcnn", "mmcnn.models", "mmcnn.tune", "mmcnn.runs", "mmcnn.cli"} <= set(packages)
    assert "mmcnn.models" in packages["mmcnn.runs"]  # a known edge: the walk sees the package graph
    assert explained(packages, cycles(packages)) == {}


def test_the_cycle_finder_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == [["a", "b", "c"]]


def write_package(root, files):
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def test_the_package_graph_finds_a_cycle_no_module_cycle_shows(tmp_path):
    # models/classifier -> tune/search (in a function) -> runs/config, runs/train -> models/registry:
    # no module imports itself in a circle, but the packages do (the shape mmcnn had).
    package = write_package(
        tmp_path / "pkg",
        {
            "__init__.py": "",
            "models/__init__.py": "",
            "models/registry.py": "",
            "models/classifier.py": "def tune():\n    from pkg.tune import search\n",
            "tune/__init__.py": "",
            "tune/search.py": "from ..runs.config import ConfigError\n",
            "runs/__init__.py": "",
            "runs/config.py": "ConfigError = ValueError\n",
            "runs/train.py": "from pkg.models import registry\n",
            "cli.py": "import pkg.runs.train\nfrom pkg import tune\n",
        },
    )
    graph = module_graph(package)
    assert cycles(graph) == []
    packages = package_graph(graph)
    assert cycles(packages) == [["pkg.models", "pkg.runs", "pkg.tune"]]
    assert explained(packages, cycles(packages)) == {
        "pkg.models <-> pkg.runs <-> pkg.tune": [
            "pkg.models.classifier -> pkg.tune.search",
            "pkg.runs.train -> pkg.models.registry",
            "pkg.tune.search -> pkg.runs.config",
        ]
    }
    # Without the function-level import, the packages are in layers again.
    (package / "models/classifier.py").write_text("def tune():\n    pass\n", encoding="utf-8")
    assert cycles(package_graph(module_graph(package))) == []
