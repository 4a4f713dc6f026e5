"""The package's layers, read from its import statements: the domain imports nothing above it, the
application reaches AWS only through adapters, and no module-level import circle exists."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "layers" / "agentcron" / "agentcron"


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> tuple[set[str], set[str]]:
    """(module-level imports, all imports) of a file; TYPE_CHECKING blocks count as neither."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    top: set[str] = set()
    everything: set[str] = set()

    def names(node: ast.AST) -> set[str]:
        if isinstance(node, ast.Import):
            return {alias.name for alias in node.names}
        if isinstance(node, ast.ImportFrom) and node.module and not node.level:
            base = node.module
            return {base} | {f"{base}.{alias.name}" for alias in node.names}
        return set()

    def visit(nodes: list[ast.stmt], module_level: bool) -> None:
        for node in nodes:
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                continue
            found = names(node)
            everything.update(found)
            if module_level:
                top.update(found)
            for child in ast.iter_child_nodes(node):
                if isinstance(child, ast.stmt):
                    inner = module_level and not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
                    visit([child], inner)

    visit(tree.body, True)
    return top, everything


FILES = {_module_name(path): path for path in PACKAGE.rglob("*.py")}
MODULES = {module: _imports(path) for module, path in FILES.items()}


def _ours(names: set[str]) -> set[str]:
    return {name for name in names if name.startswith("agentcron.") and _resolve(name)}


def _resolve(name: str) -> str | None:
    """The module an imported name belongs to (``agentcron.models.Run`` -> ``agentcron.models``)."""
    while name:
        if name in MODULES:
            return name
        name = name.rpartition(".")[0]
    return None


def test_the_domain_imports_nothing_above_it_and_does_no_io() -> None:
    for module, (_, everything) in MODULES.items():
        if not module.startswith("agentcron.domain"):
            continue
        above = {name for name in _ours(everything) if not _resolve(name).startswith("agentcron.domain")}
        assert not above, f"{module} imports {sorted(above)} from outside the domain"
        io = {name for name in everything if name.split(".")[0] in {"boto3", "botocore", "urllib", "socket"}}
        assert not io, f"{module} imports {sorted(io)}"
        source = FILES[module].read_text(encoding="utf-8")
        for clock_read in ("datetime.now(", "utcnow(", "uuid4(", "time.time("):
            assert clock_read not in source, f"{module} reads the clock or a random id: {clock_read}"


def test_the_application_reaches_no_sdk_and_no_entry_point() -> None:
    for module, (top, everything) in MODULES.items():
        if not module.startswith("agentcron.application"):
            continue
        api = {name for name in _ours(everything) if _resolve(name).startswith("agentcron.api")}
        assert not api, f"{module} imports the API layer: {sorted(api)}"
        sdk = {name for name in top if name.split(".")[0] in {"boto3", "botocore"}}
        assert not sdk, f"{module} imports an AWS SDK at module level: {sorted(sdk)}"


def test_no_module_level_import_circle() -> None:
    graph = {module: {_resolve(name) for name in _ours(top)} - {module} for module, (top, _) in MODULES.items()}
    # a package's __init__ importing its own submodules is how packages re-export; not a circle
    for module, targets in graph.items():
        graph[module] = {t for t in targets if not t.startswith(module + ".")}
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(module: str) -> None:
        state[module] = 1
        path.append(module)
        for target in sorted(graph.get(module, ())):
            if state.get(target) == 1:
                cycle = path[path.index(target) :] + [target]
                raise AssertionError("import circle: " + " -> ".join(cycle))
            if target not in state:
                visit(target)
        path.pop()
        state[module] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module)


def test_the_layer_holds_only_runtime_code() -> None:
    assert not (PACKAGE / "cli").exists() and not (PACKAGE / "local").exists()
    for module, (_, everything) in MODULES.items():
        dev_only = {name for name in everything if name.split(".")[0] in {"moto", "yaml", "pytest"}}
        assert not dev_only, f"{module} imports {sorted(dev_only)}, which the layer does not install"
