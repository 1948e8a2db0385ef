"""A small asyncio reverse proxy on loopback, for tests that need something between
the client and the real server.

``PrefixProxy`` serves ComfyUI under a path prefix (``/comfy/...``), as a
reverse proxy in a real deployment does: it strips the prefix from each request
line and forwards the bytes. Requests without the prefix get a 404. Each
connection carries one request (``Connection: close`` is forced, except on
WebSocket upgrades, which are piped both ways until either side closes), so no
HTTP parsing beyond the head is needed. ``seen`` lists every request target.

It injects no fault: for those, :mod:`tests.fault_proxy`.
"""

from __future__ import annotations

import asyncio
import contextlib

from tests.fault_proxy import pipe


class PrefixProxy:
    def __init__(self, upstream_host: str, upstream_port: int, prefix: str) -> None:
        self.upstream = (upstream_host, upstream_port)
        self.prefix = prefix.encode()
        self.seen: list[str] = []
        self._server: asyncio.Server | None = None
        self.port = 0

    async def __aenter__(self) -> PrefixProxy:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._server.wait_closed(), 2)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{self.prefix.decode()}/"

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()
            return
        request_line, *header_lines = head[:-4].split(b"\r\n")
        method, target, version = request_line.split(b" ", 2)
        self.seen.append(target.decode())
        if not target.startswith(self.prefix + b"/"):
            writer.write(
                b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            )
            await writer.drain()
            writer.close()
            return
        upgrade = any(line.lower().startswith(b"upgrade:") for line in header_lines)
        if not upgrade:
            header_lines = [h for h in header_lines if not h.lower().startswith(b"connection:")]
            header_lines.append(b"Connection: close")
        new_head = b"\r\n".join(
            [b" ".join([method, target[len(self.prefix) :], version]), *header_lines]
        )
        up_reader, up_writer = await asyncio.open_connection(*self.upstream)
        up_writer.write(new_head + b"\r\n\r\n")
        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
