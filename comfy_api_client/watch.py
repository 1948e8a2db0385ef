"""PromptWatch: one tracked prompt's event buffer, progress and callbacks.

Created at submit, so no event is missed before ``client.events(prompt)`` is
iterated: events wait in ``buffer`` (bounded; the oldest give way) until a
consumer takes them. Callbacks run on the client's thread as events arrive;
one that raises is logged and does not disturb tracking.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from comfy_core.events import Event, NodeStarted, PreviewReceived, PromptFailed, PromptSucceeded
from comfy_core.progress import Progress, ProgressCounter

__all__ = ["PromptWatch"]

log = logging.getLogger("comfy_api_client.client")
MAX_BUFFERED = 10_000


@dataclass
class PromptWatch:
    prompt_id: str
    progress: ProgressCounter
    on_progress: Callable[[Progress], Any] | None = None
    on_node: Callable[[NodeStarted], Any] | None = None
    on_preview: Callable[[PreviewReceived], Any] | None = None
    buffer: deque[Event] = field(default_factory=lambda: deque(maxlen=MAX_BUFFERED))
    finished: bool = False
    consumers: int = 0

    def deliver(self, event: Event) -> None:
        """Buffer ``event`` for consumers and call the matching callbacks."""
        self.buffer.append(event)
        if isinstance(event, (PromptSucceeded, PromptFailed)):
            self.finished = True
        report = self.progress.update(event)
        if report is not None and self.on_progress is not None:
            self._call(self.on_progress, report)
        if isinstance(event, NodeStarted) and self.on_node is not None:
            self._call(self.on_node, event)
        if isinstance(event, PreviewReceived) and self.on_preview is not None:
            self._call(self.on_preview, event)

    def _call(self, callback: Callable[[Any], Any], value: Any) -> None:
        try:
            callback(value)
        except Exception:
            log.exception("a callback of prompt %s failed", self.prompt_id)
