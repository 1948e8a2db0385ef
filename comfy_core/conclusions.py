"""What the tracker concluded about a tracked prompt, as events.

:class:`comfy_core.tracker.PromptTracker` emits these next to the wire events
of :mod:`comfy_core.events` when it settles a prompt: accepted
(:class:`PromptQueued`), finished with a complete result
(:class:`PromptSucceeded`) or ended without one (:class:`PromptFailed`).
They carry results and errors, so they live apart from the wire events, which
the parsers of :mod:`comfy_core.messages` build and results never need.
"""

from __future__ import annotations

from dataclasses import dataclass

from comfy_core.errors import ComfyExecutionError, NodeError
from comfy_core.events import Event
from comfy_core.results import PromptResult

__all__ = ["PromptFailed", "PromptQueued", "PromptSucceeded"]


@dataclass(frozen=True, slots=True, kw_only=True)
class PromptQueued(Event):
    """The server accepted a tracked prompt (200 from ``POST /prompt``)."""

    number: float
    node_errors: tuple[NodeError, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class PromptSucceeded(Event):
    """A tracked prompt finished and its result is complete."""

    result: PromptResult


@dataclass(frozen=True, slots=True, kw_only=True)
class PromptFailed(Event):
    """A tracked prompt ended without a result; ``error`` says why."""

    error: ComfyExecutionError
