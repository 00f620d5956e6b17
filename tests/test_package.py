"""fer_core installs as a package: a wheel with the library and the `fer-core` command, no app and no models."""

import ast
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from helpers import REPO_ROOT


def test_pip_builds_a_wheel_of_the_library_with_its_command(tmp_path):
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--quiet", "-w",
                    str(tmp_path), str(REPO_ROOT)], check=True, capture_output=True, timeout=600)
    [wheel] = tmp_path.glob("fer_core-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "fer_core/__init__.py" in names and "fer_core/cli.py" in names
    for package in ("inference", "training", "runs"):
        assert f"fer_core/{package}/__init__.py" in names
    assert not any(name.startswith(("models/", "pages/", "tests/", "app/")) for name in names)
    entry_points = zipfile.ZipFile(wheel).read(next(n for n in names if n.endswith("entry_points.txt"))).decode()
    assert "fer-core = fer_core.cli:console_main" in entry_points
    metadata = zipfile.ZipFile(wheel).read(next(n for n in names if n.endswith("METADATA"))).decode()
    assert "Requires-Dist: ai-edge-litert" in metadata and "Requires-Python: >=3.11" in metadata
    assert 'tensorflow-cpu>=2.16; extra == "train"' in metadata  # inference does not depend on TensorFlow


def test_the_installed_command_is_the_same_cli():
    command = Path(sys.executable).parent / "fer-core"
    assert command.is_file(), "scripts/setup.sh installs the package (pip install -e .)"
    out = subprocess.run([str(command), "analyze", "--help"], capture_output=True, text=True, check=True).stdout
    assert out.startswith("usage: fer-core analyze") and "--annotated" in out


def _imported_modules(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def test_inference_never_imports_training():
    for path in sorted((REPO_ROOT / "fer_core" / "inference").glob("*.py")):
        training = {m for m in _imported_modules(path) if m.startswith("fer_core.training")}
        assert not training, f"{path.name} imports {training}"


def test_importing_the_library_loads_no_training_module():
    code = ("import sys, fer_core, fer_core.inference.live, fer_core.inference.video, fer_core.inference.files; "
            "print(sorted(m for m in sys.modules if m.startswith('fer_core.training')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


@pytest.mark.parametrize("folder", ["fer_core", "app", "pages"])
def test_no_function_is_longer_than_50_lines(folder):
    long = []
    for path in sorted((REPO_ROOT / folder).rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.end_lineno - node.lineno >= 50:
                long.append(f"{path.relative_to(REPO_ROOT)}:{node.lineno} {node.name}")
    assert not long
