"""A fault-injecting TCP proxy on loopback, between the client and the real server.

It forwards bytes both ways and, on command, breaks things the way networks do:

* ``cut()``: close every open connection (FIN) — a dropped WebSocket;
* ``reset()``: abort every open connection (RST);
* ``blackhole()``: keep connections open but forward nothing more, and accept new
  ones that go nowhere — a dead route, with no FIN to tell;
* ``delay(seconds)``: hold each chunk that long;
* ``heal()``: forward normally again (existing blackholed connections stay dead).

Everything runs in the test's event loop, or in a thread of its own with
:class:`ThreadedTCPProxy` for the sync client.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from typing import Any


class TCPProxy:
    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self.port = 0
        self.connections = 0
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._holes: set[asyncio.StreamWriter] = set()
        self._blackholed = False
        self._delay = 0.0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> TCPProxy:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        self.reset()
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2)

    async def __aenter__(self) -> TCPProxy:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def cut(self) -> None:
        for writer in list(self._writers):
            with contextlib.suppress(Exception):
                writer.close()

    def reset(self) -> None:
        for writer in list(self._writers):
            writer.transport.abort()

    def blackhole(self) -> None:
        self._blackholed = True
        self._holes |= self._writers

    def delay(self, seconds: float) -> None:
        self._delay = seconds

    def heal(self) -> None:
        self._blackholed = False
        self._delay = 0.0

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self._writers.add(writer)
        if self._blackholed:
            self._holes.add(writer)
            await reader.read()  # swallow until the client gives up
            self._writers.discard(writer)
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.upstream)
        except OSError:
            writer.close()
            self._writers.discard(writer)
            return
        self._writers.add(up_writer)
        await asyncio.gather(
            self._pipe(reader, up_writer, writer), self._pipe(up_reader, writer, writer)
        )
        self._writers.discard(writer)
        self._writers.discard(up_writer)

    async def _pipe(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        client: asyncio.StreamWriter,
    ) -> None:
        try:
            while data := await reader.read(65536):
                if client in self._holes:
                    continue  # a blackholed connection: bytes vanish, nothing closes
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


class ThreadedTCPProxy:
    """A :class:`TCPProxy` on its own event loop thread, driven from blocking code."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self.proxy = TCPProxy(upstream)
        self._call(self.proxy.start())

    def _call(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(10)

    def _soon(self, fn: Any, *args: Any) -> None:
        async def run() -> None:
            fn(*args)

        self._call(run())

    @property
    def url(self) -> str:
        return self.proxy.url

    def cut(self) -> None:
        self._soon(self.proxy.cut)

    def reset(self) -> None:
        self._soon(self.proxy.reset)

    def blackhole(self) -> None:
        self._soon(self.proxy.blackhole)

    def heal(self) -> None:
        self._soon(self.proxy.heal)

    def close(self) -> None:
        self._call(self.proxy.stop())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        self._loop.close()
