"""httpcore's sync network backend, bounded by the request's deadline.

Apart from :mod:`comfy_transports.deadline` so that the transports that do not
use httpcore (requests, raw sockets) do not import it.
"""

from __future__ import annotations

from typing import Any

import httpcore

from comfy_transports.deadline import CURRENT

__all__ = ["DeadlineBackend"]


class _DeadlineStream(httpcore.NetworkStream):
    """An httpcore stream whose reads and writes end by the current request's deadline."""

    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    @staticmethod
    def _timeout(timeout: float | None) -> float | None:
        deadline = CURRENT.get()
        if deadline is None:
            return timeout
        if deadline.expired:
            raise httpcore.ReadTimeout("the request's deadline passed")
        return deadline.cap(timeout)

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, self._timeout(timeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, self._timeout(timeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self,
        ssl_context: Any,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        tls = self._inner.start_tls(ssl_context, server_hostname, self._timeout(timeout))
        return _DeadlineStream(tls)

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class DeadlineBackend(httpcore.NetworkBackend):
    """httpcore's sync backend, with every stream bounded by :data:`CURRENT`."""

    def __init__(self, inner: httpcore.NetworkBackend | None = None) -> None:
        self._inner = inner or httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Any = None,
    ) -> httpcore.NetworkStream:
        timeout = _DeadlineStream._timeout(timeout)
        stream = self._inner.connect_tcp(host, port, timeout, local_address, socket_options)
        return _DeadlineStream(stream)

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Any = None
    ) -> httpcore.NetworkStream:
        timeout = _DeadlineStream._timeout(timeout)
        return _DeadlineStream(self._inner.connect_unix_socket(path, timeout, socket_options))

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)
