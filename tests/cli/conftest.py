"""Run the command line as a user does: a subprocess against the real server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

Cli = Callable[..., subprocess.CompletedProcess[str]]


def node(node_id: int, kind: str, values: list[Any], title: str | None = None) -> dict[str, Any]:
    """One node of a UI workflow chain: its input is the previous node's IMAGE."""
    entry: dict[str, Any] = {
        "id": node_id, "type": kind, "pos": [0, 0], "size": [200, 100], "flags": {},
        "order": node_id - 1, "mode": 0, "inputs": [], "outputs": [], "properties": {},
        "widgets_values": values,
    }  # fmt: skip
    if title:
        entry["title"] = title
    if node_id > 1:
        name = "images" if kind in ("SaveImage", "PreviewImage") else "image"
        entry["inputs"] = [{"name": name, "type": "IMAGE", "link": node_id - 1}]
    if kind not in ("SaveImage", "PreviewImage"):
        entry["outputs"] = [{"name": "IMAGE", "type": "IMAGE", "links": [node_id]}]
    return entry


def noise_ui(color: int, seed: int = 100, mode: str = "increment") -> dict[str, Any]:
    """Canvas (EmptyImage) -> Noise (ImageAddNoise, its seed under ``mode``) -> SaveImage."""
    nodes = [
        node(1, "EmptyImage", [16, 16, 1, color], "Canvas"),
        node(2, "ImageAddNoise", [seed, mode, 0.5], "Noise"),
        node(3, "SaveImage", ["cli_test"]),
    ]
    links = [[i, i, 0, i + 1, 0, "IMAGE"] for i in (1, 2)]
    return {"last_node_id": 3, "last_link_id": 2, "nodes": nodes, "links": links, "version": 0.4}


def write(path: Path, data: Any) -> Path:
    path.write_text(json.dumps(data))
    return path


@pytest.fixture
def cli(comfy_url: str, tmp_path: Path) -> Cli:
    """``cli(*args)``: the command's completed process (stdout, stderr, returncode)."""

    def call(*args: str, timeout: float = 120, env: dict[str, str] | None = None) -> Any:
        state = str(tmp_path / "state" / "server.json")
        environ = {**os.environ, "COMFYUI_URL": comfy_url, "NO_COLOR": "1", "COLUMNS": "200",
                   "COMFY_API_CLIENT_SERVER_STATE": state}  # fmt: skip
        environ.update(env or {})
        return subprocess.run(
            [sys.executable, "-m", "comfy_api_client", *args],
            capture_output=True, text=True, timeout=timeout, env=environ, cwd=tmp_path,
        )  # fmt: skip

    return call
