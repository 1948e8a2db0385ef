"""comfy_core.messages against every recorded WebSocket message, plus hand-built edge cases."""

from __future__ import annotations

import base64
import dataclasses
import io
import json
import pickle
import struct
from typing import Any

import pytest
from PIL import Image

from comfy_core.errors import RemoteProtocolError
from comfy_core.events import (
    Event,
    ExecutionBlocked,
    ExecutionCached,
    ExecutionFailed,
    ExecutionFinished,
    ExecutionInterrupted,
    ExecutionStarted,
    ExecutionSucceeded,
    FeatureFlagsReceived,
    NodeExecuted,
    NodeProgress,
    NodeStarted,
    PreviewReceived,
    ProgressStateUpdated,
    ProgressUpdated,
    StatusReported,
    TextReceived,
    UnknownMessage,
)
from comfy_core.messages import parse_binary, parse_message, parse_text, sniff_mime
from tests import recorded

FILES = sorted(p.name for p in recorded.RECORDINGS.glob("*.jsonl"))

# Every message type the 0.3.75 recordings contain, and the events it may become.
EXPECTED: dict[str, tuple[type[Event], ...]] = {
    "status": (StatusReported,),
    "feature_flags": (FeatureFlagsReceived,),
    "execution_start": (ExecutionStarted,),
    "execution_cached": (ExecutionCached,),
    "executing": (NodeStarted, ExecutionFinished),
    "progress": (ProgressUpdated,),
    "progress_state": (ProgressStateUpdated,),
    "executed": (NodeExecuted,),
    "execution_success": (ExecutionSucceeded,),
    "execution_error": (ExecutionFailed,),
    "execution_interrupted": (ExecutionInterrupted,),
}


def texts(name: str, type_: str, ws: str | None = None) -> list[dict[str, Any]]:
    """The ``data`` of every recorded text message of ``type_`` (on socket ``ws``, if given)."""
    return [
        r["data"]["data"]
        for r in recorded.load(name)
        if r["kind"] == "ws_text" and r["data"]["type"] == type_ and (ws is None or r["ws"] == ws)
    ]


def text_event(name: str, type_: str, index: int = 0, ws: str | None = None) -> Event:
    return parse_text(json.dumps({"type": type_, "data": texts(name, type_, ws)[index]}))


def binaries(name: str, ws: str) -> list[tuple[dict[str, Any], bytes]]:
    return [
        (r, base64.b64decode(r["b64"]))
        for r in recorded.load(name)
        if r["kind"] == "ws_binary" and r["ws"] == ws
    ]


# -- every recorded message ---------------------------------------------------------


@pytest.mark.parametrize("name", FILES)
def test_every_recorded_message_parses(name: str) -> None:
    seen = 0
    for record in recorded.load(name):
        if record["kind"] == "ws_text":
            type_, data = record["data"]["type"], record["data"]["data"]
            for event in (parse_text(json.dumps(record["data"])), parse_message(type_, data)):
                assert isinstance(event, EXPECTED[type_]), (record["seq"], event)
                assert event.prompt_id == data.get("prompt_id")
            assert parse_text(json.dumps(record["data"]).encode()) == event
            seen += 1
        elif record["kind"] == "ws_binary":
            event = parse_binary(base64.b64decode(record["b64"]))
            assert isinstance(event, PreviewReceived)
            assert event.frame_type == record["event_type"]
            seen += 1
        elif record["kind"] == "http" and record["path"].startswith("/history"):
            entries = record.get("json") or {}
            for entry in entries.values():
                for type_, data in entry["status"]["messages"]:
                    assert isinstance(parse_message(type_, data), EXPECTED[type_])
                    seen += 1
    assert seen > 0


# -- representative text messages ----------------------------------------------------


def test_status_greeting_carries_sid() -> None:
    greeting = text_event("success", "status", 0)
    assert greeting == StatusReported(queue_remaining=0, sid="3f814a6a79804894be9de5271c18bf86")
    later = text_event("success", "status", 1)
    assert later == StatusReported(queue_remaining=1, sid=None)
    generated = text_event("ws_handshake", "status", 0, ws="anon")
    assert isinstance(generated, StatusReported)
    assert generated.sid == "6a4cba63ab43468e8bc6c8ff597a8483"


def test_execution_cached_nodes() -> None:
    events = [text_event("cached", "execution_cached", i) for i in range(3)]
    assert [e.nodes for e in events if isinstance(e, ExecutionCached)] == [(), ("1", "2"), ("1",)]
    assert all(isinstance(e.timestamp, int) for e in events if isinstance(e, ExecutionCached))


def test_executing_node_and_done_marker() -> None:
    pid = "a083407b-7eeb-4c00-9cb1-a8b438880f21"
    assert text_event("success", "executing", 0) == NodeStarted(
        prompt_id=pid, node="1", display_node="1"
    )
    assert text_event("success", "executing", 1) == NodeStarted(
        prompt_id=pid, node="2", display_node="2"
    )
    assert text_event("success", "executing", 2) == ExecutionFinished(prompt_id=pid)


def test_executing_reconnect_replay_and_bad_done_marker() -> None:
    assert parse_message("executing", {"node": "5"}) == NodeStarted(
        prompt_id=None, node="5", display_node=None
    )
    with pytest.raises(RemoteProtocolError):
        parse_message("executing", {"node": None})


def test_executed_output() -> None:
    event = text_event("success", "executed")
    assert isinstance(event, NodeExecuted)
    assert (event.node, event.display_node) == ("2", "2")
    assert event.output == {
        "images": [{"filename": "sdk_success_00001_.png", "subfolder": "", "type": "output"}]
    }


def test_execution_error_fields() -> None:
    first = text_event("execution_error", "execution_error", 0)
    assert isinstance(first, ExecutionFailed)
    assert first.prompt_id == "68639505-4a1c-4b3b-9c44-cf1cc4e58991"
    assert (first.node_id, first.node_type) == ("2", "ImageScaleBy")
    assert first.exception_type == "RuntimeError"
    assert first.exception_message.startswith("Input and output sizes should be greater than 0")
    assert isinstance(first.traceback, tuple) and len(first.traceback) > 0
    assert all(isinstance(line, str) for line in first.traceback)
    assert first.executed == ("1",)
    assert "scale_by" in first.current_inputs
    assert isinstance(first.timestamp, int)
    resubmitted = text_event("execution_error", "execution_error", 1)
    assert isinstance(resubmitted, ExecutionFailed)
    assert resubmitted.executed == ()  # node 1 was cached


def test_execution_blocked_is_not_fatal() -> None:
    data = {
        "prompt_id": "p1",
        "node_id": "5",
        "node_type": "SomeGate",
        "executed": [],
        "exception_message": "blocked by the gate",
        "exception_type": "ExecutionBlocked",
        "traceback": [],
        "current_inputs": {},
        "current_outputs": [],
    }
    event = parse_message("execution_error", data)
    assert event == ExecutionBlocked(
        prompt_id="p1", node_id="5", node_type="SomeGate", message="blocked by the gate"
    )


def test_execution_interrupted() -> None:
    event = text_event("interrupted", "execution_interrupted", 0)
    assert isinstance(event, ExecutionInterrupted)
    assert event.prompt_id == "f0d23cef-2e4f-4a24-944a-b9d9bf4896c9"
    assert (event.node_id, event.node_type) == ("11", "ImageBlur")
    assert event.executed == ("10", "1")
    assert event.timestamp == 1795739664325


def test_progress_and_progress_state() -> None:
    pid = "0a482680-0a47-4612-9ede-2c012fe19f76"
    progress = [text_event("preview_binary_frames", "progress", i, ws="legacy") for i in (0, 1)]
    assert progress == [
        ProgressUpdated(prompt_id=pid, node="2", value=0.0, max=2.0),
        ProgressUpdated(prompt_id=pid, node="2", value=1.0, max=2.0),
    ]
    state = text_event("success", "progress_state", 2)
    assert isinstance(state, ProgressStateUpdated)
    assert [(n.node_id, n.state, n.value, n.max) for n in state.nodes] == [
        ("1", "finished", 1.0, 1.0),
        ("2", "running", 0.0, 1.0),
    ]
    assert state.nodes[1] == NodeProgress(
        node_id="2", state="running", value=0.0, max=1.0, display_node_id="2", real_node_id="2"
    )


def rebuilt(obj: Any) -> Any:
    """``obj`` made again through its class's own __init__, from its fields."""
    return type(obj)(**{f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)})


@pytest.mark.parametrize("name", FILES)
def test_events_are_those_of_their_init(name: str) -> None:
    # The parser builds its most frequent events (and progress_state's nodes) without
    # their __init__: each must be what the __init__ makes, every field set.
    for record in recorded.load(name):
        if record["kind"] != "ws_text":
            continue
        event = parse_text(json.dumps(record["data"]))
        parts: list[Any] = [event]
        if isinstance(event, ProgressStateUpdated):
            parts += event.nodes
        for obj in parts:
            again = rebuilt(obj)
            assert obj == again and repr(obj) == repr(again)
            try:
                expected = hash(again)
            except TypeError:  # a dict field (an output, the flags)
                with pytest.raises(TypeError):
                    hash(obj)
            else:
                assert hash(obj) == expected
            assert pickle.loads(pickle.dumps(obj)) == obj
            with pytest.raises(dataclasses.FrozenInstanceError):
                setattr(obj, dataclasses.fields(obj)[0].name, None)


def test_progress_state_entry_of_other_types() -> None:
    # Ints where floats are usual, an int node id: converted as the field readers do.
    data = '{"nodes": {"7": {"state": "running", "value": 1, "max": 4, "display_node_id": 3}}}'
    event = parse_text(env("progress_state", data))
    assert event == ProgressStateUpdated(
        nodes=(NodeProgress(node_id="7", state="running", value=1.0, max=4.0, display_node_id="3"),)
    )
    assert type(event.nodes[0].value) is float


def test_text_message_decodes_as_json_loads_does() -> None:
    # Whitespace around the envelope, bytes in any JSON encoding: what json.loads accepts.
    text = json.dumps({"type": "execution_start", "data": {"prompt_id": "p", "timestamp": 1}})
    expected = ExecutionStarted(prompt_id="p", timestamp=1)
    for form in (text, f" {text}\n", text.encode(), text.encode("utf-16"), f"\t{text}"):
        assert parse_text(form) == expected
    for bad in ("\ufeff" + text, text + " x", text[:-1], text + text):
        with pytest.raises(RemoteProtocolError, match="not JSON") as caught:
            parse_text(bad)
        assert isinstance(caught.value.__cause__, json.JSONDecodeError)


@pytest.mark.parametrize("name", FILES)
def test_text_message_as_its_decoded_pair(name: str) -> None:
    # parse_text reads the usual message without parse_message; it must say the same.
    for record in recorded.load(name):
        if record["kind"] == "ws_text":
            envelope = record["data"]
            expected = parse_message(envelope.get("type"), envelope.get("data"))
            assert parse_text(json.dumps(envelope)) == expected


@pytest.mark.parametrize(
    "envelope",
    [
        {"type": ["status"], "data": {}},  # unhashable type
        {"type": 3, "data": {}},
        {"type": "status", "data": []},
        {"type": "status", "data": None},
        {"type": "status"},
        {"data": {}},
        {"type": "no_such_type", "data": {"prompt_id": "p"}},
        {"type": "no_such_type", "data": [1]},
    ],
)
def test_odd_envelope_as_its_decoded_pair(envelope: dict[str, Any]) -> None:
    try:
        expected: object = parse_message(envelope.get("type"), envelope.get("data"))
    except RemoteProtocolError as exc:
        with pytest.raises(RemoteProtocolError) as caught:
            parse_text(json.dumps(envelope))
        assert str(caught.value) == str(exc)
    else:
        assert parse_text(json.dumps(envelope)) == expected


def test_feature_flags_reply() -> None:
    event = text_event("preview_binary_frames", "feature_flags", ws="flags")
    assert event == FeatureFlagsReceived(
        flags={"supports_preview_metadata": True, "max_upload_size": 104857600}
    )


# -- recorded binary frames --------------------------------------------------------------


@pytest.mark.parametrize(("ws", "frame_type"), [("legacy", 1), ("flags", 4)])
def test_recorded_preview_frames(ws: str, frame_type: int) -> None:
    frames = binaries("preview_binary_frames", ws)
    assert len(frames) == 2
    for record, frame in frames:
        assert len(frame) == record["len"]
        event = parse_binary(frame)
        assert isinstance(event, PreviewReceived)
        assert event.frame_type == frame_type
        assert event.mime == "image/png"
        header = 8 if frame_type == 1 else 8 + record["metadata_len"]
        assert event.image == frame[header:]
        assert len(event.image) == record["image_len"]
        with Image.open(io.BytesIO(event.image)) as image:
            assert list(image.size) == record["pil_size"]
        if frame_type == 1:
            assert (event.prompt_id, event.node, event.metadata) == (None, None, {})
        else:
            assert event.prompt_id == "fdaa2d5d-4f60-430d-aead-3734af4c1912"
            assert event.node == "2"
            assert event.metadata == record["metadata"]


# -- hand-built frames and messages ----------------------------------------------------


def text_frame(node: bytes, text: bytes) -> bytes:
    return struct.pack(">II", 3, len(node)) + node + text


def test_text_frame() -> None:
    event = parse_binary(text_frame(b"12:5", "Größe 64x64".encode()))
    assert event == TextReceived(node="12:5", text="Größe 64x64")
    assert parse_binary(text_frame(b"7", b"")) == TextReceived(node="7", text="")


def test_unknown_binary_type() -> None:
    assert parse_binary(struct.pack(">I", 9) + b"payload") == UnknownMessage(
        type=9, data=b"payload"
    )


def test_unknown_text_type() -> None:
    data = {"cpu_utilization": 12.5, "ram_used_percent": 40}
    event = parse_text(json.dumps({"type": "crystools.monitor", "data": data}))
    assert event == UnknownMessage(type="crystools.monitor", data=data, prompt_id=None)
    tagged = parse_message("my.custom", {"prompt_id": "p9", "x": 1})
    assert isinstance(tagged, UnknownMessage) and tagged.prompt_id == "p9"


def preview4(metadata: bytes, image: bytes = b"\x89PNG\r\n\x1a\n", length: int = -1) -> bytes:
    n = len(metadata) if length < 0 else length
    return struct.pack(">II", 4, n) + metadata + image


BAD_FRAMES = {
    "empty": b"",
    "three bytes": b"\x00\x00\x00",
    "type 1 without format": b"\x00\x00\x00\x01\x00\x00",
    "type 3 without node length": b"\x00\x00\x00\x03\x00",
    "type 3 node length past end": struct.pack(">II", 3, 50) + b"abc",
    "type 4 without metadata length": b"\x00\x00\x00\x04",
    "type 4 metadata length past end": preview4(b'{"node_id": "1"}', b"", length=500),
    "type 4 metadata not JSON": preview4(b"{not json"),
    "type 4 metadata not UTF-8": preview4(b"\xc3\x28"),
    "type 4 metadata a list": preview4(b'["node", "1"]'),
    "type 4 metadata a string": preview4(b'"node"'),
}


@pytest.mark.parametrize("frame", BAD_FRAMES.values(), ids=BAD_FRAMES.keys())
def test_malformed_binary_frames(frame: bytes) -> None:
    with pytest.raises(RemoteProtocolError):
        parse_binary(frame)


def env(type_: str, data: str) -> str:
    """A text envelope with ``data`` spliced in verbatim (so NaN and Infinity stay literal)."""
    return f'{{"type": "{type_}", "data": {data}}}'


BAD_TEXTS: dict[str, str | bytes] = {
    "not JSON": "status: ok",
    "not UTF-8": b'{"type": "status", "data": \xff}',
    "empty": "",
    "JSON array": '[{"type": "status"}]',
    "JSON string": '"status"',
    "type missing": '{"data": {}}',
    "type not a string": '{"type": 5, "data": {}}',
    "data a list": env("executing", '["1"]'),
    "data null": env("execution_start", "null"),
    "progress non-numeric": env("progress", '{"value": "half", "max": 2, "node": "1"}'),
    "progress boolean": env("progress", '{"value": true, "max": 2, "node": "1"}'),
    "progress NaN": env("progress", '{"value": NaN, "max": 2, "node": "1"}'),
    "progress Infinity": env("progress", '{"value": 1, "max": Infinity}'),
    # a valid JSON integer too large for a float: must not leak OverflowError
    "progress huge integer": env("progress", '{"value": 1%s, "max": 2}' % ("0" * 400)),
    "status -Infinity": env("status", '{"status": {"exec_info": {"queue_remaining": -Infinity}}}'),
    "timestamp NaN": env("execution_start", '{"prompt_id": "p", "timestamp": NaN}'),
    "missing prompt_id": env("execution_success", '{"timestamp": 1}'),
    "cached nodes not a list": env("execution_cached", '{"prompt_id": "p", "nodes": "1"}'),
    "progress_state entry": env("progress_state", '{"nodes": {"1": 3}}'),
}


@pytest.mark.parametrize("text", BAD_TEXTS.values(), ids=BAD_TEXTS.keys())
def test_malformed_text_messages(text: str | bytes) -> None:
    with pytest.raises(RemoteProtocolError):
        parse_text(text)


# -- sniffing --------------------------------------------------------------------------


def encoded(fmt: str) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (4, 3), (200, 10, 10)).save(buffer, format=fmt)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("fmt", "mime"),
    [("PNG", "image/png"), ("JPEG", "image/jpeg"), ("WEBP", "image/webp"), ("GIF", "image/gif")],
)
def test_sniff_real_images(fmt: str, mime: str) -> None:
    assert sniff_mime(encoded(fmt)) == mime


@pytest.mark.parametrize(
    ("data", "mime"),
    [
        (b"\x89PNG\r\n\x1a\n", "image/png"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", "image/jpeg"),
        (b"RIFF\x24\x00\x00\x00WEBPVP8 ", "image/webp"),
        (b"GIF87a\x01\x00", "image/gif"),
        (b"GIF89a\x01\x00", "image/gif"),
        (b"RIFF\x24\x00\x00\x00WAVEfmt ", "application/octet-stream"),
        (b"BM\x00\x00", "application/octet-stream"),
        (b"\x89PNG", "application/octet-stream"),
        (b"", "application/octet-stream"),
    ],
)
def test_sniff_magic_bytes(data: bytes, mime: str) -> None:
    assert sniff_mime(data) == mime
