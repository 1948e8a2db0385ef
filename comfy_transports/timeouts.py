"""``bounded(awaitable, seconds)``: ``asyncio.wait_for`` without its extra task where it can.

On the hot path (every request, every wait for a prompt) ``wait_for`` costs a task
of its own on Python 3.10 and 3.11; ``asyncio.timeout`` (3.11+) runs the awaitable in
the caller's task. Both raise ``asyncio.TimeoutError`` only when their own time ran
out, never for a TimeoutError the awaitable raised itself.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable
from typing import TypeVar

__all__ = ["bounded"]

T = TypeVar("T")


async def bounded(awaitable: Awaitable[T], seconds: float | None) -> T:
    """``await awaitable``, or ``asyncio.TimeoutError`` after ``seconds`` (None: no bound)."""
    if seconds is None:
        return await awaitable
    if sys.version_info < (3, 11):
        return await asyncio.wait_for(awaitable, seconds)
    timeout = asyncio.timeout(seconds)
    try:
        async with timeout:
            return await awaitable
    except TimeoutError:
        if timeout.expired():
            raise asyncio.TimeoutError from None
        raise
