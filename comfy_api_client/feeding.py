"""What the feeds of both drivers share: their options, state and registry.

A feed is the I/O loop that brings the server's news to the client's session;
the protocol is the session's. The drivers' feed classes add only the loops
(a task in :mod:`comfy_api_client.feeds`, a thread in
:mod:`comfy_api_client.sync.feeds`).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any

from comfy_core.errors import InvalidArgument
from comfy_core.urls import ServerURL

__all__ = ["FeedBase", "PollingOptions", "WebSocketOptions", "feed_class"]


class FeedBase:
    """A feed of ``client``: ``start()`` it, then ``stop()`` it; ``is_running`` between."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.is_running = False


class WebSocketOptions(FeedBase):
    """Track prompts over the server's WebSocket.

    ``connect_timeout`` bounds opening the socket and waiting for its greeting;
    ``reconnect_delay`` and ``max_reconnect_delay`` shape the backoff after a
    drop (full jitter); ``poll_interval`` paces the queue checks of stranded
    prompts. The URL scheme decides ws or wss; ``use_secure_websocket`` is
    accepted for compatibility.
    """

    def __init__(
        self,
        client: Any,
        use_secure_websocket: bool | None = None,
        *,
        connect_timeout: float = 10.0,
        reconnect_delay: float = 0.25,
        max_reconnect_delay: float = 10.0,
        poll_interval: float = 0.5,
        **websocket_connect_kwargs: Any,
    ) -> None:
        super().__init__(client)
        check_feed_options(client.url, use_secure_websocket, websocket_connect_kwargs)
        self.connect_timeout = connect_timeout
        self.poll_interval = poll_interval
        client._session.reconnect_delay = reconnect_delay
        client._session.max_reconnect_delay = max_reconnect_delay
        self.websocket: Any = None

    @property
    def reconnects(self) -> int:
        """How often the socket was opened again after a drop."""
        return int(self.client._session.reconnects)


class PollingOptions(FeedBase):
    """Track prompts by polling ``GET /queue`` every ``update_interval`` seconds; only
    the prompts that left the queue get a history read. Failed polls are logged and
    the next interval tries again."""

    def __init__(self, client: Any, update_interval: float = 0.25) -> None:
        super().__init__(client)
        self.update_interval = update_interval


def check_feed_options(
    url: ServerURL, use_secure_websocket: bool | None, options: Mapping[str, Any]
) -> None:
    """Warn about WebSocket feed options the seed package took and this one ignores."""
    if use_secure_websocket is not None and use_secure_websocket != (url.scheme == "https"):
        warnings.warn(
            "use_secure_websocket is ignored: https URLs use wss, http URLs use ws", stacklevel=3
        )
    if options:
        warnings.warn(
            f"ignored WebSocket options {sorted(options)}: configure the transport instead",
            stacklevel=3,
        )


def feed_class(feeds: Mapping[str, type[Any]], name: str) -> type[Any]:
    """The feed class called ``name``; else InvalidArgument (a ValueError) naming the valid ones."""
    cls = feeds.get(name)
    if cls is None:
        raise InvalidArgument(
            f"Unknown Comfy client state tracker '{name}'. Valid options are {list(feeds)}"
        )
    return cls
