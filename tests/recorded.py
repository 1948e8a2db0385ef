"""Read the recorded ComfyUI 0.3.75 sessions in tests/recordings/ (see its README.md).

Each file is JSON Lines, one record per observed thing: ``ws_text``,
``ws_binary`` (whole frame in ``b64``), ``http`` (request and parsed answer)
and a few others. These helpers give tests the frames and bodies exactly as
the server sent them.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from comfy_core.http import Request, Response

RECORDINGS = Path(__file__).parent / "recordings" / "comfyui-0.3.75"


def load(name: str, version: str = "0.3.75") -> list[dict[str, Any]]:
    """Every record of ``name`` (with or without ``.jsonl``) of that server version,
    in file order."""
    folder = RECORDINGS.parent / f"comfyui-{version}"
    path = folder / (name if name.endswith(".jsonl") else f"{name}.jsonl")
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def ws_messages(name: str, ws: str | None = None) -> list[str | bytes]:
    """The server's WebSocket messages in order: text re-encoded as JSON, binary as bytes.

    ``ws`` picks one socket label; None takes the first socket of the file.
    """
    records = load(name)
    if ws is None:
        ws = next(r["ws"] for r in records if r["kind"] == "ws_open")
    out: list[str | bytes] = []
    for record in records:
        if record.get("ws") != ws:
            continue
        if record["kind"] == "ws_text":
            out.append(json.dumps(record["data"]))
        elif record["kind"] == "ws_binary":
            out.append(base64.b64decode(record["b64"]))
    return out


def http_records(
    name: str, method: str | None = None, path_prefix: str = ""
) -> Iterator[dict[str, Any]]:
    """The ``http`` records of ``name``, optionally filtered by method and path prefix."""
    for record in load(name):
        if record["kind"] != "http":
            continue
        if method is not None and record["method"] != method:
            continue
        if record["path"].startswith(path_prefix):
            yield record


def as_exchange(record: dict[str, Any]) -> tuple[Request, Response]:
    """A recorded HTTP record as the core's Request and Response."""
    request = Request(
        method=record["method"],
        path=record["path"],
        params=tuple((record.get("params") or {}).items()),
    )
    if "json" in record:
        body = json.dumps(record["json"]).encode()
    elif "text" in record:
        body = record["text"].encode()
    else:
        body = b""
    headers = tuple((record.get("resp_headers") or {}).items())
    return request, Response(status=record["status"], headers=headers, body=body)


def prompt_ids(name: str) -> list[str]:
    """The prompt ids of the file's accepted ``POST /prompt`` answers, in order."""
    return [
        r["json"]["prompt_id"] for r in http_records(name, "POST", "/prompt") if r["status"] == 200
    ]
