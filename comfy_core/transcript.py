"""Transcripts: a recorded client session as JSON Lines, and reading one back.

Format version 1 (docs/transcripts.md has the full description):

* line 1, ``{"kind": "header", "format": "comfy-transcript", "version": 1,
  "server_version": ..., "client_version": ..., "created": ...}``;
* ``{"kind": "http", "t": s, "request": {...}, "response": {...}}`` per exchange,
  ``t`` being when the request was sent; bodies as ``json``, ``text`` or ``b64``;
* ``{"kind": "ws_open", "t": s, "client_id": ...}``, ``ws_send`` and ``ws_recv``
  (``text``, or ``b64`` for binary frames) and ``ws_close``, per socket ``ws``.

Times are seconds from the start of the session. Credentials are redacted when
recorded. :func:`replay_frames` feeds a transcript's frames straight into a
:class:`~comfy_core.tracker.PromptTracker`, for unit tests with no transport.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from comfy_core.errors import LocalProtocolError
from comfy_core.events import Event
from comfy_core.http import Request, Response
from comfy_core.redact import redact_headers, redact_params
from comfy_core.tracker import PromptTracker

__all__ = [
    "FORMAT",
    "VERSION",
    "Record",
    "body_fields",
    "decode_body",
    "load",
    "replay_frames",
    "request_record",
    "response_record",
]

FORMAT = "comfy-transcript"
VERSION = 1


@dataclass(frozen=True, slots=True)
class Record:
    """One line of a transcript: its ``kind``, time ``t`` and the rest as ``data``."""

    kind: str
    t: float
    data: Mapping[str, Any] = field(default_factory=dict)


def body_fields(body: bytes, content_type: str | None) -> dict[str, Any]:
    """A body as transcript fields: ``json`` when it is JSON, else ``text`` or ``b64``."""
    if not body:
        return {}
    if content_type is None or "json" in content_type or "text" in content_type:
        try:
            return {"json": json.loads(body)}
        except (ValueError, UnicodeDecodeError):
            pass
        try:
            return {"text": body.decode("utf-8")}
        except UnicodeDecodeError:
            pass
    return {"b64": base64.b64encode(body).decode()}


def decode_body(fields: Mapping[str, Any]) -> bytes:
    """The bytes of a body written by :func:`body_fields`."""
    if "json" in fields:
        return json.dumps(fields["json"], separators=(",", ":"), ensure_ascii=False).encode()
    if "text" in fields:
        return str(fields["text"]).encode()
    if "b64" in fields:
        return base64.b64decode(fields["b64"])
    return b""


def request_record(request: Request) -> dict[str, Any]:
    headers = dict(request.headers)
    content_type = next((v for k, v in headers.items() if k.lower() == "content-type"), None)
    return {
        "method": request.method,
        "path": request.path,
        "params": [list(p) for p in redact_params(request.params)],
        "headers": [list(h) for h in redact_headers(request.headers)],
        **body_fields(request.body, content_type),
    }


def response_record(response: Response) -> dict[str, Any]:
    kept = [(k, v) for k, v in response.headers if k.lower() in ("content-type", "retry-after")]
    return {
        "status": response.status,
        "headers": [list(h) for h in redact_headers(kept)],
        **body_fields(response.body, response.header("content-type")),
    }


def load(source: str | Path | Iterable[str]) -> tuple[dict[str, Any], list[Record]]:
    """Read a transcript (a path or its lines): the header and the records in time order."""
    lines: Iterable[str] = (
        Path(source).read_text().splitlines() if isinstance(source, (str, Path)) else source
    )
    rows = [json.loads(line) for line in lines if line.strip()]
    if not rows or rows[0].get("kind") != "header" or rows[0].get("format") != FORMAT:
        raise LocalProtocolError("not a comfy transcript: the first line must be its header")
    header = rows[0]
    if header.get("version") != VERSION:
        raise LocalProtocolError(f"transcript version {header.get('version')} is not {VERSION}")
    records = [Record(kind=str(r["kind"]), t=float(r.get("t", 0.0)), data=r) for r in rows[1:]]
    # Stable: records of one instant keep their written order.
    return header, sorted(records, key=lambda r: r.t)


def frames(records: Iterable[Record], ws: str | None = None) -> Iterator[str | bytes]:
    """The messages the server sent on socket ``ws`` (the first socket when None)."""
    for record in records:
        if record.kind == "ws_open" and ws is None:
            ws = str(record.data.get("ws"))
        if record.kind == "ws_recv" and (ws is None or record.data.get("ws") == ws):
            if "b64" in record.data:
                yield base64.b64decode(record.data["b64"])
            else:
                yield str(record.data["text"])


def replay_frames(
    records: Iterable[Record], tracker: PromptTracker, ws: str | None = None
) -> list[Event]:
    """Feed the frames of one socket into ``tracker`` and return every event it gives."""
    events: list[Event] = []
    for message in frames(records, ws):
        if isinstance(message, str):
            tracker.receive_text(message)
        else:
            tracker.receive_binary(message)
        while (event := tracker.next_event()) is not None:
            events.append(event)
    return events
