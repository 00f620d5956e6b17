"""fer_core's imports point down: no cycles, nothing reaches up into a package's __init__, inference never
imports training, and the library never imports the command line."""

import ast
from pathlib import Path

from helpers import REPO_ROOT

PACKAGE = REPO_ROOT / "fer_core"


def _module_name(path: Path) -> str:
    parts = path.relative_to(REPO_ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module_name(path): path for path in PACKAGE.rglob("*.py")}


def _imports(path: Path, modules) -> list[tuple[str, int]]:
    """The fer_core modules a file imports anywhere in it (lazy imports inside functions too), with line numbers.
    `from fer_core.x import y` counts as importing fer_core.x.y when that is a module, else fer_core.x."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names if alias.name.startswith("fer_core")]
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("fer_core"):
            for alias in node.names:
                sub = f"{node.module}.{alias.name}"
                found.append((sub if sub in modules else node.module, node.lineno))
    return found


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    return {name: {target for target, _ in _imports(path, modules) if target != name}
            for name, path in modules.items()}


def _cycle(graph) -> list[str] | None:
    """One import cycle, as the modules along it, or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for target in sorted(graph.get(node, ())):
            if state.get(target) == 1:
                return path[path.index(target):] + [target]
            if target not in state and (found := visit(target)):
                return found
        state[node] = 2
        path.pop()
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_there_is_no_import_cycle_in_fer_core():
    assert _cycle(_graph()) is None, " -> ".join(_cycle(_graph()) or [])


def test_the_cycle_check_finds_a_cycle():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


def test_no_module_reaches_up_into_a_package_init():
    modules = _modules()
    packages = {name for name, path in modules.items() if path.name == "__init__.py"}
    upward = []
    for name, path in modules.items():
        for target, line in _imports(path, modules):
            # A package's __init__ may gather what is below it; nothing else imports a package's __init__ itself.
            if target in packages and not name.startswith(target + ".") and path.name != "__init__.py":
                upward.append(f"{path.relative_to(REPO_ROOT)}:{line} imports {target}")
            elif target in packages and path.name != "__init__.py":
                upward.append(f"{path.relative_to(REPO_ROOT)}:{line} imports its own package {target}")
    assert not upward, upward


def test_inference_runs_and_the_server_import_neither_training_nor_the_command_line():
    graph = _graph()
    commands = {"fer_core.cli", "fer_core.analyze_command", "fer_core.__main__"}
    assert any(name.startswith("fer_core.server") for name in graph)
    for name, targets in graph.items():
        if name.startswith(("fer_core.inference", "fer_core.runs", "fer_core.server")):
            assert not {t for t in targets if t.startswith("fer_core.training")}, name
        if name not in commands:
            assert not targets & commands, name
