"""The sync ``create_client``: the context manager that builds, starts and closes a Client."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, Literal

from comfy_api_client.base import MAX_DOWNLOAD_SIZE, assemble
from comfy_api_client.sync.client import Client
from comfy_api_client.sync.feeds import start_sync_feed
from comfy_core.tracker import PromptTracker
from comfy_transports import SYNC_TRANSPORTS
from comfy_transports.base import SyncTransport
from comfy_transports.settings import DEFAULT_DOWNLOAD_TIMEOUT, Verify

__all__ = ["create_client"]


@contextmanager
def create_client(
    comfy_url: str,
    http_timeout: float | None = 30.0,
    start_state_tracker: Literal["websocket", "http"] | None = "websocket",
    state_tracker_kwargs: dict[str, Any] | None = None,
    *,
    transport: SyncTransport | str = "requests",
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
) -> Iterator[Client]:
    """Connect to the server at ``comfy_url`` and yield a ready :class:`Client`.

    The same arguments as the async ``create_client``; ``transport`` is a name
    from ``comfy_transports.SYNC_TRANSPORTS`` or an instance (then ``headers``,
    ``auth``, ``token`` and ``verify`` belong to it). Leaving the block stops the
    tracker thread and fails pending futures with ``ClientClosedError``.
    """
    client: Client = assemble(
        Client,
        comfy_url,
        transport,
        SYNC_TRANSPORTS,
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
        client.get_system_stats()
        if start_state_tracker is not None:
            start_sync_feed(client, start_state_tracker, **(state_tracker_kwargs or {}))
        client.hooks.client_opened(client)
        yield client
    finally:
        client.close()
