"""The synchronous client: the async client's methods, without ``await``.

    from comfy_api_client.sync import create_client

    with create_client("localhost:8188") as client:
        result = client.run(workflow, timeout=60)
        image = result.output_images[0].image

It runs no event loop, so it works in plain scripts, in Jupyter and inside a
running event loop; one client may be shared by many threads. Pick the
transport by name (``"requests"``, the default; ``"httpx"``; ``"sockets"``,
h11 + wsproto only) or pass an instance.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from comfy_api_client.sync.client import Client
from comfy_api_client.sync.create import create_client
from comfy_api_client.sync.feeds import SyncFeed, SyncPollingFeed, SyncWebSocketFeed
from comfy_api_client.sync.trackers import (
    SyncHTTPStateTracker,
    SyncStateTracker,
    SyncWebsocketStateTracker,
)

if TYPE_CHECKING:
    from comfy_api_client.sync.pool import Pool, create_pool

__all__ = [
    "Client",
    "Pool",
    "create_pool",
    "SyncFeed",
    "SyncPollingFeed",
    "SyncWebSocketFeed",
    "SyncHTTPStateTracker",
    "SyncStateTracker",
    "SyncWebsocketStateTracker",
    "create_client",
]


def __getattr__(name: str) -> Any:
    """``Pool`` and ``create_pool``, imported on first use (a plain client needs neither)."""
    if name in ("Pool", "create_pool"):
        from comfy_api_client.sync import pool

        value = getattr(pool, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
