"""Every example script runs against the real server and says what it did."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def run(args: list[str], cwd: Path, timeout: float = 300) -> str:
    done = subprocess.run(
        [sys.executable, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={k: v for k, v in os.environ.items() if k != "COMFYUI_URL"},
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done.stdout


@pytest.mark.parametrize("script", ["readme_websocket.py", "readme_http.py", "readme_manual.py"])
def test_readme_snippets_run(script: str, comfy_url: str, tmp_path: Path) -> None:
    out = run([str(EXAMPLES / script), comfy_url], tmp_path)
    assert "example_" in out and "(256, 256)" in out


def test_raw_loop_drives_the_core(comfy_url: str, tmp_path: Path) -> None:
    out = run([str(EXAMPLES / "raw_loop.py"), comfy_url], tmp_path)
    assert out.startswith("queued ")
    assert "done: ['example_" in out


def test_main_job_with_a_url(comfy_url: str, tmp_path: Path) -> None:
    out = run([str(EXAMPLES / "generate.py"), "--url", comfy_url, "--count", "2"], tmp_path)
    saved = sorted((tmp_path / "out").glob("*.png"))
    assert len(saved) == 2
    assert f"2 image(s) saved in {tmp_path / 'out'}" in out


def test_main_job_starts_its_own_server(comfy_server: object, tmp_path: Path) -> None:
    # comfy_server is requested so that the install is provisioned (and cached) already.
    out = run([str(EXAMPLES / "generate.py"), "--count", "1", "--out", "imgs"], tmp_path)
    assert "local ComfyUI ready at http://127.0.0.1:" in out
    assert len(list((tmp_path / "imgs").glob("*.png"))) == 1
