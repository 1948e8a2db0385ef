"""Sending one request with the plugins' headers, observers and retry decisions.

:func:`attempts` is the retry loop written once, as a flow both clients drive:
it yields each prepared attempt (to hand to the transport as is) and the waits
between attempts, and returns the last response. Only idempotent requests are
retried here; ``POST /prompt`` is retried by the submit flow, which checks for
a duplicate first (see :func:`retry_policy`).
"""

from __future__ import annotations

import time
from collections.abc import Generator

from comfy_api_client.plugins import Hooks
from comfy_core.errors import TransportError
from comfy_core.flows import RetryPolicy, Sleep
from comfy_core.http import Request, Response

__all__ = ["IDEMPOTENT_METHODS", "attempts", "retry_policy"]

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})


def _retryable(response: Response) -> bool:
    return response.status >= 500 or response.status == 429


def attempts(
    request: Request, hooks: Hooks, idempotent: bool | None = None
) -> Generator[Request | Sleep, Response | None, Response]:
    """Send ``request`` until it succeeds or the ``comfy_retry_delay`` hook gives up.

    Returns the last response whatever its status; re-raises the last
    transport error when retries run out (or at once for non-idempotent ones).
    """
    if idempotent is None:
        idempotent = request.method in IDEMPOTENT_METHODS
    started = time.monotonic()
    attempt = 0
    while True:
        prepared = hooks.request_headers(request, attempt)
        sent = time.monotonic()
        try:
            response = yield prepared
        except TransportError as exc:
            hooks.request_failed(prepared, exc, time.monotonic() - sent)
            if not idempotent:
                raise
            delay = hooks.retry_delay(
                prepared, attempt=attempt, elapsed=time.monotonic() - started,
                error=exc, idempotent=True,
            )  # fmt: skip
            if delay is None:
                raise
        else:
            assert response is not None
            hooks.response_received(prepared, response, time.monotonic() - sent)
            if not idempotent or not _retryable(response):
                return response
            delay = hooks.retry_delay(
                prepared, attempt=attempt, elapsed=time.monotonic() - started,
                response=response, idempotent=True,
            )  # fmt: skip
            if delay is None:
                return response
        attempt += 1
        yield Sleep(delay)


def retry_policy(hooks: Hooks, request: Request) -> RetryPolicy:
    """The plugins' retry decision for a flow that makes its own retries safe."""
    started = time.monotonic()

    def policy(attempt: int, response: Response | None, error: Exception | None) -> float | None:
        return hooks.retry_delay(
            request, attempt=attempt, elapsed=time.monotonic() - started,
            response=response, error=error, idempotent=True,
        )  # fmt: skip

    return policy
