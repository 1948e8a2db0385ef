"""Events: what the server told us, one per WebSocket message.

Wire events (one per WebSocket message) are named for the fact they observe:
``NodeStarted`` for ``executing``, ``NodeExecuted`` for ``executed`` and so on.
Every event that belongs to a prompt carries its ``prompt_id`` (None only where
the server sent none). Message types we do not know become
:class:`UnknownMessage`: custom nodes invent their own, and they are never an
error.

What the tracker concludes about a prompt (``PromptQueued``,
``PromptSucceeded``, ``PromptFailed``) lives in :mod:`comfy_core.conclusions`.
All events are immutable; sequences are tuples.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "ComponentDisplayed",
    "Event",
    "ExecutionBlocked",
    "ExecutionCached",
    "ExecutionFailed",
    "ExecutionFinished",
    "ExecutionInterrupted",
    "ExecutionStarted",
    "ExecutionSucceeded",
    "FeatureFlagsReceived",
    "LogsReceived",
    "NodeExecuted",
    "NodeProgress",
    "NodeStarted",
    "PreviewReceived",
    "ProgressStateUpdated",
    "ProgressUpdated",
    "StatusReported",
    "TextReceived",
    "UnknownMessage",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class Event:
    """Base of every event. ``prompt_id`` is None for events of no prompt."""

    prompt_id: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class StatusReported(Event):
    """``status``: the queue length changed (``sid`` is set only in the greeting)."""

    queue_remaining: int
    sid: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class FeatureFlagsReceived(Event):
    """``feature_flags``: the server's answer to our negotiation."""

    flags: Mapping[str, Any]


@dataclass(frozen=True, slots=True, kw_only=True)
class ExecutionStarted(Event):
    """``execution_start``: the worker took the prompt."""

    timestamp: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ExecutionCached(Event):
    """``execution_cached``: these nodes will be served from the cache."""

    nodes: tuple[str, ...]
    timestamp: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class NodeStarted(Event):
    """``executing`` with a node: that node began to run.

    ``prompt_id`` is None for the replay the server sends to a reconnecting
    socket. ``display_node`` is the node of the user's graph.
    """

    node: str
    display_node: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ExecutionFinished(Event):
    """``executing`` with ``node: null``: the done marker.

    Sent after success, error and interrupt alike, and only once the history
    entry is written, so results can be fetched safely from here on.
    """


@dataclass(frozen=True, slots=True, kw_only=True)
class ProgressUpdated(Event):
    """``progress``: a node's progress bar moved to ``value`` of ``max``."""

    node: str | None
    value: float
    max: float


@dataclass(frozen=True, slots=True, kw_only=True)
class NodeProgress:
    """One node's entry in a ``progress_state`` snapshot."""

    node_id: str
    state: str
    value: float
    max: float
    display_node_id: str | None = None
    parent_node_id: str | None = None
    real_node_id: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ProgressStateUpdated(Event):
    """``progress_state``: a full snapshot of every node that is not pending."""

    nodes: tuple[NodeProgress, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class NodeExecuted(Event):
    """``executed``: an output node produced UI output (also replayed when cached)."""

    node: str
    display_node: str | None
    output: Mapping[str, Any]


@dataclass(frozen=True, slots=True, kw_only=True)
class ExecutionSucceeded(Event):
    """``execution_success``: a hint only; the history may not be written yet."""

    timestamp: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ExecutionFailed(Event):
    """``execution_error``: a node raised and the prompt stopped."""

    node_id: str
    node_type: str
    exception_type: str
    exception_message: str
    traceback: tuple[str, ...] = ()
    executed: tuple[str, ...] = ()
    current_inputs: Mapping[str, Any] = field(default_factory=dict)
    current_outputs: tuple[str, ...] = ()
    timestamp: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ExecutionBlocked(Event):
    """A non-fatal ``execution_error`` (``ExecutionBlocked``): execution goes on."""

    node_id: str
    node_type: str
    message: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ExecutionInterrupted(Event):
    """``execution_interrupted``: an interrupt took effect at ``node_id``."""

    node_id: str | None
    node_type: str | None
    executed: tuple[str, ...] = ()
    timestamp: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class LogsReceived(Event):
    """``logs``: server output, for sockets subscribed to it."""

    entries: tuple[Mapping[str, Any], ...]
    size: Mapping[str, Any] | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ComponentDisplayed(Event):
    """``display_component``: a UI component some partner nodes ask to show."""

    node_id: str | None
    component: str
    props: Mapping[str, Any]


@dataclass(frozen=True, slots=True, kw_only=True)
class PreviewReceived(Event):
    """A binary preview image (frame type 1 or 4).

    ``mime`` is sniffed from the image's magic bytes, not taken on trust. For
    type 1 the prompt and node are the tracker's best guess (the prompt and
    node that last started), for type 4 they come from the frame's metadata.
    """

    node: str | None
    mime: str
    image: bytes
    frame_type: int
    metadata: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class TextReceived(Event):
    """A binary TEXT frame (type 3): progress text a node wants shown."""

    node: str
    text: str


@dataclass(frozen=True, slots=True, kw_only=True)
class UnknownMessage(Event):
    """A message whose type we do not know: ``type`` is a str for JSON and an int for binary."""

    type: str | int
    data: Any
