"""The distribution installs the four import packages, as a wheel and as an editable install."""

from __future__ import annotations

import shutil
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BUILD_LITTER = (".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", ".*_cache")
PACKAGES = ("comfy_core", "comfy_transports", "comfy_api_client", "comfy_plugins")
CHECK = (
    "import importlib, json\n"
    f"mods = [importlib.import_module(n) for n in {PACKAGES!r}]\n"
    "import comfy_api_client\n"
    "assert comfy_api_client.create_client\n"
    "print(json.dumps({m.__name__: m.__file__ for m in mods}))"
)


def _clean_venv(path: Path) -> Path:
    venv.EnvBuilder(with_pip=True, clear=True).create(path)
    return path / "bin" / "python"


def _imports(python: Path, cwd: Path) -> dict[str, str]:
    # Third-party dependencies come from this interpreter's site-packages (a
    # PYTHONPATH entry, so its .pth files, our editable install among them, are
    # not read): the check sees only what the install under test put in place.
    deps = sysconfig.get_paths()["purelib"]
    done = subprocess.run(
        [str(python), "-c", CHECK],
        cwd=cwd,
        env={"PYTHONPATH": deps, "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    import json

    files: dict[str, str] = json.loads(done.stdout)
    return files


def _pip(python: Path, *args: str) -> None:
    done = subprocess.run(
        [str(python), "-m", "pip", "--disable-pip-version-check", *args],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    # Build from a copy: setuptools writes build/ and *.egg-info into the source tree.
    source = tmp_path_factory.mktemp("src") / "project"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(*BUILD_LITTER))
    _pip(Path(sys.executable), "wheel", "--no-deps", "-w", str(out), str(source))
    (built,) = out.glob("comfy_api_client-*.whl")
    return built


def test_wheel_in_a_clean_venv_imports_all_four_packages(wheel: Path, tmp_path: Path) -> None:
    python = _clean_venv(tmp_path / "venv")
    _pip(python, "install", "--no-deps", str(wheel))
    files = _imports(python, tmp_path)
    assert set(files) == set(PACKAGES)
    for name, file in files.items():
        assert file.startswith(str(tmp_path / "venv")), (name, file)
    site = Path(files["comfy_core"]).parent.parent
    for name in PACKAGES:
        assert (site / name / "py.typed").exists(), name


def test_editable_install_imports_all_four_packages(tmp_path: Path) -> None:
    python = _clean_venv(tmp_path / "venv")
    _pip(python, "install", "--no-deps", "-e", str(ROOT))
    files = _imports(python, tmp_path)
    assert files["comfy_plugins"] == str(ROOT / "plugins" / "comfy_plugins" / "__init__.py")
    assert files["comfy_core"] == str(ROOT / "comfy_core" / "__init__.py")
