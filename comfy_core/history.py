"""Reading what the server recorded about a finished prompt.

A history entry (``GET /history/{id}``, or a job's detail turned into one)
says whether the prompt succeeded, with its outputs, or how it ended
otherwise. :func:`outcome_from_history` reads one into a
:class:`~comfy_core.results.PromptResult` or the typed error, and
:func:`error_from_event` gives the error an ``execution_error`` or
``execution_interrupted`` event stands for, as the history's messages and the
WebSocket both carry those.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from comfy_core.errors import (
    ComfyExecutionError,
    NodeExecutionError,
    PromptInterruptedError,
    RemoteProtocolError,
)
from comfy_core.events import Event, ExecutionFailed, ExecutionInterrupted
from comfy_core.messages import parse_message
from comfy_core.outputs import parse_outputs
from comfy_core.results import PromptResult

__all__ = ["error_from_event", "outcome_from_history"]


def error_from_event(prompt_id: str, event: Event) -> ComfyExecutionError | None:
    """The typed error for an ``execution_error`` or ``execution_interrupted`` event."""
    if isinstance(event, ExecutionFailed):
        return NodeExecutionError(
            prompt_id=prompt_id,
            node_id=event.node_id,
            node_type=event.node_type,
            exception_type=event.exception_type,
            exception_message=event.exception_message,
            traceback=event.traceback,
            executed=event.executed,
        )
    if isinstance(event, ExecutionInterrupted):
        return PromptInterruptedError(
            prompt_id=prompt_id, node_id=event.node_id, node_type=event.node_type
        )
    return None


def outcome_from_history(
    prompt_id: str, entry: Mapping[str, Any]
) -> PromptResult | ComfyExecutionError:
    """Read one history entry into a result, or into the error that ended the prompt.

    Error and interrupt both read ``status_str: "error"``; the last
    ``execution_*`` message tells them apart. An entry without ``status``
    (servers before 2024) is taken as a success.
    """
    if not isinstance(entry, Mapping):
        raise RemoteProtocolError(f"history entry for {prompt_id} should be an object")
    status = entry.get("status")
    if isinstance(status, Mapping) and status.get("status_str") == "error":
        for message in reversed(status.get("messages") or []):
            if isinstance(message, list) and len(message) == 2:
                try:
                    error = error_from_event(prompt_id, parse_message(message[0], message[1]))
                except RemoteProtocolError:
                    continue
                if error is not None:
                    return error
        failed = ComfyExecutionError(f"prompt {prompt_id} ended with status 'error'")
        failed.prompt_id = prompt_id
        return failed
    return PromptResult(prompt_id=prompt_id, outputs=parse_outputs(entry.get("outputs")))
