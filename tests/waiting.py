"""Wait for a prompt to start by its events, not by polling the queue on a timer.

Both clients' public ``events(prompt)`` yields a tracked prompt's events as they
come; ``ExecutionStarted`` (the server's ``execution_start``) means the worker
took it: it is the running one, and an interrupt now lands on it.
"""

from __future__ import annotations

import contextlib
from typing import Any

from comfy_core.events import ExecutionStarted


def until_started(client: Any, prompt: Any) -> None:
    """Block until ``prompt`` (tracked by the sync ``client``) starts; AssertionError if
    it settles without starting."""
    with contextlib.closing(client.events(prompt)) as events:
        for event in events:
            if isinstance(event, ExecutionStarted):
                return
    raise AssertionError(f"{getattr(prompt, 'prompt_id', prompt)} settled without starting")


async def until_started_async(client: Any, prompt: Any) -> None:
    """:func:`until_started` for the async client."""
    async with contextlib.aclosing(client.events(prompt)) as events:
        async for event in events:
            if isinstance(event, ExecutionStarted):
                return
    raise AssertionError(f"{getattr(prompt, 'prompt_id', prompt)} settled without starting")
