"""Ctrl-C and the live display, as a person at a terminal meets them."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from comfy_api_client.sync import create_client
from tests.cli.conftest import noise_ui, write
from tests.terminal import on_terminal
from tests.workflows import slow


def _environ(comfy_url: str, tmp_path: Path) -> dict[str, str]:
    return {**os.environ, "COMFYUI_URL": comfy_url, "COLUMNS": "120", "LINES": "30",
            "TERM": "xterm-256color",
            "COMFY_API_CLIENT_SERVER_STATE": str(tmp_path / "state.json")}  # fmt: skip


def test_ctrl_c_cancels_what_the_run_queued_and_exits_130(
    comfy_url: str, tmp_path: Path, fresh_color: int
) -> None:
    path = write(tmp_path / "slow.json", slow(fresh_color, blurs=4))
    proc = subprocess.Popen(
        [sys.executable, "-m", "comfy_api_client", "run", str(path), "--count", "3", "--json"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path,
        env=_environ(comfy_url, tmp_path),
    )  # fmt: skip
    assert proc.stdout is not None
    ours, running = [], False
    for line in proc.stdout:
        event = json.loads(line)
        if event["event"] == "queued":
            ours.append(event["prompt_id"])
        running = running or event["event"] == "node"
        if running and len(ours) == 3:  # all queued, the first one running
            break
    assert len(ours) == 3
    proc.send_signal(signal.SIGINT)
    sent = time.monotonic()
    code = proc.wait(30)
    took = time.monotonic() - sent
    assert code == 130, proc.stderr.read() if proc.stderr else ""
    assert took < 2.0, f"exited {took:.1f} s after Ctrl-C"
    with create_client(comfy_url, start_state_tracker=None) as client:
        deadline = time.monotonic() + 30
        while True:  # the interrupt lands when the running node ends
            queue = client.get_queue()
            left = {e.prompt_id for e in (*queue.running, *queue.pending)} & set(ours)
            if not left or time.monotonic() > deadline:
                break
            time.sleep(0.2)
    assert not left, f"our prompts still on the server: {left}"


def test_the_live_display_on_a_terminal(comfy_url: str, tmp_path: Path, fresh_color: int) -> None:
    path = write(tmp_path / "noise.json", noise_ui(fresh_color, seed=9))
    argv = [sys.executable, "-m", "comfy_api_client", "run", str(path), "--count", "2"]
    code, text = on_terminal(argv, _environ(comfy_url, tmp_path), cwd=tmp_path)
    assert code == 0
    assert "#1" in text and "#2" in text  # one line per prompt
    assert text.count("done") >= 2
    assert "2/2 done" in text  # the overall bar's count
    assert "━" in text  # the bar itself
    assert "dimensions" in text and "16x16" in text  # the table of saved files
