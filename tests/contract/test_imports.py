"""Which way the imports point: the core knows no modality, and no module imports itself in a circle.

Read from the source (every `import` statement, at module level or inside a
function), so that a lazy import inside a function counts as much as one at
the top of a file.
"""

import ast
import pathlib

import pytest

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
)
MODALITIES = ("image", "audio", "text", "board")


def module_name(path):
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def all_modules():
    return {module_name(p): p for p in PACKAGE.rglob("*.py") if "demo_data" not in p.parts}


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
    modules = all_modules()
    return {name: imported_modules(name, path, modules) for name, path in modules.items()}


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


def test_no_import_cycles(graph):
    cycles = [sorted(group) for group in strongly_connected(graph) if len(group) > 1]
    assert cycles == []


def test_the_cycle_finder_finds_a_cycle():
    assert [sorted(g) for g in strongly_connected({"a": {"b"}, "b": {"c"}, "c": {"a"}}) if len(g) > 1] == [
        ["a", "b", "c"]
    ]
