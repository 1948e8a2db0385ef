"""comfy_transports: the I/O adapters behind the SDK's transport interfaces.

| name | class | kind | HTTP | WebSocket |
|---|---|---|---|---|
| ``"httpx"`` | ``HttpxTransport`` | async (default) | httpx | websockets (asyncio) |
| ``"requests"`` | ``RequestsTransport`` | sync (default) | requests | websockets (threads) |
| ``"httpx"`` | ``HttpxSyncTransport`` | sync | httpx | websockets (threads) |
| ``"sockets"`` | ``RawSocketTransport`` | sync | h11 on a socket | wsproto on a socket |

Every transport takes the SDK's own Request and returns its own Response, and
maps its library's exceptions to the ``TransportError`` tree.

A transport's module, and the libraries it needs, is imported only when the
transport is asked for: by attribute (``comfy_transports.RequestsTransport``)
or by name (``SYNC_TRANSPORTS["requests"]``). A program that uses requests
never loads httpx or asyncio.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from comfy_transports.base import (
    DEFAULT_MAX_MESSAGE_SIZE,
    AsyncTransport,
    AsyncWebSocket,
    SyncTransport,
    SyncWebSocket,
)

if TYPE_CHECKING:
    from comfy_transports.httpx_sync import HttpxSyncTransport
    from comfy_transports.httpx_websockets import HttpxTransport
    from comfy_transports.raw_sockets import RawSocketTransport
    from comfy_transports.requests_websockets import RequestsTransport

__all__ = [
    "ASYNC_TRANSPORTS",
    "DEFAULT_MAX_MESSAGE_SIZE",
    "SYNC_TRANSPORTS",
    "AsyncTransport",
    "AsyncWebSocket",
    "HttpxSyncTransport",
    "HttpxTransport",
    "RawSocketTransport",
    "RequestsTransport",
    "SyncTransport",
    "SyncWebSocket",
]

# Where each transport class lives, as "module:attribute".
_CLASSES = {
    "HttpxTransport": "comfy_transports.httpx_websockets:HttpxTransport",
    "HttpxSyncTransport": "comfy_transports.httpx_sync:HttpxSyncTransport",
    "RawSocketTransport": "comfy_transports.raw_sockets:RawSocketTransport",
    "RequestsTransport": "comfy_transports.requests_websockets:RequestsTransport",
}

T = TypeVar("T")


def _load(target: str) -> Any:
    module, _, attribute = target.partition(":")
    return getattr(importlib.import_module(module), attribute)


class TransportTable(Mapping[str, T], Generic[T]):
    """Transport classes by name; a class's module is imported on its first lookup.

    Membership, iteration and ``len`` import nothing.
    """

    def __init__(self, targets: Mapping[str, str]) -> None:
        self._targets = dict(targets)

    def __getitem__(self, name: str) -> T:
        value: T = _load(self._targets[name])
        return value

    def __iter__(self) -> Iterator[str]:
        return iter(self._targets)

    def __len__(self) -> int:
        return len(self._targets)

    def __contains__(self, name: object) -> bool:
        return name in self._targets

    def __repr__(self) -> str:
        return f"TransportTable({self._targets!r})"


ASYNC_TRANSPORTS: TransportTable[type[HttpxTransport]] = TransportTable(
    {"httpx": _CLASSES["HttpxTransport"]}
)
SYNC_TRANSPORTS: TransportTable[
    type[RequestsTransport | HttpxSyncTransport | RawSocketTransport]
] = TransportTable(
    {
        "requests": _CLASSES["RequestsTransport"],
        "httpx": _CLASSES["HttpxSyncTransport"],
        "sockets": _CLASSES["RawSocketTransport"],
    }
)


def __getattr__(name: str) -> Any:
    """The transport class ``name``, its module imported on first access (PEP 562)."""
    target = _CLASSES.get(name)
    if target is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = _load(target)
    globals()[name] = value  # later lookups skip this hook
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
