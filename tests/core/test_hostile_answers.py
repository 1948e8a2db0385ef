"""What a broken or hostile server sends the core: nothing of it escapes the error tree,
hangs a prompt, or is held without bound.

Each test here failed before the matching fix: a 100,000-deep body raised an
untyped RecursionError and the read was never retried; a /prompt answer naming
another id was accepted and the future never resolved; an ``executed`` message
whose output was a string was skipped and the prompt resolved with no outputs;
previews nobody iterated stayed in memory after their prompt settled.
"""

from __future__ import annotations

import io
import json
import struct
from collections.abc import Callable
from typing import Any

import pytest
from PIL import Image

from comfy_core import routes
from comfy_core.conclusions import PromptFailed, PromptSucceeded
from comfy_core.errors import (
    ImageDecodeError,
    ImageTooLargeError,
    LocalProtocolError,
    RemoteProtocolError,
    UnreadableAnswerError,
)
from comfy_core.events import Event, PreviewReceived
from comfy_core.flows import submit_flow
from comfy_core.handles import MAX_PREVIEW_BYTES, PromptHandle
from comfy_core.http import Request, Response
from comfy_core.models import PromptResponse
from comfy_core.outputs import OutputFile
from comfy_core.progress import ProgressCounter
from comfy_core.results import ImageItem
from comfy_core.session import Session
from comfy_core.tracker import Outgoing, PromptTracker

DEEP = b"[" * 100_000 + b"]" * 100_000
PROMPT = "1b7c1a4e-0000-4000-8000-000000000001"
EMPTY_QUEUE = json.dumps({"queue_running": [], "queue_pending": []}).encode()


def ok(body: bytes) -> Response:
    return Response(status=200, headers=(("content-type", "application/json"),), body=body)


def drain(tracker: PromptTracker) -> list[Event]:
    events = []
    while (event := tracker.next_event()) is not None:
        events.append(event)
    return events


def queued_tracker(**options: Any) -> PromptTracker:
    tracker = PromptTracker(**options)
    tracker.register(PROMPT)
    tracker.accepted(PromptResponse(prompt_id=PROMPT, number=1))
    drain(tracker)
    return tracker


@pytest.mark.parametrize("body", [DEEP, b"{" * 50_000, b"\xff\xfe garbage", b'{"a": '])
def test_an_unreadable_body_is_a_remote_protocol_error(body: bytes) -> None:
    with pytest.raises(RemoteProtocolError):
        Response(status=200, body=body).json()
    for read in (routes.read_system_stats, routes.read_queue):
        with pytest.raises(RemoteProtocolError):
            read(Request(method="GET", path="/api/x"), ok(body))


def _history_read(tracker: PromptTracker) -> Outgoing:
    check = tracker.reconcile()
    assert check is not None
    tracker.receive_response(check, ok(EMPTY_QUEUE))
    (read,) = tracker.requests_to_send()
    assert read.request.path == f"/api/history/{PROMPT}"
    return read


def test_an_unreadable_history_is_read_again_then_fails_the_prompt() -> None:
    tracker = queued_tracker(history_attempts=3)
    out = _history_read(tracker)
    for _ in range(2):  # read again, each time with a delay
        tracker.receive_response(out, ok(DEEP))
        (out,) = tracker.requests_to_send()
        assert out.delay > 0 and out.prompt_id == PROMPT
        assert drain(tracker) == []
    tracker.receive_response(out, ok(DEEP))
    assert tracker.requests_to_send() == []
    (failed,) = [e for e in drain(tracker) if isinstance(e, PromptFailed)]
    assert isinstance(failed.error, UnreadableAnswerError)
    assert isinstance(failed.error, RemoteProtocolError)
    assert isinstance(failed.error.__cause__, RemoteProtocolError)
    assert PROMPT not in tracker.tracked


def test_a_queue_that_is_never_readable_fails_its_prompts() -> None:
    tracker = queued_tracker(history_attempts=2)
    for _ in range(2):  # as an HTTP feed does: a fresh check each interval
        check = tracker.reconcile()
        assert check is not None
        tracker.receive_response(check, ok(b"<html>proxy error</html>"))
        tracker.requests_to_send()
    (failed,) = [e for e in drain(tracker) if isinstance(e, PromptFailed)]
    assert isinstance(failed.error, UnreadableAnswerError)


def test_a_readable_queue_in_between_starts_the_count_again() -> None:
    tracker = queued_tracker(history_attempts=2)
    for body in (b"garbage", b'{"queue_running": [[1, "' + PROMPT.encode() + b'", {}, {}, []]]}'):
        check = tracker.reconcile()
        assert check is not None
        tracker.receive_response(check, ok(body))
        tracker.requests_to_send()
    check = tracker.reconcile()
    assert check is not None
    tracker.receive_response(check, ok(b"garbage"))
    assert drain(tracker) == [] and PROMPT in tracker.tracked


def _submit(answer: dict[str, Any]) -> tuple[PromptTracker, Callable[[], Any]]:
    tracker = PromptTracker()
    flow = submit_flow(
        {"1": {"class_type": "EmptyImage", "inputs": {}}},
        prompt_id=PROMPT,
        client_id="c",
        tracker=tracker,
    )
    next(flow)
    return tracker, lambda: flow.send(ok(json.dumps(answer).encode()))


def test_a_prompt_answer_naming_another_id_is_refused_and_unregistered() -> None:
    tracker, answer = _submit({"prompt_id": "someone-else", "number": 3, "node_errors": {}})
    with pytest.raises(RemoteProtocolError, match="another prompt id"):
        answer()
    assert tracker.tracked == frozenset()


def _executing(node: str | None) -> str:
    return json.dumps({"type": "executing", "data": {"node": node, "prompt_id": PROMPT}})


def test_a_malformed_executed_sends_the_prompt_to_its_history() -> None:
    tracker = queued_tracker()
    tracker.receive_text(json.dumps({"type": "execution_start", "data": {"prompt_id": PROMPT}}))
    bad = {"type": "executed", "data": {"node": "2", "output": "oops", "prompt_id": PROMPT}}
    with pytest.raises(RemoteProtocolError):
        tracker.receive_text(json.dumps(bad))
    tracker.receive_text(json.dumps({"type": "execution_success", "data": {"prompt_id": PROMPT}}))
    tracker.receive_text(_executing(None))
    assert not [e for e in drain(tracker) if isinstance(e, (PromptSucceeded, PromptFailed))]
    (read,) = tracker.requests_to_send()
    assert read.request.path == f"/api/history/{PROMPT}"  # the authority decides
    entry = {
        "outputs": {"2": {"images": [{"filename": "a.png", "subfolder": "", "type": "output"}]}}
    }
    tracker.receive_response(read, ok(json.dumps({PROMPT: entry}).encode()))
    (done,) = [e for e in drain(tracker) if isinstance(e, PromptSucceeded)]
    assert [f.filename for f in done.result.files] == ["a.png"]


def test_a_malformed_message_of_another_prompt_changes_nothing_here() -> None:
    tracker = queued_tracker()
    tracker.receive_text(json.dumps({"type": "execution_start", "data": {"prompt_id": PROMPT}}))
    other = {"type": "executed", "data": {"node": "2", "output": "x", "prompt_id": "other"}}
    with pytest.raises(RemoteProtocolError):
        tracker.receive_text(json.dumps(other))
    tracker.receive_text(json.dumps({"type": "execution_success", "data": {"prompt_id": PROMPT}}))
    tracker.receive_text(_executing(None))
    assert [e for e in drain(tracker) if isinstance(e, PromptSucceeded)]


def _preview_frame(size: int) -> bytes:
    meta = json.dumps({"prompt_id": PROMPT, "node_id": "3", "image_type": "image/png"}).encode()
    return struct.pack(">II", 4, len(meta)) + meta + b"\x89PNG\r\n\x1a\n" + bytes(size)


def _session_with_handle(nodes: int) -> tuple[Session, PromptHandle]:
    session = Session()
    handle = PromptHandle(PROMPT, ProgressCounter(PROMPT, nodes))
    session.open(handle)
    session.tracker.register(PROMPT)
    session.tracker.accepted(PromptResponse(prompt_id=PROMPT, number=1))
    return session, handle


def _drain(session: Session) -> None:
    while session.next_event() is not None:
        pass


def test_previews_are_bounded_in_bytes_and_dropped_when_the_prompt_settles() -> None:
    # 100 MiB of previews: 64 MiB at most while it runs, none once it settled (over the
    # few MiB kept for all settled prompts together).
    session, handle = _session_with_handle(3)
    _drain(session)
    session.receive(json.dumps({"type": "execution_start", "data": {"prompt_id": PROMPT}}))
    for _ in range(400):  # 100 MiB of previews, 256 KiB each
        session.receive(_preview_frame(256 * 1024))
        _drain(session)
        assert handle.preview_bytes <= MAX_PREVIEW_BYTES
    previews = [e for e in handle.buffer if isinstance(e, PreviewReceived)]
    assert 0 < len(previews) < 400 and handle.preview_bytes == sum(len(p.image) for p in previews)
    session.receive(json.dumps({"type": "execution_success", "data": {"prompt_id": PROMPT}}))
    session.receive(_executing(None))
    _drain(session)
    session.resolved(handle)
    kept = session.handle(PROMPT)
    assert kept is handle and session.pending == []
    assert not [e for e in kept.buffer if isinstance(e, PreviewReceived)]
    assert kept.preview_bytes == 0
    assert isinstance(kept.buffer[-1], PromptSucceeded)


def test_a_few_small_previews_stay_for_a_late_events_call() -> None:
    session, handle = _session_with_handle(2)
    session.receive(json.dumps({"type": "execution_start", "data": {"prompt_id": PROMPT}}))
    for _ in range(2):
        session.receive(_preview_frame(1024))
    session.receive(json.dumps({"type": "execution_success", "data": {"prompt_id": PROMPT}}))
    session.receive(_executing(None))
    _drain(session)
    session.resolved(handle)
    assert session.attach(PROMPT) is handle
    kept = [e for e in handle.buffer if isinstance(e, PreviewReceived)]
    assert len(kept) == 2


def test_an_image_that_is_no_image_is_a_typed_error() -> None:
    ref = OutputFile(node_id="2", kind="images", filename="x.png")
    with pytest.raises(ImageDecodeError) as caught:
        _ = ImageItem.from_download(ref, b"<html>not found</html>").image
    assert caught.value.__cause__ is not None


def test_a_decompression_bomb_is_surfaced_as_such(monkeypatch: pytest.MonkeyPatch) -> None:
    png = io.BytesIO()
    Image.new("RGB", (64, 64)).save(png, "PNG")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)  # 4096 pixels is over twice that
    ref = OutputFile(node_id="2", kind="images", filename="bomb.png")
    with pytest.raises(ImageTooLargeError) as caught:
        _ = ImageItem.from_download(ref, png.getvalue()).image
    assert isinstance(caught.value.__cause__, Image.DecompressionBombError)


def test_a_nul_in_a_file_name_is_refused_before_any_request() -> None:
    with pytest.raises(LocalProtocolError, match="NUL"):
        routes.view_file(OutputFile(node_id="2", kind="images", filename="a\0.png"))
