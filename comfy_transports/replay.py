"""ReplayTransport: play a recorded transcript back to the async or sync client.

    transport = ReplayTransport("tests/transcripts/success.jsonl")
    async with create_client("http://replay", transport=transport) as client: ...

Requests are matched to the transcript by method, path, query and a
normalised body. The ids the client mints (``prompt_id``, ``client_id``)
differ from run to run: the first time one appears it is paired with the
recorded one, and from then on recorded ids are swapped for the live ones in
responses and frames (and back in requests). GET requests take the next
unused matching exchange (the last one again once all are used, so polling
may run faster or slower than recorded); any other request must match an
unused exchange, or :class:`ReplayMismatch` is raised at once with a diff of
what was expected and what came.

WebSocket frames are delivered in recorded order, each only after the
state-changing requests recorded before it were made. ``keep_timing`` waits
out the recorded gaps; by default they collapse.
"""

from __future__ import annotations

import asyncio
import base64
import difflib
import json
import re
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from comfy_core.errors import ComfyError, WebSocketClosed
from comfy_core.http import Request, Response
from comfy_core.transcript import Record, decode_body, load

__all__ = ["ReplayMismatch", "ReplayTransport", "SyncReplayTransport"]

_BOUNDARY = re.compile(r"boundary=([^;\s]+)")
_SAFE = frozenset({"GET", "HEAD", "OPTIONS"})


class ReplayMismatch(ComfyError, AssertionError):
    """A request the transcript does not expect (the message holds a diff)."""


def _show(method: str, path: str, params: Iterable[Any], body: Any) -> str:
    shown = {"method": method, "path": path, "params": [list(p) for p in params], "body": body}
    return json.dumps(shown, indent=1, sort_keys=True, default=str)


class _Exchange:
    def __init__(self, index: int, record: Record) -> None:
        self.index = index
        self.t = record.t
        self.request = record.data["request"]
        self.response = record.data["response"]
        self.used = False


class _Socket:
    """One recorded socket: its frames, and the exchanges each must wait for."""

    def __init__(self, label: str, client_id: str) -> None:
        self.label = label
        self.client_id = client_id
        self.frames: list[tuple[float, str | bytes, int]] = []  # (t, frame, gate index)
        self.taken = False


class _Replay:
    """What both replay transports share: the transcript, the matching, the ids."""

    def __init__(
        self, transcript: str | Path | Iterable[str], *, keep_timing: bool = False
    ) -> None:
        self.header, records = load(transcript)
        self.keep_timing = keep_timing
        self.exchanges: list[_Exchange] = []
        self.sockets: list[_Socket] = []
        self.mismatches: list[str] = []
        self._ids: dict[str, str] = {}  # recorded id -> live id
        self._lock = threading.Condition()
        self._start = time.monotonic()
        sockets: dict[str, _Socket] = {}
        for record in records:
            if record.kind == "http":
                self.exchanges.append(_Exchange(len(self.exchanges), record))
            elif record.kind == "ws_open":
                sock = _Socket(str(record.data["ws"]), str(record.data["client_id"]))
                sockets[sock.label] = sock
                self.sockets.append(sock)
            elif record.kind == "ws_recv" and record.data.get("ws") in sockets:
                frame: str | bytes = (
                    base64.b64decode(record.data["b64"])
                    if "b64" in record.data
                    else str(record.data["text"])
                )
                # Deliver only once every state-changing request recorded before it was made.
                gate = max(
                    (e.index + 1 for e in self.exchanges if e.request["method"] not in _SAFE),
                    default=0,
                )
                sockets[str(record.data["ws"])].frames.append((record.t, frame, gate))

    def __repr__(self) -> str:
        kind = type(self).__name__
        return f"{kind}({len(self.exchanges)} exchanges, {len(self.sockets)} sockets)"

    # -- ids ------------------------------------------------------------------------

    def _to_live(self, text: str) -> str:
        for recorded, live in self._ids.items():
            text = text.replace(recorded, live)
        return text

    def _to_recorded(self, text: str) -> str:
        for recorded, live in self._ids.items():
            text = text.replace(live, recorded)
        return text

    def _pair(self, recorded: Any, live: Any) -> None:
        if isinstance(recorded, str) and isinstance(live, str) and recorded != live:
            self._ids.setdefault(recorded, live)

    # -- requests -------------------------------------------------------------------

    def _normal_body(self, request: dict[str, Any] | Request) -> Any:
        if isinstance(request, Request):  # a live request: its minted ids become the recorded ones
            content_type = next((v for k, v in request.headers if k.lower() == "content-type"), "")
            raw = self._to_recorded(request.body.decode("latin-1")).encode("latin-1")
        else:
            content_type = next(
                (v for k, v in request.get("headers", []) if k.lower() == "content-type"), ""
            )
            raw = decode_body(request)
        match = _BOUNDARY.search(content_type)
        if match:  # multipart boundaries are random: compare without them
            raw = raw.replace(match.group(1).encode(), b"BOUNDARY")
        try:
            body = json.loads(raw) if raw else None
        except (ValueError, UnicodeDecodeError):
            return base64.b64encode(raw).decode()
        if isinstance(body, dict):  # minted ids are compared apart
            body = {k: v for k, v in body.items() if k not in ("prompt_id", "client_id")}
        return body

    def _key(self, method: str, path: str, params: Iterable[Any], body: Any) -> str:
        return _show(method, path, sorted(tuple(p) for p in params), body)

    def _find(self, request: Request) -> _Exchange:
        path = self._to_recorded(request.path)
        params = [(k, self._to_recorded(v)) for k, v in request.params]
        wanted = self._key(request.method, path, params, self._normal_body(request))
        candidates = [
            e for e in self.exchanges
            if e.request["method"] == request.method and e.request["path"] == path
        ]  # fmt: skip
        matching = [
            e for e in candidates
            if self._key(e.request["method"], e.request["path"], e.request.get("params", []),
                         self._normal_body(e.request)) == wanted
        ]  # fmt: skip
        unused = [e for e in matching if not e.used]
        # Skip reads recorded before the last state change made so far: they were the
        # recorded client's own (polls, checks) and would answer with an older state.
        position = max((e.t for e in self.exchanges if e.used and e.request["method"] not in _SAFE),
                       default=0.0)  # fmt: skip
        current = [e for e in unused if e.t >= position] or unused
        if current:
            return current[0]
        if matching and request.method in _SAFE:
            return matching[-1]  # polling beyond the recording: the last state again
        expected = next((e for e in self.exchanges if not e.used), None)
        shown = "(nothing: the transcript is used up)" if expected is None else self._key(
            expected.request["method"], expected.request["path"],
            expected.request.get("params", []), self._normal_body(expected.request),
        )  # fmt: skip
        diff = "\n".join(difflib.unified_diff(
            shown.splitlines(), wanted.splitlines(), "expected", "actual", lineterm=""
        ))  # fmt: skip
        message = f"the transcript does not expect {request.method} {request.path}:\n{diff}"
        self.mismatches.append(message)
        raise ReplayMismatch(message)

    def _answer(self, request: Request) -> tuple[Response, float]:
        with self._lock:
            exchange = self._find(request)
            if request.body and request.path.endswith("/prompt") and request.method == "POST":
                try:
                    live, recorded = json.loads(request.body), exchange.request.get("json", {})
                except ValueError:
                    live, recorded = {}, {}
                for key in ("prompt_id", "client_id"):
                    self._pair(recorded.get(key), live.get(key))
            exchange.used = True
            self._lock.notify_all()
            response = exchange.response
            body = self._to_live(decode_body(response).decode("latin-1")).encode("latin-1")
            answer = Response(
                status=int(response["status"]),
                headers=tuple((str(k).lower(), str(v)) for k, v in response.get("headers", [])),
                body=body,
            )
            return answer, exchange.t

    def _delay_until(self, t: float) -> float:
        return max(0.0, t - (time.monotonic() - self._start)) if self.keep_timing else 0.0

    async def handle_async_request(self, request: Request) -> Response:
        response, t = self._answer(request)
        await asyncio.sleep(self._delay_until(t))
        return response

    def handle_request(self, request: Request) -> Response:
        response, t = self._answer(request)
        time.sleep(self._delay_until(t))
        return response

    async def stream_async_request(
        self, request: Request, write: Callable[[bytes], object]
    ) -> Response:
        response = await self.handle_async_request(request)
        return self._stream(response, write)

    def stream_request(self, request: Request, write: Callable[[bytes], object]) -> Response:
        return self._stream(self.handle_request(request), write)

    @staticmethod
    def _stream(response: Response, write: Callable[[bytes], object]) -> Response:
        if response.status >= 400:
            return response
        write(response.body)
        return Response(status=response.status, headers=response.headers, body=b"")

    # -- WebSockets -----------------------------------------------------------------

    def _open(self, client_id: str, kind: type[_ReplaySocket]) -> _ReplaySocket:
        with self._lock:
            opened = sum(1 for s in self.sockets if s.taken)
            if opened >= len(self.sockets):
                message = "the transcript has no further WebSocket to open"
                self.mismatches.append(message)
                raise ReplayMismatch(message)
            sock = self.sockets[opened]
            sock.taken = True
            self._pair(sock.client_id, client_id)
        return kind(self, sock)

    def _ready(self, gate: int) -> bool:
        return all(e.used for e in self.exchanges[:gate] if e.request["method"] not in _SAFE)


class ReplayTransport(_Replay):
    """The async client's replay transport (an ``AsyncTransport``); see the module doc."""

    async def connect_websocket(self, client_id: str) -> _ReplaySocket:
        return self._open(client_id, _ReplaySocket)

    async def aclose(self) -> None:
        pass


class SyncReplayTransport(_Replay):
    """The sync client's replay transport (a ``SyncTransport``); see the module doc."""

    def connect_websocket(self, client_id: str) -> _SyncReplaySocket:
        sock = self._open(client_id, _SyncReplaySocket)
        assert isinstance(sock, _SyncReplaySocket)
        return sock

    def close(self) -> None:
        pass


class _ReplaySocket:
    """Both the async and the sync WebSocket interface over one recorded socket."""

    def __init__(self, transport: _Replay, sock: _Socket) -> None:
        self._transport = transport
        self._frames = list(sock.frames)
        self._closed = threading.Event()

    def _next(self) -> str | bytes | None:
        """The next frame if its gate is open, None if it must wait."""
        if self._closed.is_set():
            raise WebSocketClosed("WebSocket closed")
        if not self._frames:
            return None
        t, frame, gate = self._frames[0]
        with self._transport._lock:
            if not self._transport._ready(gate):
                return None
        if self._transport._delay_until(t) > 0:
            return None
        self._frames.pop(0)
        if isinstance(frame, str):
            return self._transport._to_live(frame)
        return _live_binary(self._transport, frame)

    async def send_text(self, text: str) -> None:
        if self._closed.is_set():
            raise WebSocketClosed("WebSocket closed")

    async def receive(self) -> str | bytes:  # the async interface
        while True:
            message = self._next()
            if message is not None:
                return message
            await asyncio.sleep(0.002)

    async def aclose(self) -> None:
        self._closed.set()

    def close(self) -> None:
        self._closed.set()


class _SyncReplaySocket(_ReplaySocket):
    def send_text(self, text: str) -> None:  # type: ignore[override]
        if self._closed.is_set():
            raise WebSocketClosed("WebSocket closed")

    def receive(self, timeout: float | None = None) -> str | bytes | None:  # type: ignore[override]
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            message = self._next()
            if message is not None:
                return message
            if deadline is not None and time.monotonic() >= deadline:
                return None
            time.sleep(0.002)


def _live_binary(transport: _Replay, frame: bytes) -> bytes:
    """A type-4 preview frame with its metadata's recorded ids swapped for live ones."""
    if len(frame) < 8 or int.from_bytes(frame[:4], "big") != 4:
        return frame
    size = int.from_bytes(frame[4:8], "big")
    meta = transport._to_live(frame[8 : 8 + size].decode("utf-8")).encode()
    return frame[:4] + len(meta).to_bytes(4, "big") + meta + frame[8 + size :]
