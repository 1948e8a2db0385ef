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

Connection-level faults act on every connection the proxy holds, whatever it carries:
``cut()`` closes them all (FIN), ``reset()`` aborts them (RST), ``blackhole()`` keeps
them open but forwards nothing more and swallows new ones (a dead route, no FIN to
tell), ``delay(seconds)`` holds each forwarded chunk, ``heal()`` forwards normally again
(blackholed connections stay dead). With ``raw=True`` the proxy parses nothing and pipes
every connection's bytes both ways as they come, keep-alive included (request rules,
``require`` and ``log`` do not apply): the place for pooled connections that die
silently. :class:`ThreadedProxy` runs a proxy on a loop thread of its own for sync tests.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


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
    raw: bool = False
    port: int = 0
    connections: int = 0  # every connection accepted
    _server: asyncio.Server | None = None
    drop_next: int = 0
    _tunnels: set[asyncio.StreamWriter] = field(default_factory=set)
    _open: set[asyncio.StreamWriter] = field(default_factory=set)  # both ends of each
    _holes: set[asyncio.StreamWriter] = field(default_factory=set)
    _blackholed: bool = False
    _delay: float = 0.0

    async def start(self) -> FaultProxy:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0, ssl=self.tls)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        self.reset()
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2)

    async def __aenter__(self) -> FaultProxy:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

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

    def cut(self) -> None:
        """Close every open connection (FIN): a dropped WebSocket, a closed pool."""
        for writer in list(self._open):
            with contextlib.suppress(Exception):
                writer.close()

    def reset(self) -> None:
        """Abort every open connection (RST)."""
        for writer in list(self._open):
            writer.transport.abort()

    def blackhole(self) -> None:
        """Forward nothing more on open connections, and take new ones nowhere."""
        self._blackholed = True
        self._holes |= self._open

    def delay(self, seconds: float) -> None:
        self._delay = seconds

    def heal(self) -> None:
        """New connections work again (blackholed ones stay dead)."""
        self._blackholed = False
        self._delay = 0.0

    def _fault_for(self, method: str, path: str) -> Fault | None:
        for fault in self.faults:
            if fault.times > 0 and fault.method == method and path.startswith(fault.path):
                fault.times -= 1
                return fault
        return None

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        if self.drop_next > 0:
            self.drop_next -= 1
            self.log.append(Seen("?", "?", b"", None, "dropped"))
            writer.close()
            return
        self._open.add(writer)
        try:
            if self._blackholed:
                self._holes.add(writer)
                with contextlib.suppress(ConnectionError, OSError):
                    await reader.read()  # swallow until the client gives up
            elif self.raw:
                await self._tunnel(b"", reader, writer, websocket=False)
            else:
                await self._request(reader, writer)
        finally:
            self._open.discard(writer)

    async def _request(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
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
                await self._tunnel(head + body, reader, writer, websocket=True)
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
        if self._delay:
            await asyncio.sleep(self._delay)
        if writer in self._holes:
            with contextlib.suppress(ConnectionError, OSError):
                await reader.read()  # blackholed meanwhile: the answer vanishes
            return
        writer.write(answer)
        with contextlib.suppress(ConnectionError):
            await writer.drain()
        writer.close()

    async def _tunnel(
        self,
        first: bytes,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        *,
        websocket: bool,
    ) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.upstream)
        except OSError:
            writer.close()
            return
        up_writer.write(first)
        self._open.add(up_writer)
        if websocket:
            self._tunnels.add(writer)
        try:
            await asyncio.gather(
                self._pipe(reader, up_writer, writer), self._pipe(up_reader, writer, writer)
            )
        finally:
            self._tunnels.discard(writer)
            self._open.discard(up_writer)

    async def _pipe(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        client: asyncio.StreamWriter,
    ) -> None:
        """Forward ``reader`` to ``writer`` until either ends; ``client`` names the
        connection, so a blackhole or a delay applies to both of its directions."""
        try:
            while data := await reader.read(65536):
                if client in self._holes:
                    continue  # blackholed: bytes vanish, nothing closes
                if self._delay:
                    await asyncio.sleep(self._delay)
                writer.write(data)
                await writer.drain()
        except (ConnectionError, asyncio.CancelledError, OSError):
            pass
        finally:
            if client not in self._holes:
                with contextlib.suppress(Exception):
                    writer.close()


async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Forward ``reader`` to ``writer`` until either ends, then close ``writer``."""
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, asyncio.CancelledError):
        pass
    finally:
        with contextlib.suppress(Exception):
            writer.close()


class ThreadedProxy:
    """A :class:`FaultProxy` started on an event loop of its own thread, driven from
    blocking code: the controls below run on that loop, and return once they did."""

    def __init__(self, proxy: FaultProxy) -> None:
        self.proxy = proxy
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()
        self._call(proxy.start())

    def _call(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(10)

    def _soon(self, control: Callable[..., None], *args: Any) -> None:
        async def run() -> None:
            control(*args)

        self._call(run())

    @property
    def url(self) -> str:
        return self.proxy.url

    def cut(self) -> None:
        self._soon(self.proxy.cut)

    def cut_websockets(self) -> None:
        self._soon(self.proxy.cut_websockets)

    def reset(self) -> None:
        self._soon(self.proxy.reset)

    def blackhole(self) -> None:
        self._soon(self.proxy.blackhole)

    def delay(self, seconds: float) -> None:
        self._soon(self.proxy.delay, seconds)

    def heal(self) -> None:
        self._soon(self.proxy.heal)

    def close(self) -> None:
        self._call(self.proxy.stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(5)
        self.loop.close()
