"""PromptHandle: everything a client holds for one tracked prompt, in one place.

A handle is made at submit and dropped at settle (see :class:`~comfy_core.session.Session`,
which owns them): it carries the driver's future, the prompt's event buffer,
its progress and its callbacks. No event is missed before ``client.events(prompt)``
is iterated: events wait in ``buffer`` (bounded; the oldest give way) until a
consumer takes them. Preview images are bounded in bytes too (the oldest
previews give way): a server can send as many as it likes.

The handle never calls a callback itself: :meth:`PromptHandle.record` returns
the calls due, and the client makes them outside any lock, so one slow
callback blocks nobody else.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from comfy_core.conclusions import PromptFailed, PromptQueued, PromptSucceeded
from comfy_core.events import Event, NodeStarted, PreviewReceived
from comfy_core.progress import Progress, ProgressCounter

__all__ = ["MAX_BUFFERED", "MAX_PREVIEW_BYTES", "Callback", "PromptHandle"]

MAX_BUFFERED = 10_000
MAX_PREVIEW_BYTES = 64 * 2**20  # preview images one prompt may hold waiting for a consumer

Callback = tuple[Callable[[Any], Any], Any]
"""A callback and the value to call it with."""


@dataclass(eq=False)
class PromptHandle:
    """One tracked prompt's future, events, progress and callbacks (see the module doc).

    ``future`` is whatever future the driver hands out (asyncio's or
    ``concurrent.futures``'); the core only stores it.
    """

    prompt_id: str
    progress: ProgressCounter
    on_progress: Callable[[Progress], Any] | None = None
    on_node: Callable[[NodeStarted], Any] | None = None
    on_preview: Callable[[PreviewReceived], Any] | None = None
    future: Any = None
    buffer: deque[Event] = field(default_factory=lambda: deque(maxlen=MAX_BUFFERED))
    finished: bool = False  # its PromptSucceeded or PromptFailed has been recorded
    consumers: int = 0  # events() iterators reading the buffer
    max_preview_bytes: int = MAX_PREVIEW_BYTES
    preview_bytes: int = 0

    def record(self, event: Event) -> list[Callback]:
        """Buffer ``event`` for consumers; return the callbacks due for it, in order."""
        if len(self.buffer) == self.buffer.maxlen and isinstance(self.buffer[0], PreviewReceived):
            self.preview_bytes -= len(self.buffer[0].image)  # about to give way
        if isinstance(event, PromptQueued):
            # The server may run a fast prompt before its POST is answered: the receipt
            # then comes after the outcome, yet it is the prompt's first event.
            self.buffer.appendleft(event)
        else:
            self.buffer.append(event)
        if isinstance(event, PreviewReceived):
            self.preview_bytes += len(event.image)
            if self.preview_bytes > self.max_preview_bytes:
                self._drop_previews(keep_newest=True)
        if isinstance(event, (PromptSucceeded, PromptFailed)):
            self.finished = True
        calls: list[Callback] = []
        report = self.progress.update(event)
        if report is not None and self.on_progress is not None:
            calls.append((self.on_progress, report))
        if isinstance(event, NodeStarted) and self.on_node is not None:
            calls.append((self.on_node, event))
        if isinstance(event, PreviewReceived) and self.on_preview is not None:
            calls.append((self.on_preview, event))
        return calls

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
