"""PromptWatch: one tracked prompt's event buffer, progress and callbacks.

Created at submit, so no event is missed before ``client.events(prompt)`` is
iterated: events wait in ``buffer`` (bounded; the oldest give way) until a
consumer takes them. Preview images are bounded in bytes too (the oldest
previews give way), and once the prompt settles the client keeps only a few MiB
of previews over all settled prompts: a server can send as many as it likes. Callbacks run on
the client's thread as events arrive; one that raises is logged and does not
disturb tracking.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from comfy_core.conclusions import PromptFailed, PromptSucceeded
from comfy_core.events import Event, NodeStarted, PreviewReceived
from comfy_core.progress import Progress, ProgressCounter

__all__ = ["PromptWatch"]

log = logging.getLogger("comfy_api_client.client")
MAX_BUFFERED = 10_000
MAX_PREVIEW_BYTES = 64 * 2**20  # preview images one prompt may hold waiting for a consumer


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
    max_preview_bytes: int = MAX_PREVIEW_BYTES
    preview_bytes: int = 0

    def deliver(self, event: Event) -> None:
        """Buffer ``event`` for consumers and call the matching callbacks."""
        if len(self.buffer) == self.buffer.maxlen and isinstance(self.buffer[0], PreviewReceived):
            self.preview_bytes -= len(self.buffer[0].image)  # about to give way
        self.buffer.append(event)
        if isinstance(event, PreviewReceived):
            self.preview_bytes += len(event.image)
            if self.preview_bytes > self.max_preview_bytes:
                self._drop_previews(keep_newest=True)
        if isinstance(event, (PromptSucceeded, PromptFailed)):
            self.finished = True
        report = self.progress.update(event)
        if report is not None and self.on_progress is not None:
            self._call(self.on_progress, report)
        if isinstance(event, NodeStarted) and self.on_node is not None:
            self._call(self.on_node, event)
        if isinstance(event, PreviewReceived) and self.on_preview is not None:
            self._call(self.on_preview, event)

    def drop_previews(self) -> None:
        """Forget every buffered preview (the prompt settled and its previews are over
        the client's budget for settled prompts)."""
        self._drop_previews(keep_newest=False)

    def _drop_previews(self, *, keep_newest: bool) -> None:
        kept: list[Event] = []
        budget = self.max_preview_bytes if keep_newest else 0
        for event in reversed(self.buffer):  # newest first: they are the ones kept
            if isinstance(event, PreviewReceived):
                if len(event.image) > budget:
                    budget = -1  # everything older goes too, so order is kept
                    continue
                budget -= len(event.image)
            kept.append(event)
        self.buffer.clear()
        self.buffer.extend(reversed(kept))
        self.preview_bytes = sum(
            len(e.image) for e in self.buffer if isinstance(e, PreviewReceived)
        )

    def _call(self, callback: Callable[[Any], Any], value: Any) -> None:
        try:
            callback(value)
        except Exception:
            log.exception("a callback of prompt %s failed", self.prompt_id)
