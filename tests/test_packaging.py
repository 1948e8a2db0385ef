"""The distribution installs whole, as a wheel and as an editable install.

From the built wheel in a clean venv, every module of the four import packages
imports, and one real prompt runs through each client and transport against
the real server.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import sysconfig
import venv
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from comfy_api_client.plugins import AUTOLOAD_ENV

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
# Walks each package on disk, so a sub-package left out of the wheel is missed here.
WALK = (
    "import importlib, json, pkgutil\n"
    "names = []\n"
    f"for top in {PACKAGES!r}:\n"
    "    package = importlib.import_module(top)\n"
    "    names.append(top)\n"
    "    for info in pkgutil.walk_packages(package.__path__, top + '.'):\n"
    "        if info.name.endswith('.__main__'):\n"
    "            continue  # importing it runs the command line\n"
    "        importlib.import_module(info.name)\n"
    "        names.append(info.name)\n"
    "print(json.dumps(names))"
)
# One prompt per (client, transport), each of its own colour so none is served from cache.
RUN = """
import asyncio, json, sys
from comfy_api_client import create_client
from comfy_api_client.sync import create_client as create_sync_client

url, colors = sys.argv[1], [int(c) for c in sys.argv[2:]]

def workflow(color):
    return {
        "1": {"class_type": "EmptyImage",
              "inputs": {"width": 8, "height": 8, "batch_size": 1, "color": color}},
        "2": {"class_type": "SaveImage",
              "inputs": {"images": ["1", 0], "filename_prefix": "wheel"}},
    }

async def main():
    async with create_client(url) as client:
        result = await client.run(workflow(colors[0]), timeout=60)
        return result.output_images[0].image.getpixel((0, 0))

seen = {"async/httpx": list(asyncio.run(main()))}
for n, transport in enumerate(("requests", "httpx", "sockets"), 1):
    with create_sync_client(url, transport=transport) as client:
        result = client.run(workflow(colors[n]), timeout=60)
        seen["sync/" + transport] = list(result.output_images[0].image.getpixel((0, 0)))
print(json.dumps(seen))
"""


def _clean_venv(path: Path) -> Path:
    venv.EnvBuilder(with_pip=True, clear=True).create(path)
    return path / "bin" / "python"


def _python_json(python: Path, cwd: Path, code: str, *args: str) -> Any:
    # Third-party dependencies come from this interpreter's site-packages (a
    # PYTHONPATH entry, so its .pth files, our editable install among them, are
    # not read): the check sees only what the install under test put in place.
    deps = sysconfig.get_paths()["purelib"]
    done = subprocess.run(
        [str(python), "-c", code, *args],
        cwd=cwd,
        env={"PYTHONPATH": deps, "PATH": "/usr/bin:/bin", AUTOLOAD_ENV: "1"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    return json.loads(done.stdout)


def _imports(python: Path, cwd: Path) -> dict[str, str]:
    files: dict[str, str] = _python_json(python, cwd, CHECK)
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


@pytest.fixture(scope="module")
def wheel_python(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A clean venv with only the wheel installed (dependencies come through PYTHONPATH)."""
    python = _clean_venv(tmp_path_factory.mktemp("wheel-venv") / "venv")
    _pip(python, "install", "--no-deps", str(wheel))
    return python


def _modules_on_disk() -> set[str]:
    names = set()
    for top in PACKAGES:
        root = ROOT / ("plugins" if top == "comfy_plugins" else "") / top
        for path in root.rglob("*.py"):
            parts = path.relative_to(root.parent).with_suffix("").parts
            if parts[-1] != "__main__":
                names.add(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return names


def test_wheel_in_a_clean_venv_imports_every_module(wheel_python: Path, tmp_path: Path) -> None:
    names = _python_json(wheel_python, tmp_path, WALK)
    assert "comfy_api_client.sync.client" in names
    assert set(names) == _modules_on_disk()


def test_wheel_runs_a_prompt_on_every_client_and_transport(
    wheel_python: Path, tmp_path: Path, comfy_url: str, fresh_colors: Callable[[], int]
) -> None:
    colors = [fresh_colors() for _ in range(4)]
    seen = _python_json(wheel_python, tmp_path, RUN, comfy_url, *map(str, colors))
    pairs = ("async/httpx", "sync/requests", "sync/httpx", "sync/sockets")
    assert set(seen) == set(pairs)
    for key, color in zip(pairs, colors, strict=True):
        assert seen[key] == [color >> 16 & 0xFF, color >> 8 & 0xFF, color & 0xFF], key


def test_wheel_installs_all_four_packages(wheel_python: Path, tmp_path: Path) -> None:
    files = _imports(wheel_python, tmp_path)
    assert set(files) == set(PACKAGES)
    for name, file in files.items():
        assert file.startswith(str(wheel_python.parent.parent)), (name, file)
    site = Path(files["comfy_core"]).parent.parent
    for name in PACKAGES:
        assert (site / name / "py.typed").exists(), name


def test_editable_install_imports_all_four_packages(tmp_path: Path) -> None:
    python = _clean_venv(tmp_path / "venv")
    _pip(python, "install", "--no-deps", "-e", str(ROOT))
    files = _imports(python, tmp_path)
    assert files["comfy_plugins"] == str(ROOT / "plugins" / "comfy_plugins" / "__init__.py")
    assert files["comfy_core"] == str(ROOT / "comfy_core" / "__init__.py")
