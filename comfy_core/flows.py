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

from collections.abc import Callable, Generator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from comfy_core import routes
from comfy_core.errors import (
    ComfyExecutionError,
    HTTPStatusError,
    PromptLostError,
    PromptNotFinishedError,
    RemoteProtocolError,
    TransportError,
)
from comfy_core.history import outcome_from_history
from comfy_core.http import Request, Response
from comfy_core.models import PromptResponse
from comfy_core.outputs import OutputFile
from comfy_core.redact import redact_url
from comfy_core.results import PromptResult
from comfy_core.tracker import PromptTracker
from comfy_core.workflow import check_workflow

__all__ = [
    "Call",
    "Flow",
    "Gather",
    "RetryPolicy",
    "Sleep",
    "Steps",
    "check_download",
    "download_flow",
    "read_flow",
    "exchange",
    "fetch_result_flow",
    "submit_flow",
]

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Sleep:
    """Ask the driver to wait ``seconds`` before resuming the flow."""

    seconds: float


Flow = Generator[Request | Sleep, Response | None, T]


@dataclass(frozen=True, slots=True)
class Call:
    """Ask the driver to call ``function(*args)`` outside any lock and send back
    what it returns; with ``blocking`` (it writes files, say) the async driver
    runs it in a thread, off the event loop. For plugin hooks in a flow."""

    function: Callable[..., Any]
    args: tuple[Any, ...] = ()
    blocking: bool = False


@dataclass(frozen=True, slots=True)
class Gather:
    """Ask the driver to run ``flows`` to their ends, concurrently where it can,
    and send back their results in order."""

    flows: tuple[Generator[Any, Any, Any], ...]


Steps = Generator[Request | Sleep | Call | Gather, Any, T]
"""A flow that may also ask for calls and for sub-flows run together (the finish step)."""


def exchange(request: Request) -> Generator[Request | Sleep, Response | None, Response]:
    """Yield ``request`` and return the response the driver sends back (the one-step flow)."""
    response = yield request
    assert response is not None, "a flow must be sent the response to its request"
    return response


RetryPolicy = Callable[[int, "Response | None", "Exception | None"], "float | None"]
"""``(attempt, response, error) -> delay``: seconds before trying again, or None to give up."""


def read_flow(request: Request, reader: Callable[[Request, Response], T]) -> Flow[T]:
    """One request, its answer read by ``reader`` (one of the ``routes`` readers)."""
    response = yield from exchange(request)
    return reader(request, response)


def _is_retryable(response: Response) -> bool:
    return response.status >= 500 or response.status == 429


def _find_submitted(prompt_id: str) -> Flow[PromptResponse | None]:
    """The receipt of a prompt the server already has (queued, running or done), else None."""
    queue_request = routes.get_queue()
    queue = routes.read_queue(queue_request, (yield from exchange(queue_request)))
    for entry in (*queue.running, *queue.pending):
        if entry.prompt_id == prompt_id:
            return PromptResponse(prompt_id=prompt_id, number=entry.number)
    history_request = routes.get_history(prompt_id)
    response = yield from exchange(history_request)
    done = routes.read_history_entry(history_request, response, prompt_id)
    if done is None:
        return None
    prompt = done.get("prompt")
    number = prompt[0] if isinstance(prompt, list) and prompt else 0
    return PromptResponse(
        prompt_id=prompt_id, number=number if isinstance(number, (int, float)) else 0
    )


def _post_prompt(
    request: Request, prompt_id: str, retry: RetryPolicy | None
) -> Flow[PromptResponse]:
    attempt = 0
    while True:
        response: Response | None = None
        error: TransportError | None = None
        try:
            response = yield from exchange(request)
        except TransportError as exc:
            error = exc
        if response is not None and not _is_retryable(response):
            return routes.read_prompt_response(request, response)
        # The server may have queued it anyway (a reset after the request went
        # through): ComfyUI deduplicates nothing, so look before sending again.
        while True:
            delay = retry(attempt, response, error) if retry is not None else None
            attempt += 1
            if delay is None:
                if error is not None:
                    raise error
                assert response is not None
                return routes.read_prompt_response(request, response)  # raises for the 5xx
            yield Sleep(delay)
            try:
                found = yield from _find_submitted(prompt_id)
            except (TransportError, HTTPStatusError, RemoteProtocolError) as exc:
                error = TransportError(f"cannot check for prompt {prompt_id}: {exc}")
                # Raised later, once retrying gives up: chained by hand, as no raise is here.
                error.__cause__ = exc
                response = None
                continue
            if found is not None:
                return found
            break


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
    retry: RetryPolicy | None = None,
) -> Flow[PromptResponse]:
    """Check ``workflow``, register it with ``tracker`` (if any), then ``POST /prompt``.

    The prompt is registered before the request leaves, so events that beat the
    response are not lost. A transport error or a 429/5xx is retried when
    ``retry`` gives a delay, after checking that the server does not have the
    prompt already, so it is never queued twice. A rejected or failed submit
    unregisters it and raises (:class:`WorkflowValidationError` for a 400).
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
        receipt = yield from _post_prompt(request, prompt_id, retry)
        if receipt.prompt_id != prompt_id:
            # Nothing would ever settle the id we registered: refuse the answer.
            raise RemoteProtocolError(
                f"the server answered POST /prompt for {prompt_id} with another prompt id "
                f"({receipt.prompt_id[:64]!r})"
            )
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
        entry = routes.read_history_entry(request, (yield from exchange(request)), prompt_id)
        if entry is not None:
            outcome = outcome_from_history(prompt_id, entry)
            if isinstance(outcome, ComfyExecutionError):
                raise outcome
            return outcome
        if attempt == 0:
            queue_request = routes.get_queue()
            queue = routes.read_queue(queue_request, (yield from exchange(queue_request)))
            if any(e.prompt_id == prompt_id for e in queue.running):
                raise PromptNotFinishedError(prompt_id=prompt_id, state="running")
            if any(e.prompt_id == prompt_id for e in queue.pending):
                raise PromptNotFinishedError(prompt_id=prompt_id, state="queued")
        yield Sleep(retry_delay * 2**attempt)
    raise PromptLostError(prompt_id=prompt_id, reason=f"no history after {attempts} reads")


def check_download(request: Request, response: Response) -> None:
    """Raise unless ``response`` holds the file: :class:`HTTPStatusError` for a 4xx/5xx,
    and for a 3xx too (its body is no file, and redirects are never followed)."""
    if 300 <= response.status < 400:
        location = redact_url(response.header("location") or "")
        raise HTTPStatusError(
            status=response.status,
            method=request.method,
            route=request.path,
            message=f"a redirect to {location or 'nowhere'}, not followed",
        )
    routes.raise_for_status(request, response)


def download_flow(ref: OutputFile, max_size: int | None = None) -> Flow[bytes]:
    """The bytes of one output file, from ``/view``; :class:`BodyTooLarge` past
    ``max_size`` bytes (the transport stops reading there)."""
    request = routes.view_file(ref, max_size)
    response = yield from exchange(request)
    check_download(request, response)
    return response.body
