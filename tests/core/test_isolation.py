"""comfy_core must stay sans-I/O: importing it loads no I/O or third-party module."""

from __future__ import annotations

import subprocess
import sys

FORBIDDEN = (
    "httpx",
    "requests",
    "websockets",
    "h11",
    "wsproto",
    "pluggy",
    "asyncio",
    "socket",
    "threading",
    "PIL",
)


def test_core_imports_only_the_standard_library() -> None:
    # Every module of the package, found by walking it: a new module is checked too.
    code = (
        "import importlib, pkgutil, sys, comfy_core\n"
        "names = [i.name for i in pkgutil.walk_packages(comfy_core.__path__, 'comfy_core.')]\n"
        "for name in names:\n"
        "    importlib.import_module(name)\n"
        "assert 'comfy_core.tracker' in names and 'comfy_core.workflow' in names, names\n"
        f"print(','.join(m for m in {FORBIDDEN!r} if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "", f"comfy_core loaded {done.stdout.strip()}"


def test_the_check_itself_sees_a_forbidden_import() -> None:
    # Guard against a check that cannot fail: the SDK's async client does load them.
    code = (
        "import sys, comfy_api_client.create\n"
        f"print([m for m in {FORBIDDEN!r} if m in sys.modules])"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "httpx" in done.stdout and "asyncio" in done.stdout
