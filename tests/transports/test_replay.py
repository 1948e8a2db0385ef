"""ReplayTransport and SyncReplayTransport on their own, with no client: the committed
transcript of a real 0.3.75 session (tests/transcripts/success.jsonl) played back by hand."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from comfy_core.errors import WebSocketClosed
from comfy_core.http import Request, json_request
from comfy_core.transcript import load
from comfy_transports.replay import ReplayMismatch, ReplayTransport, SyncReplayTransport

TRANSCRIPT = Path(__file__).parent.parent / "transcripts" / "success.jsonl"
_, RECORDS = load(TRANSCRIPT)
HTTP = [r.data for r in RECORDS if r.kind == "http"]
POSTED = next(h for h in HTTP if h["request"]["method"] == "POST")
RECORDED_PROMPT = POSTED["response"]["json"]["prompt_id"]
RECORDED_CLIENT = next(r.data["client_id"] for r in RECORDS if r.kind == "ws_open")
FRAMES = [r.data["text"] for r in RECORDS if r.kind == "ws_recv"]
LIVE_PROMPT = "11111111-2222-4333-8444-555555555555"
LIVE_CLIENT = "0123456789abcdef0123456789abcdef"
STATS = Request(method="GET", path="/api/system_stats")


def live_post() -> Request:
    body: dict[str, Any] = json.loads(json.dumps(POSTED["request"]["json"]))
    body["prompt_id"], body["client_id"] = LIVE_PROMPT, LIVE_CLIENT
    return json_request("POST", "/api/prompt", body)


def test_a_get_is_answered_as_recorded_and_again_once_used_up() -> None:
    transport = SyncReplayTransport(TRANSCRIPT)
    first = transport.handle_request(STATS)
    again = transport.handle_request(STATS)
    assert first.status == again.status == 200
    assert first.json() == again.json() == HTTP[0]["response"]["json"]
    assert first.header("content-type") == "application/json; charset=utf-8"


def test_frames_wait_for_the_post_and_carry_the_live_ids() -> None:
    transport = SyncReplayTransport(TRANSCRIPT)
    ws = transport.connect_websocket(LIVE_CLIENT)
    greeting = ws.receive(0)
    assert json.loads(greeting or "")["data"]["sid"] == LIVE_CLIENT  # the recorded sid, swapped
    assert json.loads(ws.receive(0) or "")["type"] == "feature_flags"
    assert ws.receive(0) is None  # the rest was recorded after the POST: not before it

    answer = transport.handle_request(live_post())
    assert answer.json()["prompt_id"] == LIVE_PROMPT
    rest = []
    while (frame := ws.receive(0)) is not None:
        assert isinstance(frame, str)
        rest.append(json.loads(frame))
    assert len(rest) == len(FRAMES) - 2
    assert rest[-1] == {"type": "executing", "data": {"node": None, "prompt_id": LIVE_PROMPT}}
    assert RECORDED_PROMPT not in json.dumps(rest)
    ws.close()
    with pytest.raises(WebSocketClosed):
        ws.receive(0)


def test_a_post_the_transcript_does_not_hold_is_a_mismatch_with_a_diff() -> None:
    transport = SyncReplayTransport(TRANSCRIPT)
    strange = json_request("POST", "/api/interrupt", {})
    with pytest.raises(ReplayMismatch) as caught:
        transport.handle_request(strange)
    assert "/api/interrupt" in str(caught.value)
    assert transport.mismatches


def test_the_same_post_twice_is_a_mismatch() -> None:
    transport = SyncReplayTransport(TRANSCRIPT)
    transport.handle_request(live_post())
    with pytest.raises(ReplayMismatch):
        transport.handle_request(live_post())


def test_a_second_websocket_the_transcript_never_opened_is_refused() -> None:
    transport = SyncReplayTransport(TRANSCRIPT)
    transport.connect_websocket(LIVE_CLIENT)
    with pytest.raises(ReplayMismatch, match="no further WebSocket"):
        transport.connect_websocket(LIVE_CLIENT)


def test_a_download_streams_the_recorded_bytes() -> None:
    view = next(h for h in HTTP if h["request"]["path"] == "/api/view")
    transport = SyncReplayTransport(TRANSCRIPT)
    transport.handle_request(live_post())
    request = Request(
        method="GET", path="/api/view", params=tuple(map(tuple, view["request"]["params"]))
    )
    written: list[bytes] = []
    streamed = transport.stream_request(request, written.append)
    whole = transport.handle_request(request)
    assert streamed.status == whole.status == 200
    assert b"".join(written) == whole.body
    assert whole.body.startswith(b"\x89PNG\r\n\x1a\n")


async def test_the_async_transport_plays_the_same_session() -> None:
    transport = ReplayTransport(TRANSCRIPT)
    assert (await transport.handle_async_request(STATS)).json() == HTTP[0]["response"]["json"]
    ws = await transport.connect_websocket(LIVE_CLIENT)
    assert json.loads(await ws.receive())["data"]["sid"] == LIVE_CLIENT
    await ws.receive()  # feature_flags
    assert (await transport.handle_async_request(live_post())).json()["prompt_id"] == LIVE_PROMPT
    frames = [json.loads(await ws.receive()) for _ in range(len(FRAMES) - 2)]
    assert frames[-1]["data"] == {"node": None, "prompt_id": LIVE_PROMPT}
    await ws.aclose()
    await transport.aclose()
