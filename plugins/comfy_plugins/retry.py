"""Built-in plugin: retry failed requests with exponential backoff and full jitter.

On by default with the settings below; register your own ``RetryPlugin(...)``
through ``plugins=[...]`` to change them (it replaces the default one).

Only requests that are safe to repeat are retried: GET, HEAD, PUT, DELETE,
OPTIONS, and ``POST /prompt`` (the client minted its prompt_id and checks the
queue and the history for it before submitting again, since ComfyUI
deduplicates nothing). A transport error or a 429/5xx answer is retried up to
``max_attempts`` tries in all and ``max_elapsed`` seconds; ``Retry-After`` is
honoured when it fits in that time.
"""

from __future__ import annotations

import email.utils
import random
import time

from comfy_api_client.hookspecs import hookimpl
from comfy_core.errors import BodyTooLarge
from comfy_core.http import Request, Response

__all__ = ["RetryPlugin", "retry_after"]

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


def retry_after(response: Response) -> float | None:
    """Seconds the ``Retry-After`` header asks for (delta-seconds or an HTTP date), or None."""
    value = response.header("retry-after")
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


class RetryPlugin:
    """Backoff ``uniform(0, min(max_delay, base_delay * 2**attempt))``, bounded in tries and time.

    ``max_attempts`` counts every try, the first included; ``max_elapsed`` is
    the time budget from the first try, waits included.

    One given to ``create_client(plugins=[...])`` is registered instead of the
    default one (see ``replaces_builtin``).
    """

    # The first non-None delay wins and pluggy asks the latest registered first: were
    # the default registered too, it would retry what this one gave up on.
    replaces_builtin = "comfy.retry"

    def __init__(
        self,
        *,
        max_attempts: int = 5,
        base_delay: float = 0.2,
        max_delay: float = 5.0,
        max_elapsed: float = 30.0,
        statuses: frozenset[int] = RETRY_STATUSES,
        rng: random.Random | None = None,
    ) -> None:
        self.max_attempts = max_attempts
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.max_elapsed = max_elapsed
        self.statuses = statuses
        self._rng = rng or random.Random()

    def __repr__(self) -> str:
        return (
            f"RetryPlugin(max_attempts={self.max_attempts}, base_delay={self.base_delay}, "
            f"max_delay={self.max_delay}, max_elapsed={self.max_elapsed})"
        )

    @hookimpl
    def comfy_retry_delay(
        self,
        request: Request,
        attempt: int,
        elapsed: float,
        response: Response | None,
        error: Exception | None,
        idempotent: bool,
    ) -> float | None:
        if not idempotent or attempt + 1 >= self.max_attempts:
            return None
        if isinstance(error, BodyTooLarge):
            return None  # the same file is as large the next time
        if response is not None and response.status not in self.statuses:
            return None
        delay = self._rng.uniform(0, min(self.max_delay, self.base_delay * 2**attempt))
        asked = retry_after(response) if response is not None else None
        if asked is not None:
            delay = asked
        if elapsed + delay > self.max_elapsed:
            return None
        return delay
