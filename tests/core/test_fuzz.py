"""Hypothesis fuzzing of comfy_core: whatever arrives, the core gives events or our
protocol errors, never another exception, and never touches a prompt it was not about."""

from __future__ import annotations

import contextlib
import json
import struct
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from comfy_core import PromptResponse, PromptState, PromptTracker, Response
from comfy_core.errors import RemoteProtocolError
from comfy_core.events import Event
from comfy_core.history import outcome_from_history
from comfy_core.messages import parse_binary, parse_text
from comfy_core.tracker import Outgoing
from tests import recorded

MINE = "11111111-2222-3333-4444-555555555555"
KNOWN = [
    "status", "feature_flags", "execution_start", "execution_cached", "executing", "progress",
    "progress_state", "executed", "execution_success", "execution_error",
    "execution_interrupted", "logs", "display_component",
]  # fmt: skip
FUZZ = settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=5)
    ),
    max_leaves=20,
)
field_names = st.sampled_from(
    ["prompt_id", "node", "display_node", "nodes", "value", "max", "output", "node_id",
     "node_type", "exception_type", "exception_message", "traceback", "executed", "status",
     "sid", "timestamp", "entries", "component", "props", "exec_info", "queue_remaining"]
)  # fmt: skip
# Known message types with plausible field names but arbitrary values: the interesting inputs.
shaped = st.builds(
    lambda kind, data: {"type": kind, "data": data},
    st.sampled_from(KNOWN) | st.text(max_size=15),
    st.dictionaries(field_names, json_values, max_size=8) | json_values,
)
other_prompts = st.text(min_size=1, max_size=36).filter(lambda p: p != MINE)


def _dump(message: Any) -> str:
    try:
        return json.dumps(message)
    except ValueError:
        return "{}"


@FUZZ
@given(st.one_of(shaped.map(_dump), st.text(max_size=200), json_values.map(_dump)))
def test_text_messages_give_events_or_protocol_errors(text: str) -> None:
    try:
        event = parse_text(text)
    except RemoteProtocolError:
        return
    assert isinstance(event, Event)


frame_types = st.sampled_from([1, 2, 3, 4, 5, 0, 2**32 - 1])


@FUZZ
@given(frame_types, st.binary(max_size=64), st.integers(min_value=0, max_value=2**32 - 1))
def test_binary_frames_give_events_or_protocol_errors(kind: int, tail: bytes, length: int) -> None:
    for frame in (
        struct.pack(">I", kind) + tail,  # arbitrary payload
        struct.pack(">II", kind, length) + tail,  # a length field that may lie
        struct.pack(">I", kind)[: len(tail) % 4],  # truncated inside the type
    ):
        try:
            event = parse_binary(frame)
        except RemoteProtocolError:
            continue
        assert isinstance(event, Event)


def test_an_oversized_binary_frame_is_handled() -> None:
    metadata = json.dumps({"prompt_id": MINE, "node_id": "2"}).encode()
    image = b"\x89PNG\r\n\x1a\n" + bytes(8 * 2**20)
    event = parse_binary(struct.pack(">II", 4, len(metadata)) + metadata + image)
    assert event.prompt_id == MINE and len(getattr(event, "image", b"")) == len(image)


def _tracked() -> PromptTracker:
    tracker = PromptTracker()
    tracker.register(MINE)
    tracker.accepted(PromptResponse(prompt_id=MINE, number=1))
    while tracker.next_event() is not None:
        pass
    tracker.requests_to_send()
    return tracker


about_others = st.builds(
    lambda kind, pid, data: {"type": kind, "data": {**data, "prompt_id": pid}},
    st.sampled_from(KNOWN) | st.text(max_size=15),
    other_prompts,
    st.dictionaries(field_names, json_values, max_size=6),
)


@FUZZ
@given(st.lists(st.one_of(about_others.map(_dump), st.binary(max_size=40)), max_size=12))
def test_messages_about_other_prompts_never_change_ours(messages: list[Any]) -> None:
    tracker = _tracked()
    for message in messages:
        try:
            if isinstance(message, str):
                tracker.receive_text(message)
            else:
                tracker.receive_binary(message)
        except RemoteProtocolError:
            pass
        while tracker.next_event() is not None:
            pass
    assert tracker.state_of(MINE) is PromptState.QUEUED
    assert all(
        out.checked <= {MINE} and out.prompt_id in (None, MINE)
        for out in tracker.requests_to_send()
    )


@FUZZ
@given(json_values, st.integers(min_value=100, max_value=599))
def test_any_http_answer_to_a_tracker_request_is_survived(body: Any, status: int) -> None:
    tracker = _tracked()
    tracker.receive_text(
        json.dumps({"type": "executing", "data": {"node": None, "prompt_id": MINE}})
    )
    while tracker.next_event() is not None:
        pass
    (out,) = tracker.requests_to_send()
    raw = _dump(body).encode()
    tracker.receive_response(out, Response(status=status, body=raw))
    check = Outgoing(request=out.request, checked=frozenset({MINE}))
    tracker.receive_response(check, Response(status=status, body=raw))
    while tracker.next_event() is not None:
        pass
    assert tracker.state_of(MINE) in (None, PromptState.FETCHING)


@FUZZ
@given(json_values)
def test_history_entries_of_any_shape(entry: Any) -> None:
    with contextlib.suppress(RemoteProtocolError):
        outcome_from_history(MINE, entry)


def test_recorded_sessions_with_garbage_between_every_message() -> None:
    tracker = PromptTracker()
    for prompt_id in recorded.prompt_ids("multi_output"):
        tracker.register(prompt_id)
        tracker.accepted(PromptResponse(prompt_id=prompt_id, number=1))
    garbage = ["", "null", "[]", '{"type": 7}', '{"type": "executed", "data": {"node": []}}']
    settled = 0
    for i, message in enumerate(recorded.ws_messages("multi_output")):
        for junk in (garbage[i % len(garbage)], b"\x00\x00\x00\x04\xff\xff\xff\xff"):
            with contextlib.suppress(RemoteProtocolError):
                if isinstance(junk, str):
                    tracker.receive_text(junk)
                else:
                    tracker.receive_binary(junk)
        if isinstance(message, str):
            tracker.receive_text(message)
        else:
            tracker.receive_binary(message)
        while (event := tracker.next_event()) is not None:
            settled += type(event).__name__ == "PromptSucceeded"
    assert settled == len(recorded.prompt_ids("multi_output"))
