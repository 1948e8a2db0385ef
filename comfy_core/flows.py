"""Multi-step exchanges written once, as generators both clients drive.

A flow yields a :class:`Request` and is sent back its :class:`Response`, or
yields a :class:`Sleep` and is sent back None; a transport error is thrown into
it at the ``yield``. Its return value is the flow's result. The async client
drives flows with ``await``, the sync client without; the logic is here only
(the way httpx writes its auth flows once).

Example, by hand::

    flow = fetch_result_flow("a083407b-...")
    step = next(flow)
    while True:
        try:
            step = flow.send(send_somehow(step))  # or None after a Sleep
        except StopIteration as stop:
            result = stop.value
            break
"""

from __future__ import annotations

from collections.abc import Generator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from comfy_core import routes
from comfy_core.errors import ComfyExecutionError, PromptLostError, PromptNotFinishedError
from comfy_core.http import Request, Response
from comfy_core.models import PromptResponse
from comfy_core.outputs import OutputFile
from comfy_core.results import PromptResult, outcome_from_history
from comfy_core.tracker import PromptTracker
from comfy_core.workflow import check_workflow

__all__ = ["Flow", "Sleep", "download_flow", "fetch_result_flow", "submit_flow"]

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Sleep:
    """Ask the driver to wait ``seconds`` before resuming the flow."""

    seconds: float


Flow = Generator[Request | Sleep, Response | None, T]


def _exchange(request: Request) -> Generator[Request | Sleep, Response | None, Response]:
    response = yield request
    assert response is not None, "a flow must be sent the response to its request"
    return response


def submit_flow(
    workflow: Mapping[str, Any],
    *,
    prompt_id: str,
    client_id: str | None,
    tracker: PromptTracker | None = None,
    number: float | None = None,
    front: bool = False,
    extra_data: Mapping[str, Any] | None = None,
    partial_execution_targets: Sequence[str] | None = None,
) -> Flow[PromptResponse]:
    """Check ``workflow``, register it with ``tracker`` (if any), then ``POST /prompt``.

    The prompt is registered before the request leaves, so events that beat the
    response are not lost. A rejected or failed submit unregisters it and
    raises (:class:`WorkflowValidationError` for a 400).
    """
    check_workflow(workflow)
    request = routes.post_prompt(
        workflow,
        prompt_id=prompt_id,
        client_id=client_id,
        number=number,
        front=front,
        extra_data=extra_data,
        partial_execution_targets=partial_execution_targets,
    )
    if tracker is not None:
        tracker.register(prompt_id)
    try:
        response = yield from _exchange(request)
        receipt = routes.read_prompt_response(request, response)
    except BaseException:
        if tracker is not None:
            tracker.forget(prompt_id)
        raise
    if tracker is not None:
        tracker.accepted(receipt)
    return receipt


def fetch_result_flow(
    prompt_id: str, *, attempts: int = 6, retry_delay: float = 0.1
) -> Flow[PromptResult]:
    """Read a finished prompt's result from its history (no images downloaded).

    Raises the prompt's own error if it failed, :class:`PromptNotFinishedError`
    if it is still queued or running, and :class:`PromptLostError` if neither
    the history nor the queue knows it after ``attempts`` reads.
    """
    for attempt in range(attempts):
        request = routes.get_history(prompt_id)
        entry = routes.read_history_entry(request, (yield from _exchange(request)), prompt_id)
        if entry is not None:
            outcome = outcome_from_history(prompt_id, entry)
            if isinstance(outcome, ComfyExecutionError):
                raise outcome
            return outcome
        if attempt == 0:
            queue_request = routes.get_queue()
            queue = routes.read_queue(queue_request, (yield from _exchange(queue_request)))
            if any(e.prompt_id == prompt_id for e in queue.running):
                raise PromptNotFinishedError(prompt_id=prompt_id, state="running")
            if any(e.prompt_id == prompt_id for e in queue.pending):
                raise PromptNotFinishedError(prompt_id=prompt_id, state="queued")
        yield Sleep(retry_delay * 2**attempt)
    raise PromptLostError(prompt_id=prompt_id, reason=f"no history after {attempts} reads")


def download_flow(ref: OutputFile) -> Flow[bytes]:
    """The bytes of one output file, from ``/view``."""
    request = routes.view_file(ref)
    response = yield from _exchange(request)
    routes.raise_for_status(request, response)
    return response.body
