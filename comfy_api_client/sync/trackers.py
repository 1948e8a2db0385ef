"""The sync feeds under their former names (see :mod:`comfy_api_client.sync.feeds`)."""

from __future__ import annotations

from comfy_api_client.sync.feeds import (
    SyncFeed,
    SyncPollingFeed,
    SyncWebSocketFeed,
    start_sync_feed,
)

__all__ = [
    "SyncHTTPStateTracker",
    "SyncStateTracker",
    "SyncWebsocketStateTracker",
    "create_sync_state_tracker",
]

SyncStateTracker = SyncFeed
SyncWebsocketStateTracker = SyncWebSocketFeed
SyncHTTPStateTracker = SyncPollingFeed
create_sync_state_tracker = start_sync_feed
