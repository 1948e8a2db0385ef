"""PromptTracker: the sans-I/O heart of the client.

Theory of operation. The tracker holds the prompts a client waits for. Data
goes in (``receive_text`` and ``receive_binary`` for WebSocket messages,
``receive_response`` for answers to requests it asked for); events come out
one at a time from ``next_event()``, and the HTTP requests it needs made come
out of ``requests_to_send()``. It never touches a socket, a clock or a thread:
where it wants to wait, an :class:`Outgoing` request carries a ``delay``.

A prompt is registered *before* ``POST /prompt`` is sent (its id is minted by
the client), so no event can arrive for a prompt we do not know yet. Over a
WebSocket a prompt settles on the done marker (``executing`` with ``node:
null``), with its outputs gathered from its ``executed`` events: no HTTP
request is needed. Wherever events may have been missed (HTTP polling, a
reconnect, a done marker without an outcome) the tracker asks for a queue
check, then for the history of each prompt that left the queue, retrying an
empty history a bounded number of times (the history race, PROTOCOL.md §7).

A transition is applied when the caller pulls the event that causes it, so the
state never runs ahead of what the caller has seen. Settled prompts leave the
tracker; their late messages still come out as events but change nothing.
Malformed messages raise :class:`RemoteProtocolError` from ``receive_*`` and
leave the tracker as it was; any other exception is a bug.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from comfy_core import routes
from comfy_core.conclusions import PromptFailed, PromptQueued, PromptSucceeded
from comfy_core.errors import (
    ComfyError,
    ComfyExecutionError,
    LocalProtocolError,
    PromptLostError,
    RemoteProtocolError,
    UnreadableAnswerError,
)
from comfy_core.events import (
    Event,
    ExecutionFailed,
    ExecutionFinished,
    ExecutionInterrupted,
    ExecutionStarted,
    ExecutionSucceeded,
    NodeExecuted,
    NodeStarted,
    PreviewReceived,
    StatusReported,
    TextReceived,
)
from comfy_core.history import error_from_event, outcome_from_history
from comfy_core.http import Request, Response
from comfy_core.messages import parse_binary, parse_text
from comfy_core.models import PromptResponse
from comfy_core.outputs import NodeOutput, parse_node_output
from comfy_core.prompt_state import PromptState, Trigger, next_state
from comfy_core.results import PromptResult

__all__ = ["Outgoing", "PromptTracker"]


def _prompt_id_in(text: str | bytes) -> str | None:
    """The ``data.prompt_id`` of a message that parsed as JSON but not as an event."""
    try:
        envelope = json.loads(text)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None
    data = envelope.get("data") if isinstance(envelope, dict) else None
    found = data.get("prompt_id") if isinstance(data, dict) else None
    return found if isinstance(found, str) else None


_TRIGGERS: dict[type[Event], Trigger] = {
    PromptQueued: Trigger.ACCEPTED,
    ExecutionStarted: Trigger.STARTED,
    ExecutionSucceeded: Trigger.SUCCESS_HINT,
    ExecutionFailed: Trigger.FAILURE_HINT,
    ExecutionInterrupted: Trigger.FAILURE_HINT,
    ExecutionFinished: Trigger.DONE,
}


@dataclass(frozen=True, slots=True, kw_only=True)
class Outgoing:
    """A request the tracker wants made; hand the answer to ``receive_response``.

    Wait ``delay`` seconds before sending. ``prompt_id`` is set for history
    reads and None for queue checks, whose ``checked`` names the prompts the
    check may settle (those accepted before it was asked for). ``attempt``
    counts failed tries (for backoff), ``empty_reads`` the ``{}`` answers (which
    end in PromptLostError), ``unreadable`` the bodies that could not be read
    (which end in UnreadableAnswerError).
    """

    request: Request
    prompt_id: str | None = None
    delay: float = 0.0
    attempt: int = 0
    empty_reads: int = 0
    checked: frozenset[str] = frozenset()
    unreadable: int = 0


@dataclass(slots=True)
class _Prompt:
    state: PromptState = PromptState.SUBMITTED
    outputs: dict[str, NodeOutput] = field(default_factory=dict)
    error: ComfyExecutionError | None = None
    node_errors: dict[str, Any] = field(default_factory=dict)
    # A message of this prompt could not be read (an output may be missing): its
    # history decides the outcome, not the events.
    unsure: bool = False


class PromptTracker:
    """Track prompts through WebSocket messages and HTTP reads; see the module doc.

    ``history_attempts`` bounds how often an empty history is read again
    (``history_retry_delay`` doubling each time) before the prompt is declared
    lost; failed reads (a 500, a reset) are retried without bound, ``max_retry_delay``
    apart at most, since the caller's timeout limits the wait. With
    ``use_jobs_api`` a prompt that left the queue is read from ``/api/jobs/{id}``
    (a pending or unknown job counts as an empty history).
    """

    def __init__(
        self,
        *,
        history_attempts: int = 6,
        history_retry_delay: float = 0.1,
        max_retry_delay: float = 5.0,
        use_jobs_api: bool = False,
    ) -> None:
        if history_attempts < 1:
            raise LocalProtocolError("history_attempts must be at least 1")
        self.history_attempts = history_attempts
        self.history_retry_delay = history_retry_delay
        self.max_retry_delay = max_retry_delay
        # Settle from /api/jobs/{id} instead of /history/{id} (servers from 0.6 on).
        self.use_jobs_api = use_jobs_api
        self._prompts: dict[str, _Prompt] = {}
        self._events: deque[Event] = deque()
        self._outbox: deque[Outgoing] = deque()
        # (prompt_id, node) of the last node that started: type-1 previews and
        # TEXT frames carry no ids, so they are attributed to it (best effort).
        self._current: tuple[str | None, str | None] = (None, None)
        self._unreadable_queues = 0  # queue answers in a row that could not be read

    # -- registration ---------------------------------------------------------

    def register(self, prompt_id: str) -> None:
        """Start tracking ``prompt_id``. Call before sending its ``POST /prompt``."""
        if prompt_id in self._prompts:
            raise LocalProtocolError(f"prompt {prompt_id} is already tracked")
        self._prompts[prompt_id] = _Prompt()

    def accepted(self, response: PromptResponse) -> None:
        """Record the server's 200 for a registered prompt (emits :class:`PromptQueued`)."""
        if response.prompt_id in self._prompts:
            self._prompts[response.prompt_id].node_errors = dict(response.node_errors)
        self._events.append(
            PromptQueued(
                prompt_id=response.prompt_id,
                number=response.number,
                node_errors=routes.read_node_errors(response.node_errors),
            )
        )

    def forget(self, prompt_id: str) -> None:
        """Stop tracking ``prompt_id`` (its POST failed, or the caller lost interest)."""
        self._prompts.pop(prompt_id, None)

    def state_of(self, prompt_id: str) -> PromptState | None:
        """The prompt's state, or None when it is not (or no longer) tracked."""
        prompt = self._prompts.get(prompt_id)
        return prompt.state if prompt else None

    @property
    def tracked(self) -> frozenset[str]:
        """Every prompt still waiting for its outcome."""
        return frozenset(self._prompts)

    # -- WebSocket input ------------------------------------------------------

    def receive_text(self, text: str | bytes) -> None:
        """Feed one WebSocket text message; read the results with ``next_event()``.

        Raises RemoteProtocolError for a message that cannot be read; if it names
        a tracked prompt, that prompt's history will decide its outcome.
        """
        try:
            event = parse_text(text)
        except RemoteProtocolError:
            prompt = self._prompts.get(_prompt_id_in(text) or "")
            if prompt is not None:
                prompt.unsure = True
            raise
        self._receive(event)

    def receive_binary(self, frame: bytes) -> None:
        """Feed one binary WebSocket frame; read the results with ``next_event()``."""
        self._receive(parse_binary(frame))

    def _receive(self, event: Event) -> None:
        # By exact class (the parser's events are of these classes, never subclasses).
        handler = _ON_RECEIVE.get(type(event))
        self._events.append(event if handler is None else handler(self, event))

    def _node_started(self, event: NodeStarted) -> Event:
        if event.prompt_id is not None:
            self._current = (event.prompt_id, event.display_node or event.node)
        return event

    def _finished(self, event: ExecutionFinished) -> Event:
        if event.prompt_id == self._current[0]:
            self._current = (None, None)
        return event

    def _attributed(self, event: PreviewReceived | TextReceived) -> Event:
        if event.prompt_id is not None:
            return event
        prompt_id, node = self._current
        if isinstance(event, PreviewReceived):
            return replace(event, prompt_id=prompt_id, node=event.node or node)
        return replace(event, prompt_id=prompt_id)

    # -- output -----------------------------------------------------------------

    def next_event(self) -> Event | None:
        """The next event, applying its transition now; None when there is none."""
        if not self._events:
            return None
        event = self._events.popleft()
        prompt_id = event.prompt_id
        prompt = self._prompts.get(prompt_id) if prompt_id else None
        if prompt is not None and prompt_id is not None:
            # By exact class, as in _receive (the tracker's own events are exact too).
            apply = _ON_APPLY.get(type(event))
            if apply is not None:
                apply(self, prompt_id, prompt, event)
        elif type(event) is StatusReported and event.queue_remaining == 0 and not event.sid:
            self._queue_drained()
        return event

    def _queue_drained(self) -> None:
        # The server says nothing is pending or running, yet these prompts of
        # ours never started: deleted or cleared (by anyone), or their events
        # were lost. A queue check sends the ones really gone to their history,
        # where an empty answer ends them as lost.
        never_started = frozenset(
            pid for pid, p in self._prompts.items() if p.state is PromptState.QUEUED
        )
        if never_started:
            self._outbox.append(Outgoing(request=routes.get_queue(), checked=never_started))

    def requests_to_send(self) -> list[Outgoing]:
        """Take the requests the tracker wants made (each at most once)."""
        out = list(self._outbox)
        self._outbox.clear()
        return out

    def reconcile(self) -> Outgoing | None:
        """A queue check for every accepted, unsettled prompt (HTTP polling, reconnects).

        Returns None when no prompt needs one. Prompts the queue no longer lists
        get a history read. Hand the answer to ``receive_response``.
        """
        waiting = frozenset(
            pid for pid, p in self._prompts.items() if p.state is not PromptState.SUBMITTED
        )
        if not waiting:
            return None
        return Outgoing(request=routes.get_queue(), checked=waiting)

    # -- HTTP input ---------------------------------------------------------------

    def receive_response(self, out: Outgoing, response: Response) -> None:
        """Feed the answer to a request from ``requests_to_send`` or ``reconcile``.

        A failed answer (5xx) is asked again later; an unreadable one too, but
        only ``history_attempts`` times in a row before the prompts it was about
        fail with :class:`UnreadableAnswerError`.
        """
        try:
            if out.prompt_id is None:
                queue = routes.read_queue(out.request, response)
                self._queue_checked(out.checked, queue.prompt_ids)
            else:
                read = (
                    routes.read_job_entry
                    if out.request.path.startswith(f"{routes.API}/jobs/")
                    else routes.read_history_entry
                )
                self._history_read(out, read(out.request, response, out.prompt_id))
        except RemoteProtocolError as exc:  # garbage: read again, a bounded number of times
            self._unreadable(out, exc)
        except ComfyError as exc:  # 5xx: read again later
            self.request_failed(out, exc)
        else:
            if out.prompt_id is None:
                self._unreadable_queues = 0

    def _unreadable(self, out: Outgoing, error: RemoteProtocolError) -> None:
        count = (out.unreadable if out.prompt_id is not None else self._unreadable_queues) + 1
        if out.prompt_id is None:
            self._unreadable_queues = count
        if count < self.history_attempts:
            self.request_failed(replace(out, unreadable=count), error)
            return
        about = [out.prompt_id] if out.prompt_id is not None else sorted(out.checked)
        for prompt_id in about:
            prompt = self._prompts.get(prompt_id)
            if prompt is not None and prompt.state is not PromptState.SUBMITTED:
                prompt.error = UnreadableAnswerError(prompt_id=prompt_id, error=error)
                self._apply_trigger(prompt_id, prompt, Trigger.HISTORY_FAILURE)

    def request_failed(self, out: Outgoing, error: Exception) -> None:
        """The request of ``out`` could not be made or answered; it will be asked again."""
        if out.prompt_id is not None and out.prompt_id not in self._prompts:
            return
        if out.prompt_id is None and not out.checked & self._prompts.keys():
            return  # every prompt this check was for has settled meanwhile
        delay = min(self.max_retry_delay, self.history_retry_delay * 2 ** min(out.attempt, 16))
        self._outbox.append(replace(out, delay=delay, attempt=out.attempt + 1))

    def _queue_checked(self, checked: frozenset[str], present: frozenset[str]) -> None:
        for prompt_id in checked - present:
            prompt = self._prompts.get(prompt_id)
            if prompt is not None:
                self._apply_trigger(prompt_id, prompt, Trigger.LEFT_QUEUE)

    def _history_read(self, out: Outgoing, entry: Mapping[str, Any] | None) -> None:
        prompt_id = out.prompt_id
        assert prompt_id is not None
        prompt = self._prompts.get(prompt_id)
        if prompt is None or prompt.state is not PromptState.FETCHING:
            return  # settled meanwhile (the WebSocket was faster)
        if entry is None:
            # Failed reads (counted in attempt) do not use up the empty reads.
            if out.empty_reads + 1 < self.history_attempts:
                delay = self.history_retry_delay * 2**out.empty_reads
                self._outbox.append(replace(out, delay=delay, empty_reads=out.empty_reads + 1))
            else:
                self._apply_trigger(prompt_id, prompt, Trigger.LOST)
            return
        outcome = outcome_from_history(prompt_id, entry)
        if isinstance(outcome, PromptResult):
            prompt.outputs = dict(outcome.outputs)
            self._apply_trigger(prompt_id, prompt, Trigger.HISTORY_SUCCESS)
        else:
            prompt.error = outcome
            self._apply_trigger(prompt_id, prompt, Trigger.HISTORY_FAILURE)

    # -- transitions ------------------------------------------------------------

    def _output(self, prompt_id: str, prompt: _Prompt, event: NodeExecuted) -> None:
        if not prompt.state.is_final:
            node = event.display_node or event.node
            prompt.outputs[node] = parse_node_output(node, event.output)

    def _failure(
        self, prompt_id: str, prompt: _Prompt, event: ExecutionFailed | ExecutionInterrupted
    ) -> None:
        prompt.error = error_from_event(prompt_id, event)
        self._apply_trigger(prompt_id, prompt, Trigger.FAILURE_HINT)

    def _hint(self, prompt_id: str, prompt: _Prompt, event: Event) -> None:
        self._apply_trigger(prompt_id, prompt, _TRIGGERS[type(event)])

    def _apply_trigger(self, prompt_id: str, prompt: _Prompt, trigger: Trigger) -> None:
        if trigger is Trigger.DONE and prompt.unsure:
            trigger = Trigger.DONE_UNSURE
        new = next_state(prompt.state, trigger)
        if new is None:
            return
        prompt.state = new
        if new is PromptState.FETCHING:
            read = routes.get_job if self.use_jobs_api else routes.get_history
            self._outbox.append(Outgoing(request=read(prompt_id), prompt_id=prompt_id))
        elif new is PromptState.SUCCEEDED:
            result = PromptResult(
                prompt_id=prompt_id, outputs=dict(prompt.outputs), node_errors=prompt.node_errors
            )
            self._settle(prompt_id, PromptSucceeded(prompt_id=prompt_id, result=result))
        elif new is PromptState.FAILED:
            error = prompt.error
            if trigger is Trigger.LOST or error is None:
                error = PromptLostError(prompt_id=prompt_id, reason="it has no history entry")
            self._settle(prompt_id, PromptFailed(prompt_id=prompt_id, error=error))

    def _settle(self, prompt_id: str, event: Event) -> None:
        # Settled prompts leave the tracker: memory stays bounded by what is in flight.
        self._prompts.pop(prompt_id, None)
        # Comes out right after the event that settled it.
        self._events.appendleft(event)


# What each class of event does on arrival (_receive) and when pulled (next_event); the
# classes missing change nothing there.
_ON_RECEIVE: dict[type[Event], Callable[[PromptTracker, Any], Event]] = {
    NodeStarted: PromptTracker._node_started,
    ExecutionFinished: PromptTracker._finished,
    PreviewReceived: PromptTracker._attributed,
    TextReceived: PromptTracker._attributed,
}
_ON_APPLY: dict[type[Event], Callable[[PromptTracker, str, _Prompt, Any], None]] = {
    NodeExecuted: PromptTracker._output,
    ExecutionFailed: PromptTracker._failure,
    ExecutionInterrupted: PromptTracker._failure,
    **{
        kind: PromptTracker._hint
        for kind in _TRIGGERS
        if _TRIGGERS[kind] is not Trigger.FAILURE_HINT
    },
}
