"""The managed local server's record in the user cache: its PID, port and run folder."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from comfy_api_client.local_server import cache_root

__all__ = ["STATE_ENV", "clear", "record", "record_path", "running_server"]


STATE_ENV = "COMFY_API_CLIENT_SERVER_STATE"


def record_path() -> Path:
    """The record: in the user cache, or the file ``COMFY_API_CLIENT_SERVER_STATE`` names."""
    override = os.environ.get(STATE_ENV)
    return Path(override) if override else cache_root() / "server.json"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def running_server() -> dict[str, Any] | None:
    """The record of the managed server if its process is alive, else None."""
    try:
        data = json.loads(record_path().read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("pid"), int):
        return None
    return data if _alive(data["pid"]) else None


def record(pid: int, url: str, run_dir: str) -> None:
    path = record_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"pid": pid, "url": url, "run_dir": run_dir}))
    tmp.replace(path)


def clear() -> None:
    record_path().unlink(missing_ok=True)
