"""The recorder plugin: write a client session to a transcript (docs/transcripts.md).

    create_client(url, record="session.jsonl")       # or plugins=[Recorder(path)]
    COMFY_API_CLIENT_RECORD=session.jsonl python app.py

Every HTTP exchange (timed from when it was sent) and every WebSocket frame is
kept, credentials redacted, and the file is written when the client closes
(or on :meth:`Recorder.save`). Replay it with ``comfy_transports.replay``.
"""

from __future__ import annotations

import base64
import contextlib
import datetime
import json
import os
import threading
import time
from pathlib import Path
from typing import Any

from comfy_api_client.hookspecs import hookimpl
from comfy_core.http import Request, Response
from comfy_core.transcript import FORMAT, VERSION, request_record, response_record

__all__ = ["RECORD_ENV", "Recorder"]

RECORD_ENV = "COMFY_API_CLIENT_RECORD"


class Recorder:
    """Collects one session's traffic and writes it to ``path`` as a transcript."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.records: list[dict[str, Any]] = []
        self.server_version: str | None = None
        self._start = time.monotonic()
        self._sockets: dict[str, str] = {}  # client id -> socket label
        self._lock = threading.Lock()  # the sync client records from several threads

    def __repr__(self) -> str:
        return f"Recorder({str(self.path)!r}, records={len(self.records)})"

    def _now(self) -> float:
        return round(time.monotonic() - self._start, 6)

    def _add(self, record: dict[str, Any]) -> None:
        with self._lock:
            self.records.append(record)

    @hookimpl
    def comfy_response_received(self, request: Request, response: Response, elapsed: float) -> None:
        if request.path.endswith("/system_stats") and response.status == 200:
            with contextlib.suppress(ValueError, KeyError, TypeError):
                self.server_version = json.loads(response.body)["system"]["comfyui_version"]
        self._add({
            "kind": "http",
            "t": round(self._now() - elapsed, 6),
            "request": request_record(request),
            "response": response_record(response),
        })  # fmt: skip

    @hookimpl
    def comfy_websocket_opened(self, client_id: str) -> None:
        with self._lock:
            label = self._sockets.setdefault(client_id, f"ws{len(self._sockets)}")
        self._add({"kind": "ws_open", "t": self._now(), "ws": label, "client_id": client_id})

    @hookimpl
    def comfy_websocket_message(self, client_id: str, message: str | bytes, sent: bool) -> None:
        record: dict[str, Any] = {
            "kind": "ws_send" if sent else "ws_recv",
            "t": self._now(),
            "ws": self._sockets.get(client_id, "ws?"),
        }
        if isinstance(message, str):
            record["text"] = message
        else:
            record["b64"] = base64.b64encode(message).decode()
        self._add(record)

    @hookimpl
    def comfy_websocket_closed(self, client_id: str) -> None:
        self._add({"kind": "ws_close", "t": self._now(), "ws": self._sockets.get(client_id, "ws?")})

    @hookimpl
    def comfy_client_closed(self) -> None:
        self.save()

    def save(self) -> Path:
        """Write the transcript now (header first, then the records); returns its path."""
        from comfy_api_client import __version__

        header = {
            "kind": "header",
            "format": FORMAT,
            "version": VERSION,
            "server_version": self.server_version,
            "client_version": __version__,
            "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        }
        with self._lock:
            lines = [json.dumps(r, ensure_ascii=False) for r in (header, *self.records)]
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text("\n".join(lines) + "\n")
        return self.path
