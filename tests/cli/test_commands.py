"""The inspecting and managing commands, each doing its job against the real server."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from pathlib import Path

from comfy_api_client.sync import create_client
from tests.cli.conftest import Cli, noise_ui, write
from tests.workflows import save_image, slow


def test_queue_and_cancel_act_on_our_prompts(
    cli: Cli, comfy_url: str, fresh_colors: Callable[[], int]
) -> None:
    with create_client(comfy_url) as client:
        running = client.submit_workflow(slow(fresh_colors(), blurs=3))
        waiting = client.submit_workflow(slow(fresh_colors(), blurs=1))
        try:
            listed = cli("queue")
            assert listed.returncode == 0
            assert running.prompt_id in listed.stdout and waiting.prompt_id in listed.stdout
            done = cli("cancel", waiting.prompt_id)
            assert done.returncode == 0 and "deleted" in done.stdout
            assert waiting.prompt_id not in [e.prompt_id for e in client.get_queue().pending]
        finally:
            client.cancel(waiting)
            client.cancel(running)
    assert cli("cancel").returncode == 2  # nothing named


def test_history_and_download(cli: Cli, comfy_url: str, tmp_path: Path, fresh_color: int) -> None:
    with create_client(comfy_url) as client:
        result = client.run(save_image(fresh_color, size=8, prefix="cli_dl"), timeout=30)
    listed = cli("history", "--limit", "50")
    assert listed.returncode == 0 and result.prompt_id in listed.stdout
    done = cli("download", result.prompt_id, "--out", "dl")
    assert done.returncode == 0, done.stderr
    (saved,) = (tmp_path / "dl").rglob("*.png")
    assert saved.read_bytes() == result.output_images[0].data


def test_stats_nodes_params_convert_validate(cli: Cli, tmp_path: Path) -> None:
    stats = cli("stats")
    assert stats.returncode == 0 and "ComfyUI 0.3.75" in stats.stdout and "cpu" in stats.stdout
    nodes = cli("nodes", "ImageAddNoise")
    assert nodes.returncode == 0 and "ImageAddNoise" in nodes.stdout and "seed: INT" in nodes.stdout
    ui = write(tmp_path / "noise.json", noise_ui(0x102030, seed=42, mode="randomize"))
    params = cli("params", str(ui))
    assert params.returncode == 0, params.stderr
    assert "Noise.seed" in params.stdout and "randomize" in params.stdout
    assert "Canvas.color" in params.stdout and "INT in 0..16777215" in params.stdout
    converted = cli("convert", str(ui), "-o", "api.json")
    assert converted.returncode == 0, converted.stderr
    api = json.loads((tmp_path / "api.json").read_text())
    assert api["2"]["class_type"] == "ImageAddNoise" and api["2"]["inputs"]["seed"] == 42
    assert api["2"]["_meta"]["title"] == "Noise"
    valid = cli("validate", str(tmp_path / "api.json"))
    assert valid.returncode == 0 and "valid" in valid.stdout


def test_server_start_status_stop_leave_no_process(cli: Cli, tmp_path: Path) -> None:
    env = {"COMFYUI_URL": ""}  # the managed server, not the session's
    assert cli("server", "status", env=env).returncode == 1
    started = cli("server", "start", env=env, timeout=300)
    assert started.returncode == 0, started.stderr
    record = json.loads((tmp_path / "state" / "server.json").read_text())
    pid = record["pid"]
    try:
        status = cli("server", "status", env=env)
        assert status.returncode == 0 and record["url"] in status.stdout
        stats = cli("stats", env=env)  # uses the managed server
        assert stats.returncode == 0 and "0.3.75" in stats.stdout
        assert "already running" in cli("server", "start", env=env).stdout
    finally:
        stopped = cli("server", "stop", env=env, timeout=60)
    assert stopped.returncode == 0 and "stopped" in stopped.stdout
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and _alive(pid):
        time.sleep(0.1)
    assert not _alive(pid)
    assert not (tmp_path / "state" / "server.json").exists()
    assert not (tmp_path / "state" / "server-run").exists()
    assert cli("server", "status", env=env).returncode == 1


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True
