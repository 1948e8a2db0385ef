"""Parse ComfyUI WebSocket messages into events.

Text messages are JSON envelopes ``{"type": str, "data": object}``; binary
frames start with a 4-byte big-endian type (1 preview, 3 text, 4 preview with
JSON metadata; 2 never reaches the wire). Parsing is pure: one message in, one
event out. A message that is not of the documented shape raises
:class:`RemoteProtocolError`; a message of a type we do not know becomes
:class:`UnknownMessage`. Any other exception is a bug.

The same :func:`parse_message` reads the ``[type, data]`` pairs stored in a
history entry's ``status.messages``.
"""

from __future__ import annotations

import dataclasses
import json
import math
import struct
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from comfy_core.errors import RemoteProtocolError
from comfy_core.events import (
    ComponentDisplayed,
    Event,
    ExecutionBlocked,
    ExecutionCached,
    ExecutionFailed,
    ExecutionFinished,
    ExecutionInterrupted,
    ExecutionStarted,
    ExecutionSucceeded,
    FeatureFlagsReceived,
    LogsReceived,
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

__all__ = ["parse_binary", "parse_message", "parse_text", "sniff_mime"]

_U32 = struct.Struct(">I")
_T = TypeVar("_T")
# The scanner of json's default decoder: json.loads calls it through three Python layers
# that cost about as much as scanning a short message.
_scan_once: Callable[[str, int], tuple[Any, int]] = vars(json.JSONDecoder())["scan_once"]
_UNREAD = object()  # parse_text's envelope before it is decoded


# -- field readers: each raises RemoteProtocolError naming the field ----------


# Ints this small convert to float and back exactly.
_EXACT = 2**53


def _get(data: Mapping[str, Any], key: str) -> Any:
    try:
        return data[key]
    except KeyError as exc:
        raise RemoteProtocolError(f"message field {key!r} is missing") from exc


def _str(data: Mapping[str, Any], key: str) -> str:
    value = _get(data, key)
    if type(value) is str:
        return value
    if isinstance(value, (str, int)) and not isinstance(value, bool):
        return str(value)  # node ids are strings, but be lenient with ints
    raise RemoteProtocolError(f"message field {key!r} should be a string, got {value!r:.80}")


def _opt_str(data: Mapping[str, Any], key: str) -> str | None:
    value = data.get(key)
    if value is None:
        return None
    return value if type(value) is str else _str(data, key)


def _num(data: Mapping[str, Any], key: str) -> float:
    value = _get(data, key)
    if type(value) is float:
        if value - value == 0.0:  # finite (inf - inf and nan - nan are nan)
            return value
    elif type(value) is int and -_EXACT <= value <= _EXACT:
        return float(value)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        try:
            number = float(value)  # an int past the float range overflows here
        except OverflowError:
            number = math.inf
        if math.isfinite(number):
            return number
    raise RemoteProtocolError(f"message field {key!r} should be a finite number, got {value!r:.80}")


def _opt_int(data: Mapping[str, Any], key: str) -> int | None:
    value = data.get(key)
    if value is None:
        return None
    if type(value) is int and -_EXACT <= value <= _EXACT:
        return value  # int(float(value)) is value
    return int(_num(data, key))


def _strs(data: Mapping[str, Any], key: str) -> tuple[str, ...]:
    value = data.get(key)
    if value is None:
        return ()
    if not isinstance(value, list) or not all(
        isinstance(v, (str, int)) and not isinstance(v, bool) for v in value
    ):
        raise RemoteProtocolError(f"message field {key!r} should be a list of strings")
    return tuple(str(v) for v in value)


def _dict(data: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = data.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise RemoteProtocolError(f"message field {key!r} should be an object")
    return value


# -- text messages --------------------------------------------------------------


def _status(d: Mapping[str, Any]) -> Event:
    exec_info = _dict(_dict(d, "status"), "exec_info")
    return _status_reported(None, int(_num(exec_info, "queue_remaining")), _opt_str(d, "sid"))


def _executing(d: Mapping[str, Any]) -> Event:
    prompt_id = _opt_str(d, "prompt_id")
    if d.get("node") is None:
        if prompt_id is None:
            raise RemoteProtocolError("'executing' with no node and no prompt_id")
        return _execution_finished(prompt_id)
    return _node_started(prompt_id, _str(d, "node"), _opt_str(d, "display_node"))


def _maker(cls: type[_T]) -> Callable[..., _T]:
    """``cls(**fields)`` for a frozen slots dataclass, taking every field positionally in
    field order and setting the slots directly: the dataclass __init__ sets each field of
    a frozen instance through object.__setattr__, which costs about as much as reading a
    short message. Tests check each maker against its class's own __init__."""
    names = [f.name for f in dataclasses.fields(cls)]  # type: ignore[arg-type]
    scope: dict[str, Any] = {"new": object.__new__, "cls": cls}
    lines = [f"def make({', '.join(names)}):", "    o = new(cls)"]
    for name in names:
        scope[f"set_{name}"] = getattr(cls, name).__set__  # the slot's descriptor
        lines.append(f"    set_{name}(o, {name})")
    exec("\n".join([*lines, "    return o"]), scope)
    make: Callable[..., _T] = scope["make"]
    return make


# The events of nearly every message, and the nodes of progress_state snapshots (each
# lists every node that is not pending, again each time).
_status_reported = _maker(StatusReported)
_execution_started = _maker(ExecutionStarted)
_execution_cached = _maker(ExecutionCached)
_node_started = _maker(NodeStarted)
_execution_finished = _maker(ExecutionFinished)
_node_progress = _maker(NodeProgress)
_progress_state_updated = _maker(ProgressStateUpdated)
_node_executed = _maker(NodeExecuted)
_execution_succeeded = _maker(ExecutionSucceeded)


def _progress_state(d: Mapping[str, Any]) -> Event:
    nodes = []
    for node_id, info in _dict(d, "nodes").items():
        if not isinstance(info, dict):
            raise RemoteProtocolError("progress_state node entries should be objects")
        # An entry of the usual types is read at once; any other goes through the field
        # readers, which convert what they accept and name what they do not.
        state, value, max_ = info.get("state"), info.get("value"), info.get("max")
        display, parent, real = (
            info.get("display_node_id"),
            info.get("parent_node_id"),
            info.get("real_node_id"),
        )
        if not (
            type(state) is str
            and type(value) is float
            and value - value == 0.0
            and type(max_) is float
            and max_ - max_ == 0.0
            and (display is None or type(display) is str)
            and (parent is None or type(parent) is str)
            and (real is None or type(real) is str)
        ):
            state, value, max_ = _str(info, "state"), _num(info, "value"), _num(info, "max")
            display = _opt_str(info, "display_node_id")
            parent = _opt_str(info, "parent_node_id")
            real = _opt_str(info, "real_node_id")
        nodes.append(_node_progress(str(node_id), state, value, max_, display, parent, real))
    return _progress_state_updated(_opt_str(d, "prompt_id"), tuple(nodes))


def _execution_error(d: Mapping[str, Any]) -> Event:
    prompt_id = _str(d, "prompt_id")
    if d.get("exception_type") == "ExecutionBlocked" and "timestamp" not in d:
        return ExecutionBlocked(
            prompt_id=prompt_id,
            node_id=_str(d, "node_id"),
            node_type=_str(d, "node_type"),
            message=str(d.get("exception_message", "")),
        )
    return ExecutionFailed(
        prompt_id=prompt_id,
        node_id=_str(d, "node_id"),
        node_type=_str(d, "node_type"),
        exception_type=_str(d, "exception_type"),
        exception_message=_str(d, "exception_message"),
        traceback=_strs(d, "traceback"),
        executed=_strs(d, "executed"),
        current_inputs=_dict(d, "current_inputs"),
        current_outputs=_strs(d, "current_outputs"),
        timestamp=_opt_int(d, "timestamp"),
    )


def _logs(d: Mapping[str, Any]) -> Event:
    entries = d.get("entries") or []
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise RemoteProtocolError("logs entries should be a list of objects")
    size = d.get("size")
    return LogsReceived(entries=tuple(entries), size=size if isinstance(size, dict) else None)


_TEXT_PARSERS: dict[str, Callable[[Mapping[str, Any]], Event]] = {
    "status": _status,
    "feature_flags": lambda d: FeatureFlagsReceived(flags=d),
    "execution_start": lambda d: _execution_started(_str(d, "prompt_id"), _opt_int(d, "timestamp")),
    "execution_cached": lambda d: _execution_cached(
        _str(d, "prompt_id"), _strs(d, "nodes"), _opt_int(d, "timestamp")
    ),
    "executing": _executing,
    "progress": lambda d: ProgressUpdated(
        prompt_id=_opt_str(d, "prompt_id"),
        node=_opt_str(d, "node"),
        value=_num(d, "value"),
        max=_num(d, "max"),
    ),
    "progress_state": _progress_state,
    "executed": lambda d: _node_executed(
        _opt_str(d, "prompt_id"),
        _str(d, "node"),
        _opt_str(d, "display_node"),
        _dict(d, "output"),  # output may be null: treat as no output
    ),
    "execution_success": lambda d: _execution_succeeded(
        _str(d, "prompt_id"), _opt_int(d, "timestamp")
    ),
    "execution_error": _execution_error,
    "execution_interrupted": lambda d: ExecutionInterrupted(
        prompt_id=_str(d, "prompt_id"),
        node_id=_opt_str(d, "node_id"),
        node_type=_opt_str(d, "node_type"),
        executed=_strs(d, "executed"),
        timestamp=_opt_int(d, "timestamp"),
    ),
    "logs": _logs,
    "display_component": lambda d: ComponentDisplayed(
        prompt_id=_opt_str(d, "prompt_id"),
        node_id=_opt_str(d, "node_id"),
        component=_str(d, "component"),
        props=_dict(d, "props"),
    ),
}


def parse_message(type_: object, data: object) -> Event:
    """Turn one ``(type, data)`` pair into its event.

    Unknown types give :class:`UnknownMessage` (with ``prompt_id`` when the data
    carries one). Known types with the wrong shape raise RemoteProtocolError.
    """
    if not isinstance(type_, str):
        raise RemoteProtocolError(f"message type should be a string, got {type_!r:.80}")
    parser = _TEXT_PARSERS.get(type_)
    if parser is None:
        prompt_id = data.get("prompt_id") if isinstance(data, dict) else None
        return UnknownMessage(
            type=type_, data=data, prompt_id=prompt_id if isinstance(prompt_id, str) else None
        )
    if not isinstance(data, dict):
        raise RemoteProtocolError(f"{type_!r} message data should be an object")
    return parser(data)


def parse_text(text: str | bytes) -> Event:
    """Parse one WebSocket text message (a JSON envelope) into its event."""
    # The usual message (a str, one JSON value, nothing around it) goes straight through
    # the scanner; anything else (bytes, whitespace, a byte-order mark, an error) through
    # json.loads itself, so that results and errors stay its own. The known types' parsers
    # are then called here, parse_message taking the rest: each call saved on this path
    # is a few percent of a message's cost.
    envelope: Any = _UNREAD
    if type(text) is str:
        try:
            value, end = _scan_once(text, 0)
        except Exception:  # not a value at 0, or malformed: json.loads says which
            pass
        else:
            if end == len(text):
                envelope = value
    if envelope is _UNREAD:
        try:
            envelope = json.loads(text)
        except (ValueError, UnicodeDecodeError, RecursionError) as exc:
            raise RemoteProtocolError(f"text message is not JSON: {str(text)[:80]!r}") from exc
    if type(envelope) is not dict:
        raise RemoteProtocolError("text message should be a JSON object")
    type_, data = envelope.get("type"), envelope.get("data")
    parser = _TEXT_PARSERS.get(type_) if type(type_) is str else None
    if parser is not None and type(data) is dict:
        return parser(data)
    return parse_message(type_, data)


# -- binary frames --------------------------------------------------------------


def sniff_mime(image: bytes) -> str:
    """The image type from its magic bytes (the frame's own label is unreliable)."""
    if image.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if image.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if image[:4] == b"RIFF" and image[8:12] == b"WEBP":
        return "image/webp"
    if image[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    return "application/octet-stream"


def _u32(frame: bytes, offset: int, what: str) -> int:
    if len(frame) < offset + 4:
        raise RemoteProtocolError(f"binary frame truncated before its {what}")
    value: int = _U32.unpack_from(frame, offset)[0]
    return value


def _length_prefixed(frame: bytes, offset: int, what: str) -> tuple[bytes, int]:
    n = _u32(frame, offset, f"{what} length")
    start, end = offset + 4, offset + 4 + n
    if len(frame) < end:
        raise RemoteProtocolError(f"binary frame truncated inside its {what}")
    return frame[start:end], end


def parse_binary(frame: bytes) -> Event:
    """Parse one binary WebSocket frame.

    Type 1 and 3 carry no ids: the event's ``prompt_id`` and ``node`` are None
    and the tracker fills in its best guess. Unknown types give
    :class:`UnknownMessage` with the payload after the type as ``data``.
    """
    frame = bytes(frame)
    kind = _u32(frame, 0, "type")
    if kind == 1:
        _u32(frame, 4, "image format")
        image = frame[8:]
        return PreviewReceived(node=None, mime=sniff_mime(image), image=image, frame_type=1)
    if kind == 3:
        node, end = _length_prefixed(frame, 4, "node id")
        return TextReceived(
            node=node.decode("utf-8", "replace"), text=frame[end:].decode("utf-8", "replace")
        )
    if kind == 4:
        raw, end = _length_prefixed(frame, 4, "metadata")
        try:
            meta = json.loads(raw)
        except (ValueError, UnicodeDecodeError, RecursionError) as exc:
            raise RemoteProtocolError("preview metadata is not JSON") from exc
        if not isinstance(meta, dict):
            raise RemoteProtocolError("preview metadata should be a JSON object")
        image = frame[end:]
        return PreviewReceived(
            prompt_id=_opt_str(meta, "prompt_id"),
            node=_opt_str(meta, "display_node_id") or _opt_str(meta, "node_id"),
            mime=sniff_mime(image),
            image=image,
            frame_type=4,
            metadata=meta,
        )
    return UnknownMessage(type=kind, data=frame[4:])
