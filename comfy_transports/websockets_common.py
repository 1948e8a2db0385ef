"""What the asyncio and threading websockets connections share: the connect options built
from the transport settings, connecting without following redirects, and websockets'
exceptions as the SDK's TransportError tree. Nothing here imports asyncio, so the
blocking transports never load it; the asyncio connector lives with the async transport.

websockets follows a 3xx answer to the upgrade (to another host too, with the custom
headers, ``X-API-Key`` included, and the URL's query). We never do: the upgrade
fails with a ConnectError naming the status and the (redacted) ``Location``.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import websockets
import websockets.sync.client

from comfy_core.errors import ConnectError, TransportTimeout, WebSocketClosed
from comfy_core.redact import redact_url
from comfy_transports.settings import TransportSettings

__all__ = [
    "SyncConnectNoRedirect",
    "closed_error",
    "connect_options",
    "mapped_connect_errors",
]


class SyncConnectNoRedirect(websockets.sync.client.reconnect):
    """websockets' threading connector, with every redirect refused (raised as is)."""

    def process_redirect(self, exc: Exception) -> Exception | str:
        return exc


def connect_options(settings: TransportSettings, logger: logging.Logger) -> dict[str, Any]:
    """Keyword arguments for websockets' ``connect``, the same for asyncio and threads."""
    return {
        "additional_headers": dict(settings.headers),
        "ssl": settings.ssl,
        "max_size": settings.max_message_size,
        "open_timeout": settings.timeout,
        "close_timeout": 1.0,  # bounds the wait for the peer's close frame
        "ping_interval": settings.ping_interval,
        "ping_timeout": settings.ping_timeout,
        "compression": None,
        "logger": logger,  # websockets logs handshake headers at DEBUG: a redacting logger
    }


def _timeouts() -> tuple[type[BaseException], ...]:
    """The timeout exceptions an opening can raise: asyncio's own (a separate class before
    Python 3.11) can only come from a connection when asyncio is loaded."""
    asyncio = sys.modules.get("asyncio")
    return (TimeoutError,) if asyncio is None else (TimeoutError, asyncio.TimeoutError)


@contextmanager
def mapped_connect_errors(what: str) -> Iterator[None]:
    """Every way opening can fail, as ConnectError or TransportTimeout: the feeds reconnect
    on those, so a library exception that slipped through would end a feed."""
    try:
        yield
    except websockets.InvalidStatus as exc:
        status = exc.response.status_code
        location = exc.response.headers.get("Location")
        if 300 <= status < 400 and location:
            raise ConnectError(
                f"{what}: the server answered the upgrade with {status}, a redirect to "
                f"{redact_url(location)} (redirects are not followed)"
            ) from exc
        raise ConnectError(f"{what}: the server refused the upgrade with {status}") from exc
    except _timeouts() as exc:
        raise TransportTimeout(f"{what}: opening timed out") from exc
    except websockets.InvalidURI:
        # Its message holds the whole URL, query credentials included.
        raise ConnectError(f"{what}: invalid WebSocket URL") from None
    except (OSError, EOFError, websockets.WebSocketException) as exc:
        # WebSocketException covers InvalidHandshake and ConnectionClosed: the server may
        # close while the handshake (or the first frame after it) is under way.
        raise ConnectError(f"{what}: cannot connect ({type(exc).__name__})") from exc


def closed_error(exc: websockets.ConnectionClosed) -> WebSocketClosed:
    return WebSocketClosed(f"WebSocket closed ({exc.rcvd or 'no close frame'})")
