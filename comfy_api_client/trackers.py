"""The feeds under the seed package's names (``start_state_tracker=`` picks one).

"Tracker" now means only :class:`~comfy_core.tracker.PromptTracker`; the I/O
loops are feeds (:mod:`comfy_api_client.feeds`). These names keep working.
"""

from __future__ import annotations

from comfy_api_client.feeds import FEEDS, Feed, PollingFeed, WebSocketFeed, start_feed

__all__ = [
    "BaseComfyStateTracker",
    "HTTPStateTracker",
    "WebsocketStateTracker",
    "create_comfy_state_tracker",
    "state_tracker_implementations",
]

BaseComfyStateTracker = Feed
WebsocketStateTracker = WebSocketFeed
HTTPStateTracker = PollingFeed
state_tracker_implementations = FEEDS
create_comfy_state_tracker = start_feed
