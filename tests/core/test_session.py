"""Session driven by hand: handshake, greeting, drops, backoff, stranded prompts, handles."""

from __future__ import annotations

import json

from comfy_core.conclusions import PromptQueued, PromptSucceeded
from comfy_core.errors import RemoteProtocolError
from comfy_core.events import Event, NodeStarted, StatusReported
from comfy_core.handles import Callback, PromptHandle
from comfy_core.models import PromptResponse
from comfy_core.progress import Progress, ProgressCounter
from comfy_core.session import HANDSHAKE, SETTLED_KEPT, Session
from tests import recorded

GREETING = next(m for m in recorded.ws_messages("success") if isinstance(m, str) and '"sid"' in m)
SUCCESS = recorded.ws_messages("success")
(PROMPT,) = recorded.prompt_ids("success")


def drain(session: Session) -> list[tuple[Event, PromptHandle | None, list[Callback]]]:
    out = []
    while (ready := session.next_event()) is not None:
        out.append(ready)
    return out


def tracked(session: Session, prompt_id: str, **callbacks: object) -> PromptHandle:
    handle = PromptHandle(prompt_id, ProgressCounter(prompt_id, 2), **callbacks)  # type: ignore[arg-type]
    session.open(handle)
    session.tracker.register(prompt_id)
    session.tracker.accepted(PromptResponse(prompt_id=prompt_id, number=1))
    return handle


def greet(session: Session) -> str:
    client_id = session.connect()
    session.receive(GREETING)
    drain(session)
    return client_id


def test_the_handshake_asks_for_preview_metadata() -> None:
    assert json.loads(HANDSHAKE) == {
        "type": "feature_flags",
        "data": {"supports_preview_metadata": True},
    }


def test_a_connection_is_made_by_the_greeting_and_gives_submits_its_id() -> None:
    session = Session()
    before = session.client_id
    client_id = session.connect()
    assert client_id != before and not session.connected_as(client_id)
    session.receive(json.dumps({"type": "status", "data": {"status": {"exec_info": {}}}}))
    drain(session)  # a status without sid is no greeting
    assert not session.connected_as(client_id)
    session.receive(GREETING)
    (ready,) = drain(session)
    assert isinstance(ready[0], StatusReported)
    assert session.connected_as(client_id) and session.client_id == client_id
    assert session.reconnects == 0


def test_every_connection_gets_a_fresh_id_and_a_second_greeting_counts_a_reconnect() -> None:
    session = Session()
    first = greet(session)
    session.connection_lost()
    second = greet(session)
    assert first != second and session.client_id == second
    assert session.reconnects == 1


def test_connection_lost_strands_in_flight_prompts_once_and_backs_off_with_jitter() -> None:
    draws: list[tuple[float, float]] = []

    def jitter(low: float, high: float) -> float:
        draws.append((low, high))
        return high

    session = Session(reconnect_delay=0.25, max_reconnect_delay=1.0, jitter=jitter)
    greet(session)
    tracked(session, "p1")
    drain(session)
    delays = [session.connection_lost() for _ in range(5)]
    assert delays == [0.0, 0.25, 0.5, 1.0, 1.0]  # at once, then doubling up to the cap
    assert draws == [(0.0, 0.25), (0.0, 0.5), (0.0, 1.0), (0.0, 1.0)]
    assert session.stranded == frozenset({"p1"})
    tracked(session, "p2")  # submitted under the old, silenced id while disconnected
    assert session.connection_lost() == 1.0
    assert session.stranded == frozenset({"p1"})
    greet(session)  # a greeting resets the backoff and strands p2 too
    assert session.stranded == frozenset({"p1", "p2"})
    assert session.connection_lost() == 0.0


def test_stranded_prompts_leave_as_they_settle() -> None:
    session = Session()
    greet(session)
    tracked(session, PROMPT)
    drain(session)
    session.connection_lost()
    assert session.stranded == frozenset({PROMPT})
    out = session.reconcile()
    assert out is not None and out.request.path.endswith("/queue")
    for message in SUCCESS:  # the prompt settles (here, from its recorded events)
        session.receive(message)
    drain(session)
    assert session.stranded == frozenset()
    assert session.reconcile() is None


def test_events_are_recorded_in_their_handle_with_the_callbacks_due_not_called() -> None:
    called: list[object] = []
    session = Session()
    handle = tracked(session, PROMPT, on_node=called.append, on_progress=called.append)
    for message in SUCCESS:
        session.receive(message)
    ready = drain(session)
    assert called == []  # the session never calls user code
    mine = [(event, calls) for event, owner, calls in ready if owner is handle]
    assert isinstance(mine[-1][0], PromptSucceeded) and handle.finished
    due = [value for _, calls in mine for _, value in calls]
    assert any(isinstance(v, NodeStarted) for v in due)
    assert any(isinstance(v, Progress) for v in due)
    assert list(handle.buffer) == [event for event, _ in mine]


def test_a_malformed_message_is_returned_not_raised_and_tracking_goes_on() -> None:
    session = Session()
    handle = tracked(session, PROMPT)
    error = session.receive("{not json")
    assert isinstance(error, RemoteProtocolError)
    for message in SUCCESS:
        assert session.receive(message) is None
    drain(session)
    assert handle.finished


def test_handles_live_until_resolved_then_the_newest_few_are_kept() -> None:
    session = Session()
    handles = [tracked(session, f"p{i}") for i in range(SETTLED_KEPT + 3)]
    assert session.pending == handles
    for handle in handles:
        assert session.resolved(handle)
        assert not session.resolved(handle)  # exactly one caller resolves a future
    assert session.pending == []
    assert session.handle("p0") is None  # the oldest gave way
    assert session.handle(f"p{SETTLED_KEPT + 2}") is handles[-1]
    reader = session.attach("p5")
    assert reader is handles[5] and reader.consumers == 1
    session.detach(reader)
    assert session.handle("p5") is None  # read: not kept again


def test_a_failed_submit_discards_its_handle() -> None:
    session = Session()
    handle = PromptHandle("p", ProgressCounter("p", 1))
    session.open(handle)
    session.discard("p")
    assert session.pending == [] and session.handle("p") is None


def _finished_before_its_receipt() -> tuple[Session, PromptHandle]:
    """A session whose prompt ran to its outcome before its POST was answered."""
    session = Session()
    handle = PromptHandle(PROMPT, ProgressCounter(PROMPT, 2))
    session.open(handle)
    session.tracker.register(PROMPT)
    for message in SUCCESS:
        session.receive(message)
    drain(session)
    return session, handle


def _receipt(session: Session) -> None:
    session.tracker.accepted(PromptResponse(prompt_id=PROMPT, number=1))
    drain(session)


def test_a_receipt_that_comes_after_the_outcome_is_still_the_first_event() -> None:
    # A fast prompt can finish before its POST is answered (PROTOCOL.md, the race).
    session, handle = _finished_before_its_receipt()
    _receipt(session)
    kinds = [type(e) for e in handle.buffer]
    assert kinds[0] is PromptQueued and kinds[-1] is PromptSucceeded


def test_a_receipt_that_comes_after_the_prompt_settled_is_kept_with_its_events() -> None:
    # Faster still: the outcome arrived and the future was resolved (its finish step
    # done) before the POST was answered; a later events() still sees the receipt first.
    session, handle = _finished_before_its_receipt()
    assert session.resolved(handle)
    _receipt(session)
    reader = session.attach(PROMPT)
    assert reader is handle
    kinds = [type(e) for e in reader.buffer]
    assert kinds[0] is PromptQueued and kinds[-1] is PromptSucceeded
