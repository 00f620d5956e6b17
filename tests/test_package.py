"""fer_core installs as a package: a wheel with the library and the `fer-core` command, no app and no models."""

import subprocess
import sys
import zipfile
from pathlib import Path

from conftest import REPO_ROOT


def test_pip_builds_a_wheel_of_the_library_with_its_command(tmp_path):
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--quiet", "-w",
                    str(tmp_path), str(REPO_ROOT)], check=True, capture_output=True, timeout=600)
    [wheel] = tmp_path.glob("fer_core-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "fer_core/__init__.py" in names and "fer_core/cli.py" in names
    assert not any(name.startswith(("models/", "pages/", "tests/", "app_support")) for name in names)
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
