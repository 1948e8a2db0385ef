"""create_client: the async context manager that builds, starts and closes a client."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Mapping
from contextlib import asynccontextmanager
from typing import Any, Literal

from comfy_api_client.base import MAX_DOWNLOAD_SIZE, assemble
from comfy_api_client.client import ComfyAPIClient
from comfy_api_client.feeds import start_feed
from comfy_core.tracker import PromptTracker
from comfy_transports.base import AsyncTransport
from comfy_transports.httpx_websockets import HttpxTransport
from comfy_transports.settings import DEFAULT_DOWNLOAD_TIMEOUT, Verify

__all__ = ["create_client"]


@asynccontextmanager
async def create_client(
    comfy_url: str,
    http_timeout: float | None = 30.0,
    start_state_tracker: Literal["websocket", "http"] | None = "websocket",
    state_tracker_kwargs: dict[str, Any] | None = None,
    *,
    transport: AsyncTransport | str | None = None,
    headers: Mapping[str, str] | None = None,
    auth: tuple[str, str] | None = None,
    token: str | None = None,
    verify: Verify = True,
    timeout: float | None = None,
    plugins: Iterable[object] | None = (),
    builtin_plugins: bool = True,
    load_entrypoints: bool = True,
    record: str | None = None,
    tracker: PromptTracker | None = None,
    max_download_size: int | None = MAX_DOWNLOAD_SIZE,
    download_timeout: float | None = DEFAULT_DOWNLOAD_TIMEOUT,
) -> AsyncIterator[ComfyAPIClient]:
    """Connect to the ComfyUI server at ``comfy_url`` and yield a ready client.

    ``comfy_url`` may omit the scheme (``localhost:8188``) and may carry a path
    prefix (``https://host/comfy/``). Before yielding, the server is asked for
    its system stats (a wrong URL fails here, clearly) and the state tracker is
    started: with ``"websocket"`` the socket is connected and greeted, so the
    first prompt's events cannot be missed. ``transport`` replaces the default
    httpx + websockets transport (``headers``, ``auth`` and ``verify`` then
    belong to it; ``token`` is sent as a bearer token). ``timeout`` is the
    default for ``client.wait``/``client.run``.

    ``plugins`` are registered on this client's own plugin manager, beside the
    built-in logging and retry plugins (``builtin_plugins=False`` drops them)
    and plugins from the ``comfy_api_client`` entry points
    (``load_entrypoints=False`` skips them). ``record`` writes the session's
    transcript to that path when the client closes (see docs/transcripts.md).
    ``max_download_size`` bounds what ``download`` and the automatic image
    download hold in memory (256 MiB; None for no bound): past it they raise
    ``BodyTooLarge``, and ``download_to`` streams to disk instead, within
    ``download_timeout`` (600 s; ``http_timeout`` bounds every other request,
    connect and whole answer, and opening the WebSocket). ``tracker``
    sets how prompts are tracked, e.g. how soon a vanished prompt
    fails: ``PromptTracker(history_attempts=3, history_retry_delay=0.2)``.

    Leaving the block stops the tracker, fails still-pending futures with
    ``ClientClosedError`` and closes every connection within about a second.
    """
    client: ComfyAPIClient = assemble(
        ComfyAPIClient,
        comfy_url,
        transport or "httpx",
        {"httpx": HttpxTransport},
        http_timeout=http_timeout,
        headers=headers,
        auth=auth,
        token=token,
        verify=verify,
        download_timeout=download_timeout,
        plugins=plugins,
        builtin_plugins=builtin_plugins,
        load_entrypoints=load_entrypoints,
        record=record,
        timeout=timeout,
        tracker=tracker,
        max_download_size=max_download_size,
    )
    try:
        await client.get_system_stats()
        if start_state_tracker is not None:
            await start_feed(client, start_state_tracker, **(state_tracker_kwargs or {}))
        client.hooks.client_opened(client)
        yield client
    finally:
        await client.aclose()
