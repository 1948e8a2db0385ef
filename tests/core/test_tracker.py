"""PromptTracker fed with recorded sessions: events, outcomes and the requests it asks for."""

from __future__ import annotations

import json
import random

import pytest

from comfy_core import (
    Event,
    ExecutionFinished,
    NodeExecutionError,
    PreviewReceived,
    PromptFailed,
    PromptInterruptedError,
    PromptLostError,
    PromptQueued,
    PromptResponse,
    PromptState,
    PromptSucceeded,
    PromptTracker,
    Response,
    UnknownMessage,
)
from comfy_core.errors import LocalProtocolError, RemoteProtocolError
from tests import recorded


def drain(tracker: PromptTracker) -> list[Event]:
    events = []
    while (event := tracker.next_event()) is not None:
        events.append(event)
    return events


def receipt(name: str, prompt_id: str) -> PromptResponse:
    record = next(
        r
        for r in recorded.http_records(name, "POST", "/prompt")
        if r["json"]["prompt_id"] == prompt_id
    )
    return PromptResponse(
        prompt_id=prompt_id,
        number=record["json"]["number"],
        node_errors=record["json"]["node_errors"],
    )


def feed(tracker: PromptTracker, messages: list[str | bytes], *, pull_each: bool) -> list[Event]:
    events: list[Event] = []
    for message in messages:
        if isinstance(message, str):
            tracker.receive_text(message)
        else:
            tracker.receive_binary(message)
        if pull_each:
            events += drain(tracker)
    return events + drain(tracker)


def run_recording(
    name: str, *, pull_each: bool, ws: str | None = None
) -> tuple[PromptTracker, list[Event]]:
    tracker = PromptTracker()
    ids = recorded.prompt_ids(name)
    for prompt_id in ids:
        tracker.register(prompt_id)
        tracker.accepted(receipt(name, prompt_id))
    events = feed(tracker, recorded.ws_messages(name, ws), pull_each=pull_each)
    return tracker, events


def outcome(events: list[Event], prompt_id: str) -> Event:
    (settled,) = [
        e
        for e in events
        if isinstance(e, (PromptSucceeded, PromptFailed)) and e.prompt_id == prompt_id
    ]
    return settled


def test_success_settles_from_events_alone() -> None:
    tracker, events = run_recording("success", pull_each=True)
    (prompt_id,) = recorded.prompt_ids("success")
    settled = outcome(events, prompt_id)
    assert isinstance(settled, PromptSucceeded)
    (node,) = settled.result.outputs.values()
    assert node.node_id == "2"
    assert [(f.filename, f.subfolder, f.type) for f in node.images] == [
        ("sdk_success_00001_.png", "", "output")
    ]
    # Tracked over the WebSocket, a prompt needs no HTTP request at all.
    assert tracker.requests_to_send() == []
    assert tracker.tracked == frozenset()
    # The settlement comes right after the done marker that caused it.
    index = events.index(settled)
    assert isinstance(events[index - 1], ExecutionFinished)


def test_cached_prompts_report_the_earlier_files() -> None:
    _, events = run_recording("cached", pull_each=False)
    first, cached, partly = (outcome(events, pid) for pid in recorded.prompt_ids("cached"))
    assert all(isinstance(e, PromptSucceeded) for e in (first, cached, partly))
    assert isinstance(first, PromptSucceeded) and isinstance(cached, PromptSucceeded)
    assert first.result.image_files == cached.result.image_files


def test_execution_error_fails_with_node_details() -> None:
    _, events = run_recording("execution_error", pull_each=True)
    for prompt_id in recorded.prompt_ids("execution_error"):
        failed = outcome(events, prompt_id)
        assert isinstance(failed, PromptFailed)
        error = failed.error
        assert isinstance(error, NodeExecutionError)
        assert (error.node_id, error.node_type, error.exception_type) == (
            "2",
            "ImageScaleBy",
            "RuntimeError",
        )
        assert "Input and output sizes should be greater than 0" in str(error)


def test_interrupt_fails_with_interrupted_error() -> None:
    _, events = run_recording("interrupted", pull_each=True)
    for prompt_id in recorded.prompt_ids("interrupted"):
        failed = outcome(events, prompt_id)
        assert isinstance(failed, PromptFailed)
        assert isinstance(failed.error, PromptInterruptedError)
        assert failed.error.node_id == "11"


@pytest.mark.parametrize(("ws", "frame_type"), [("legacy", 1), ("flags", 4)])
def test_binary_previews_are_attributed_to_prompt_and_node(ws: str, frame_type: int) -> None:
    _, events = run_recording("preview_binary_frames", pull_each=True, ws=ws)
    previews = [e for e in events if isinstance(e, PreviewReceived)]
    assert len(previews) == 2
    prompt_ids = set(recorded.prompt_ids("preview_binary_frames"))
    for preview in previews:
        assert preview.frame_type == frame_type
        assert preview.prompt_id in prompt_ids
        assert preview.node == "2"
        assert preview.mime == "image/png"
        assert preview.image.startswith(b"\x89PNG")


def events_of(events: list[Event], prompt_id: str) -> list[object]:
    """The prompt's events, comparable: exceptions compare by identity, so use type and text."""
    return [
        (type(e.error), str(e.error)) if isinstance(e, PromptFailed) else e
        for e in events
        if e.prompt_id == prompt_id
    ]


@pytest.mark.parametrize(
    "name", ["success", "cached", "execution_error", "interrupted", "multi_output"]
)
def test_same_events_whole_one_by_one_and_mixed(name: str) -> None:
    _, whole = run_recording(name, pull_each=False)
    _, stepwise = run_recording(name, pull_each=True)

    # Mix in unknown messages and another session's prompts at random places.
    noise = [m for m in recorded.ws_messages("ws_handshake") if isinstance(m, str)]
    noise += [json.dumps({"type": "crystools.monitor", "data": {"cpu_utilization": 3.5}})]
    messages = list(recorded.ws_messages(name))
    rng = random.Random(1234)
    for message in noise:
        messages.insert(rng.randrange(1, len(messages)), message)
    tracker = PromptTracker()
    for prompt_id in recorded.prompt_ids(name):
        tracker.register(prompt_id)
        tracker.accepted(receipt(name, prompt_id))
    mixed = feed(tracker, messages, pull_each=True)

    assert any(isinstance(e, UnknownMessage) for e in mixed)
    for prompt_id in recorded.prompt_ids(name):
        assert (
            events_of(whole, prompt_id)
            == events_of(stepwise, prompt_id)
            == events_of(mixed, prompt_id)
        )
        assert isinstance(outcome(mixed, prompt_id), (PromptSucceeded, PromptFailed))


def test_completion_before_the_post_answer_is_not_lost() -> None:
    (prompt_id,) = recorded.prompt_ids("success")
    tracker = PromptTracker()
    tracker.register(prompt_id)
    events = feed(tracker, recorded.ws_messages("success"), pull_each=True)
    assert isinstance(outcome(events, prompt_id), PromptSucceeded)
    tracker.accepted(receipt("success", prompt_id))  # the POST answer arrives last
    late = drain(tracker)
    assert [type(e) for e in late] == [PromptQueued]
    assert not any(isinstance(e, (PromptSucceeded, PromptFailed)) for e in late)


def history_response(name: str, prompt_id: str) -> Response:
    record = next(recorded.http_records(name, "GET", f"/history/{prompt_id}"))
    return recorded.as_exchange(record)[1]


def test_done_marker_without_outcome_reads_the_history() -> None:
    (prompt_id,) = recorded.prompt_ids("success")
    tracker = PromptTracker()
    tracker.register(prompt_id)
    tracker.accepted(receipt("success", prompt_id))
    tracker.receive_text(
        json.dumps({"type": "executing", "data": {"node": None, "prompt_id": prompt_id}})
    )
    drain(tracker)
    assert tracker.state_of(prompt_id) is PromptState.FETCHING
    (out,) = tracker.requests_to_send()
    assert (out.request.method, out.request.path) == ("GET", f"/api/history/{prompt_id}")
    tracker.receive_response(out, history_response("success", prompt_id))
    settled = outcome(drain(tracker), prompt_id)
    assert isinstance(settled, PromptSucceeded)
    assert settled.result.image_files[0].filename == "sdk_success_00001_.png"


def test_history_of_a_failed_prompt_gives_its_error() -> None:
    prompt_id = recorded.prompt_ids("execution_error")[0]
    tracker = PromptTracker()
    tracker.register(prompt_id)
    tracker.accepted(receipt("execution_error", prompt_id))
    drain(tracker)
    out = tracker.reconcile()
    assert out is not None and out.request.path == "/api/queue"
    tracker.receive_response(
        out, Response(status=200, body=b'{"queue_running": [], "queue_pending": []}')
    )
    (history,) = tracker.requests_to_send()
    tracker.receive_response(history, history_response("execution_error", prompt_id))
    failed = outcome(drain(tracker), prompt_id)
    assert isinstance(failed, PromptFailed) and isinstance(failed.error, NodeExecutionError)


def test_queue_check_leaves_queued_prompts_alone() -> None:
    record = next(recorded.http_records("queue_ops", "GET", "/queue"))
    queued = [item[1] for item in record["json"]["queue_pending"] + record["json"]["queue_running"]]
    tracker = PromptTracker()
    for prompt_id in queued:
        tracker.register(prompt_id)
        tracker.accepted(PromptResponse(prompt_id=prompt_id, number=1))
    drain(tracker)
    out = tracker.reconcile()
    assert out is not None and out.checked == frozenset(queued)
    tracker.receive_response(out, recorded.as_exchange(record)[1])
    assert tracker.requests_to_send() == []
    assert all(tracker.state_of(pid) is PromptState.QUEUED for pid in queued)


def test_empty_history_is_retried_a_bounded_number_of_times_then_lost() -> None:
    tracker = PromptTracker(history_attempts=3, history_retry_delay=0.5)
    tracker.register("p1")
    tracker.accepted(PromptResponse(prompt_id="p1", number=1))
    tracker.receive_text(
        json.dumps({"type": "executing", "data": {"node": None, "prompt_id": "p1"}})
    )
    drain(tracker)
    delays = []
    for _ in range(3):
        (out,) = tracker.requests_to_send()
        delays.append(out.delay)
        tracker.receive_response(out, Response(status=200, body=b"{}"))
    assert delays == [0.0, 0.5, 1.0]
    assert tracker.requests_to_send() == []
    failed = outcome(drain(tracker), "p1")
    assert isinstance(failed, PromptFailed) and isinstance(failed.error, PromptLostError)


def test_failed_history_reads_are_retried_with_capped_backoff() -> None:
    tracker = PromptTracker(history_retry_delay=1.0, max_retry_delay=3.0)
    tracker.register("p1")
    tracker.accepted(PromptResponse(prompt_id="p1", number=1))
    tracker.receive_text(
        json.dumps({"type": "executing", "data": {"node": None, "prompt_id": "p1"}})
    )
    drain(tracker)
    (out,) = tracker.requests_to_send()
    delays = []
    for _ in range(5):
        tracker.receive_response(out, Response(status=500, body=b"500 Internal Server Error"))
        (out,) = tracker.requests_to_send()
        delays.append(out.delay)
    assert delays == [1.0, 2.0, 3.0, 3.0, 3.0]
    assert tracker.state_of("p1") is PromptState.FETCHING
    tracker.receive_response(out, history_response("success", recorded.prompt_ids("success")[0]))
    # The entry is keyed by another id: still nothing for p1, so it keeps asking.
    assert tracker.state_of("p1") is PromptState.FETCHING


def test_other_prompts_do_not_change_tracked_state() -> None:
    tracker = PromptTracker()
    tracker.register("mine")
    tracker.accepted(PromptResponse(prompt_id="mine", number=1))
    drain(tracker)
    feed(tracker, recorded.ws_messages("success"), pull_each=False)
    assert tracker.state_of("mine") is PromptState.QUEUED
    # The other session's run ends with the queue empty ("status" 0): ours never
    # started, so the tracker asks whether it is still queued.
    (check,) = tracker.requests_to_send()
    assert (check.request.path, check.checked) == ("/api/queue", frozenset({"mine"}))
    still_queued = [[1, "mine", {}, {}, ["2"]]]
    body = json.dumps({"queue_running": [], "queue_pending": still_queued}).encode()
    tracker.receive_response(check, Response(status=200, body=body))
    assert tracker.requests_to_send() == []
    assert tracker.state_of("mine") is PromptState.QUEUED


def test_a_prompt_cleared_from_the_queue_is_lost() -> None:
    tracker = PromptTracker(history_attempts=2)
    tracker.register("gone")
    tracker.accepted(PromptResponse(prompt_id="gone", number=1))
    status = {"type": "status", "data": {"status": {"exec_info": {"queue_remaining": 0}}}}
    tracker.receive_text(json.dumps(status))
    drain(tracker)
    (check,) = tracker.requests_to_send()
    empty_queue = b'{"queue_running": [], "queue_pending": []}'
    tracker.receive_response(check, Response(status=200, body=empty_queue))
    for _ in range(2):
        (history,) = tracker.requests_to_send()
        assert history.request.path == "/api/history/gone"
        tracker.receive_response(history, Response(status=200, body=b"{}"))
    failed = outcome(drain(tracker), "gone")
    assert isinstance(failed, PromptFailed) and isinstance(failed.error, PromptLostError)


def test_malformed_message_raises_and_changes_nothing() -> None:
    tracker = PromptTracker()
    tracker.register("p1")
    with pytest.raises(RemoteProtocolError):
        tracker.receive_text('{"type": "executing", "data": {"node": null}}')
    with pytest.raises(RemoteProtocolError):
        tracker.receive_binary(b"\x00\x00")
    assert drain(tracker) == []
    assert tracker.state_of("p1") is PromptState.SUBMITTED


def test_registering_twice_is_a_local_error() -> None:
    tracker = PromptTracker()
    tracker.register("p1")
    with pytest.raises(LocalProtocolError):
        tracker.register("p1")
