"""A fault-injecting HTTP proxy on loopback, in front of the real ComfyUI server.

Each client connection carries one request (``Connection: close`` is forced
upstream, as in :mod:`tests.proxy`). A request matching a :class:`Fault` rule
gets that fault instead of (or after) being forwarded:

* ``status``: answer with ``status`` (and ``Retry-After`` if set) without forwarding;
* ``reset_before``: drop the connection without forwarding (the server never sees it);
* ``reset_after``: forward, read the server's whole answer, then drop the
  connection (the server acted; the client never learns it).

``require`` (a check of method, target and headers) answers 401 to every
request, WebSocket upgrades included, that fails it: a stand-in for an
authenticating reverse proxy. ``tls`` serves the proxy over TLS.

WebSocket upgrades are piped through untouched, unless a rule for ``GET /ws`` says
otherwise: ``status`` refuses the upgrade, ``reset_before`` drops it, ``close_mid``
closes after half a 101 response, ``hang`` never answers. ``drop_next`` connections
are closed as soon as they are accepted, before a byte is read. ``cut_websockets()``
closes every piped WebSocket. ``log`` records every request
with the upstream status (None when not forwarded), so tests can count what the
server really received.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class Fault:
    method: str
    path: str  # matched as a prefix of the path (without query)
    action: str  # "status", "reset_before" or "reset_after"
    times: int = 1
    status: int = 503
    retry_after: str | None = None


@dataclass
class Seen:
    method: str
    path: str
    body: bytes
    upstream_status: int | None
    fault: str | None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class FaultProxy:
    upstream: tuple[str, int]
    faults: list[Fault] = field(default_factory=list)
    log: list[Seen] = field(default_factory=list)
    require: Callable[[str, str, dict[str, str]], bool] | None = None
    tls: ssl.SSLContext | None = None
    port: int = 0
    _server: asyncio.Server | None = None
    drop_next: int = 0
    _tunnels: set[asyncio.StreamWriter] = field(default_factory=set)

    async def __aenter__(self) -> FaultProxy:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0, ssl=self.tls)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._server.wait_closed(), 2)

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"

    def upstream_prompts(self) -> dict[str, int]:
        """How many times the server accepted (200) a POST /prompt, per prompt_id."""
        counts: dict[str, int] = {}
        for seen in self.log:
            if (
                seen.method == "POST"
                and seen.path.endswith("/prompt")
                and seen.upstream_status == 200
            ):
                prompt_id = json.loads(seen.body)["prompt_id"]
                counts[prompt_id] = counts.get(prompt_id, 0) + 1
        return counts

    def cut_websockets(self) -> None:
        """Close every piped WebSocket (the client sees its connection drop)."""
        for writer in list(self._tunnels):
            writer.close()

    def _fault_for(self, method: str, path: str) -> Fault | None:
        for fault in self.faults:
            if fault.times > 0 and fault.method == method and path.startswith(fault.path):
                fault.times -= 1
                return fault
        return None

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.drop_next > 0:
            self.drop_next -= 1
            self.log.append(Seen("?", "?", b"", None, "dropped"))
            writer.close()
            return
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            request_line, *header_lines = head[:-4].split(b"\r\n")
            method, target, _ = request_line.decode().split(" ", 2)
            headers = {}
            for line in header_lines:
                name, _, value = line.decode().partition(":")
                headers[name.strip().lower()] = value.strip()
            body = await reader.readexactly(int(headers.get("content-length", "0")))
        except (asyncio.IncompleteReadError, ConnectionError, ValueError):
            writer.close()
            return
        path = target.split("?", 1)[0]
        if self.require is not None and not self.require(method, target, headers):
            self.log.append(Seen(method, path, body, None, "refused", headers))
            writer.write(
                b"HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic\r\nContent-Length: 0\r\n"
                b"Connection: close\r\n\r\n"
            )
            await writer.drain()
            writer.close()
            return
        fault = self._fault_for(method, path)
        if "upgrade" in headers:
            if fault is None:
                self.log.append(Seen(method, path, body, 101, None, headers))
                await self._tunnel(head + body, reader, writer)
                return
            if fault.action in ("close_mid", "hang"):
                self.log.append(Seen(method, path, body, None, fault.action, headers))
            if fault.action == "close_mid":
                writer.write(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n")
                await writer.drain()
                writer.close()
                return
            if fault.action == "hang":
                with contextlib.suppress(ConnectionError):
                    await reader.read()  # until the client gives up and closes
                writer.close()
                return
        seen = Seen(method, path, body, None, fault.action if fault else None, headers)
        self.log.append(seen)
        if fault is not None and fault.action == "status":
            extra = f"Retry-After: {fault.retry_after}\r\n" if fault.retry_after else ""
            writer.write(
                f"HTTP/1.1 {fault.status} Injected\r\nContent-Length: 0\r\n{extra}"
                "Connection: close\r\n\r\n".encode()
            )
            await writer.drain()
            writer.close()
            return
        if fault is not None and fault.action == "reset_before":
            writer.transport.abort()
            return
        lines = [h for h in header_lines if not h.lower().startswith(b"connection:")]
        upstream_head = b"\r\n".join([request_line, *lines, b"Connection: close"]) + b"\r\n\r\n"
        up_reader, up_writer = await asyncio.open_connection(*self.upstream)
        up_writer.write(upstream_head + body)
        await up_writer.drain()
        answer = await up_reader.read()  # the server closes after one answer
        up_writer.close()
        with contextlib.suppress(ValueError, IndexError):
            seen.upstream_status = int(answer.split(b" ", 2)[1])
        if fault is not None and fault.action == "reset_after":
            writer.transport.abort()
            return
        writer.write(answer)
        with contextlib.suppress(ConnectionError):
            await writer.drain()
        writer.close()

    async def _tunnel(
        self, first: bytes, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        up_reader, up_writer = await asyncio.open_connection(*self.upstream)
        up_writer.write(first)
        self._tunnels.add(writer)
        try:
            await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))
        finally:
            self._tunnels.discard(writer)


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, asyncio.CancelledError):
        pass
    finally:
        with contextlib.suppress(Exception):
            writer.close()
