"""create_client: the async context manager that builds, starts and closes a client."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any, Literal

from comfy_api_client.client import ComfyAPIClient
from comfy_api_client.trackers import create_comfy_state_tracker
from comfy_transports.base import AsyncTransport
from comfy_transports.httpx_websockets import HttpxTransport, Verify

__all__ = ["create_client"]


@asynccontextmanager
async def create_client(
    comfy_url: str,
    http_timeout: float | None = 30.0,
    start_state_tracker: Literal["websocket", "http"] | None = "websocket",
    state_tracker_kwargs: dict[str, Any] | None = None,
    *,
    transport: AsyncTransport | None = None,
    headers: Mapping[str, str] | None = None,
    auth: tuple[str, str] | None = None,
    verify: Verify = True,
    timeout: float | None = None,
) -> AsyncIterator[ComfyAPIClient]:
    """Connect to the ComfyUI server at ``comfy_url`` and yield a ready client.

    ``comfy_url`` may omit the scheme (``localhost:8188``) and may carry a path
    prefix (``https://host/comfy/``). Before yielding, the server is asked for
    its system stats (a wrong URL fails here, clearly) and the state tracker is
    started: with ``"websocket"`` the socket is connected and greeted, so the
    first prompt's events cannot be missed. ``transport`` replaces the default
    httpx + websockets transport (``headers``, ``auth`` and ``verify`` then
    belong to it). ``timeout`` is the default for ``client.wait``/``client.run``.

    Leaving the block stops the tracker, fails still-pending futures with
    ``ClientClosedError`` and closes every connection within about a second.
    """
    if transport is None:
        transport = HttpxTransport(
            comfy_url, timeout=http_timeout, headers=headers, auth=auth, verify=verify
        )
    client = ComfyAPIClient(comfy_url, transport, timeout=timeout)
    try:
        await client.get_system_stats()
        if start_state_tracker is not None:
            await create_comfy_state_tracker(
                client, start_state_tracker, **(state_tracker_kwargs or {})
            )
        yield client
    finally:
        await client.aclose()
