"""A fake ComfyUI server that misbehaves on purpose, for tests of what a client must survive.

It speaks just enough HTTP/1.1 and WebSocket for ``create_client`` to start and
for one prompt to go through: ``GET /api/system_stats``, ``GET /ws`` (greets with
a ``status`` message holding the ``sid``), ``POST /api/prompt`` (accepts the
client's ``prompt_id``), ``GET /api/history/{id}``, ``GET /api/queue`` and
``GET /view``. Everything runs on an asyncio loop in a thread of its own, so
sync and async tests use it alike::

    with HostileServer(Scenario(routes={"/view": redirect("http://elsewhere/")})) as server:
        ... server.url ..., server.log

Theory of operation: a :class:`Scenario` is data. ``routes`` maps a path (or a
``"METHOD /path"``, or a path ending in ``*`` as a prefix) to a :data:`Handler`,
an ``async`` callable given the parsed :class:`Seen` request and a
:class:`Reply` to answer on; routes a scenario leaves out keep their well-behaved
default (:data:`DEFAULT_ROUTES`). ``ws`` is the script of the WebSocket once the
upgrade is accepted (default: the greeting, then silence until the client
closes); a ``routes`` entry for ``/ws`` replaces the upgrade itself (to refuse
or redirect it). To add a scenario for a new finding, write a handler (or
compose the helpers below: :func:`json_body`, :func:`redirect`,
:func:`echo_request`, :func:`trickle`, :func:`gzip_bomb`, :func:`zeros`) and
name it in a ``Scenario``: nothing else changes.

Every request is appended to ``log`` (method, target, headers, body), so a test
can check what reached the server, e.g. that a second server a redirect points
to saw nothing at all.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import json
import struct
import threading
import zlib
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

__all__ = [
    "DEFAULT_ROUTES",
    "HostileServer",
    "Reply",
    "Scenario",
    "Seen",
    "echo_request",
    "encoded",
    "greet",
    "greet_then_close_echoing",
    "gzip_bomb",
    "json_body",
    "redirect",
    "trickle",
    "zeros",
]

# A 1x1 PNG: what the default /view serves.
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)
_WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


@dataclass
class Seen:
    """One request as the server read it (header names lower-cased)."""

    method: str
    target: str
    headers: dict[str, str]
    body: bytes = b""

    @property
    def path(self) -> str:
        return urlsplit(self.target).path

    @property
    def query(self) -> dict[str, list[str]]:
        return parse_qs(urlsplit(self.target).query)

    def head_text(self) -> str:
        """The request line and headers as text, the way a server echoes them back."""
        lines = [f"{self.method} {self.target} HTTP/1.1"]
        lines += [f"{k}: {v}" for k, v in self.headers.items()]
        return "\r\n".join(lines)


class Reply:
    """Writes one HTTP response (or a WebSocket session) on the connection."""

    def __init__(self, writer: asyncio.StreamWriter, reader: asyncio.StreamReader) -> None:
        self.writer = writer
        self.reader = reader

    async def head(
        self, status: int, headers: Mapping[str, str] | None = None, reason: str = "X"
    ) -> None:
        lines = [f"HTTP/1.1 {status} {reason}"]
        lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
        await self.writer.drain()

    async def send(
        self,
        status: int,
        body: bytes = b"",
        headers: Mapping[str, str] | None = None,
        content_type: str = "application/json",
    ) -> None:
        """A whole response with a Content-Length."""
        all_headers = {"Content-Type": content_type, "Content-Length": str(len(body))}
        all_headers.update(headers or {})
        await self.head(status, all_headers)
        self.writer.write(body)
        await self.writer.drain()

    async def json(self, payload: Any, status: int = 200) -> None:
        await self.send(status, json.dumps(payload).encode())

    async def body(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    # -- WebSocket ---------------------------------------------------------------

    async def accept_websocket(self, seen: Seen) -> None:
        key = seen.headers.get("sec-websocket-key", "")
        accept = base64.b64encode(hashlib.sha1((key + _WS_GUID).encode()).digest()).decode()
        await self.head(
            101,
            {"Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Accept": accept},
            reason="Switching Protocols",
        )

    async def ws_text(self, text: str) -> None:
        await self.ws_frame(0x1, text.encode())

    async def ws_frame(self, opcode: int, payload: bytes) -> None:
        size = len(payload)
        if size < 126:
            head = struct.pack("!BB", 0x80 | opcode, size)
        elif size < 2**16:
            head = struct.pack("!BBH", 0x80 | opcode, 126, size)
        else:
            head = struct.pack("!BBQ", 0x80 | opcode, 127, size)
        self.writer.write(head + payload)
        await self.writer.drain()

    async def ws_read(self) -> tuple[int, bytes] | None:
        """The client's next frame (opcode, unmasked payload); None at EOF."""
        try:
            first, second = await self.reader.readexactly(2)
            size = second & 0x7F
            if size == 126:
                (size,) = struct.unpack("!H", await self.reader.readexactly(2))
            elif size == 127:
                (size,) = struct.unpack("!Q", await self.reader.readexactly(8))
            mask = await self.reader.readexactly(4) if second & 0x80 else b"\0\0\0\0"
            data = await self.reader.readexactly(size)
        except (asyncio.IncompleteReadError, ConnectionError):
            return None
        return first & 0x0F, bytes(b ^ mask[i % 4] for i, b in enumerate(data))

    async def ws_until_closed(self) -> None:
        """Answer pings and wait for the client's close (or EOF)."""
        while (frame := await self.ws_read()) is not None:
            opcode, payload = frame
            if opcode == 0x9:
                await self.ws_frame(0xA, payload)
            elif opcode == 0x8:
                with contextlib.suppress(ConnectionError):
                    await self.ws_frame(0x8, payload[:2])
                return


Handler = Callable[[Seen, Reply], Awaitable[None]]
WsScript = Callable[[Seen, Reply], Awaitable[None]]


# -- well-behaved defaults ---------------------------------------------------------


async def system_stats(seen: Seen, reply: Reply) -> None:
    await reply.json(
        {
            "system": {"os": "posix", "comfyui_version": "0.3.75", "python_version": "3"},
            "devices": [],
        }
    )


async def post_prompt(seen: Seen, reply: Reply) -> None:
    prompt_id = json.loads(seen.body or b"{}").get("prompt_id") or "00000000"
    await reply.json({"prompt_id": prompt_id, "number": 1, "node_errors": {}})


async def history(seen: Seen, reply: Reply) -> None:
    await reply.json({})


async def queue(seen: Seen, reply: Reply) -> None:
    await reply.json({"queue_running": [], "queue_pending": []})


async def view(seen: Seen, reply: Reply) -> None:
    await reply.send(200, PNG, content_type="image/png")


async def greet(seen: Seen, reply: Reply) -> None:
    """The default WebSocket script: ComfyUI's greeting, then quiet until the client closes."""
    sid = (seen.query.get("clientId") or ["sid"])[0]
    status = {"status": {"exec_info": {"queue_remaining": 0}}, "sid": sid}
    await reply.ws_text(json.dumps({"type": "status", "data": status}))
    await reply.ws_until_closed()


async def greet_then_close_echoing(seen: Seen, reply: Reply) -> None:
    """The greeting and the client's first message (its feature flags), then a close
    frame whose reason echoes the request's credentials."""
    sid = (seen.query.get("clientId") or ["sid"])[0]
    status = {"status": {"exec_info": {"queue_remaining": 0}}, "sid": sid}
    await reply.ws_text(json.dumps({"type": "status", "data": status}))
    await reply.ws_read()
    echoed = [seen.headers.get("authorization", ""), seen.headers.get("x-api-key", "")]
    echoed += seen.query.get("token", [])
    reason = " ".join(e for e in echoed if e).encode()[:120]
    await reply.ws_frame(0x8, struct.pack("!H", 4000) + reason)
    await reply.ws_until_closed()


DEFAULT_ROUTES: dict[str, Handler] = {
    "/api/system_stats": system_stats,
    "POST /api/prompt": post_prompt,
    "/api/history/*": history,
    "/api/queue": queue,
    "/api/view": view,
}


# -- misbehaviours, to compose into scenarios ---------------------------------------


def json_body(payload: Any, status: int = 200) -> Handler:
    async def handler(seen: Seen, reply: Reply) -> None:
        await reply.json(payload, status)

    return handler


def redirect(location: str, status: int = 302) -> Handler:
    """Answer with a redirect to ``location`` (which gets the request's query appended
    when it ends in ``?``: a redirect that carries the credentials along)."""

    async def handler(seen: Seen, reply: Reply) -> None:
        target = location + urlsplit(seen.target).query if location.endswith("?") else location
        await reply.send(status, b"moved", {"Location": target}, content_type="text/plain")

    return handler


def echo_request(status: int = 500) -> Handler:
    """An error whose body is the request as the server saw it (credentials and all),
    as text and as a JSON ``error`` field, the way some proxies and frameworks answer."""

    async def handler(seen: Seen, reply: Reply) -> None:
        text = seen.head_text()
        body = json.dumps({"error": {"message": text, "headers": seen.headers}}).encode()
        await reply.send(status, body, {"X-Echo": seen.target})

    return handler


def trickle(
    body: bytes = b'{"system": {}, "devices": []}',
    every: float = 5.0,
    content_type: str = "application/json",
) -> Handler:
    """Headers at once, then one body byte every ``every`` seconds."""

    async def handler(seen: Seen, reply: Reply) -> None:
        await reply.head(200, {"Content-Type": content_type, "Content-Length": str(len(body))})
        for i in range(len(body)):
            await reply.body(body[i : i + 1])
            await asyncio.sleep(every)

    return handler


def encoded(body: bytes, encoding: str = "gzip", content_type: str = "image/png") -> Handler:
    """``body`` compressed with ``encoding`` (gzip or deflate), whatever was asked for."""
    wbits = 31 if encoding == "gzip" else 15
    compressor = zlib.compressobj(6, zlib.DEFLATED, wbits)
    packed = compressor.compress(body) + compressor.flush()

    async def handler(seen: Seen, reply: Reply) -> None:
        await reply.send(200, packed, {"Content-Encoding": encoding}, content_type=content_type)

    return handler


def gzip_bomb(inflated: int = 300 * 2**20, encoding: str = "gzip") -> Handler:
    """A body of ``inflated`` zero bytes, sent compressed (about 1/1000 the size) with
    ``Content-Encoding`` set, whatever the request's Accept-Encoding asked for."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31 if encoding == "gzip" else 15)
    chunk = bytes(2**20)
    parts = [compressor.compress(chunk) for _ in range(inflated // len(chunk))]
    parts.append(compressor.compress(bytes(inflated % len(chunk))))
    parts.append(compressor.flush())
    packed = b"".join(parts)

    async def handler(seen: Seen, reply: Reply) -> None:
        await reply.send(200, packed, {"Content-Encoding": encoding}, content_type="image/png")

    return handler


def zeros(size: int, chunk: int = 2**20, content_type: str = "image/png") -> Handler:
    """``size`` zero bytes with a Content-Length, streamed (never held in memory)."""

    async def handler(seen: Seen, reply: Reply) -> None:
        await reply.head(200, {"Content-Type": content_type, "Content-Length": str(size)})
        block = bytes(chunk)
        left = size
        while left > 0:
            await reply.body(block[: min(left, chunk)])
            left -= chunk

    return handler


# -- the server ---------------------------------------------------------------------


@dataclass
class Scenario:
    """How each route misbehaves (see the module docstring)."""

    routes: Mapping[str, Handler] = field(default_factory=dict)
    ws: WsScript = greet

    def handler_for(self, seen: Seen) -> Handler | None:
        table = {**DEFAULT_ROUTES, **self.routes}
        for key in (f"{seen.method} {seen.path}", seen.path):
            if key in table:
                return table[key]
        for key, handler in table.items():
            pattern = key.split(" ", 1)[-1]
            method = key.split(" ", 1)[0] if " " in key else seen.method
            prefix = pattern.endswith("*") and seen.path.startswith(pattern[:-1])
            if prefix and method == seen.method:
                return handler
        return None


class HostileServer:
    """Serves ``scenario`` on a free loopback port while the ``with`` block runs."""

    def __init__(self, scenario: Scenario | None = None) -> None:
        self.scenario = scenario or Scenario()
        self.log: list[Seen] = []
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.AbstractServer | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> HostileServer:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(10)
        return self

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self._stop(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()

    async def _start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _stop(self) -> None:
        assert self._server is not None
        self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            while await self._one(reader, writer):
                pass
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.CancelledError):
            pass
        finally:
            self._tasks.discard(task)
            writer.close()

    async def _one(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        """Serve one request; False when the connection is done."""
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError:
            return False
        request_line, *lines = head.decode("latin-1").split("\r\n")
        method, target, _ = request_line.split(" ", 2)
        headers = {}
        for line in lines:
            if ":" in line:
                name, value = line.split(":", 1)
                headers[name.strip().lower()] = value.strip()
        body = await reader.readexactly(int(headers.get("content-length", "0")))
        seen = Seen(method=method, target=target, headers=headers, body=body)
        self.log.append(seen)
        reply = Reply(writer, reader)
        handler = self.scenario.handler_for(seen)
        if seen.path.endswith("/ws") and handler is None:
            await reply.accept_websocket(seen)
            await self.scenario.ws(seen, reply)
            return False
        if handler is None:
            await reply.send(404, b"404: Not Found", content_type="text/plain")
        else:
            await handler(seen, reply)
        return headers.get("connection", "").lower() != "close"
