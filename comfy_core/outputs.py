"""Typed outputs of a prompt: what each output node reported, by kind.

A node's UI dict (from an ``executed`` event or a history entry's ``outputs``)
maps a kind to a list. File kinds (``images``, ``gifs``, ``audio``,
``latents``, and any custom kind whose items name a ``filename``) become
:class:`OutputFile` references that say where to download the bytes from;
``text`` and ``animated`` are kept as values; everything else stays in ``raw``.
Nothing is downloaded here: the client fetches files on demand.
"""

from __future__ import annotations

import mimetypes
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["NodeOutput", "OutputFile", "parse_node_output", "parse_outputs"]

# Keys of an output item that describe where the file is; the rest is extra.
_LOCATION_KEYS = frozenset({"filename", "subfolder", "type"})
# A path on the server (VideoHelperSuite): useless to a client, and it leaks layout.
_DROPPED_KEYS = frozenset({"fullpath"})


@dataclass(frozen=True, slots=True, kw_only=True)
class OutputFile:
    """A file an output node wrote: download it with ``/view``.

    ``kind`` is the key it was listed under (``images``, ``gifs``, ``audio``,
    ``latents`` or a custom one); ``type`` is the server folder (``output``,
    ``temp`` or ``input``). ``extra`` holds any other keys of the item (a
    video's ``format`` and ``frame_rate``, for instance).
    """

    node_id: str
    kind: str
    filename: str
    subfolder: str = ""
    type: str = "output"
    # Left out of the hash so that file references can be set members and dict keys.
    extra: Mapping[str, Any] = field(default_factory=dict, hash=False)

    @property
    def mime(self) -> str:
        """The media type the item declares, else one guessed from the file name."""
        declared = self.extra.get("format")
        if isinstance(declared, str) and "/" in declared:
            return declared
        guessed, _ = mimetypes.guess_type(self.filename)
        return guessed or "application/octet-stream"


@dataclass(frozen=True, slots=True, kw_only=True)
class NodeOutput:
    """Everything one output node reported, with ``raw`` the UI dict as sent."""

    node_id: str
    files: tuple[OutputFile, ...] = ()
    text: tuple[str, ...] = ()
    animated: tuple[bool, ...] = ()
    raw: Mapping[str, Any] = field(default_factory=dict)

    def of_kind(self, kind: str) -> tuple[OutputFile, ...]:
        return tuple(f for f in self.files if f.kind == kind)

    @property
    def images(self) -> tuple[OutputFile, ...]:
        return self.of_kind("images")

    @property
    def gifs(self) -> tuple[OutputFile, ...]:
        return self.of_kind("gifs")

    @property
    def audio(self) -> tuple[OutputFile, ...]:
        return self.of_kind("audio")

    @property
    def latents(self) -> tuple[OutputFile, ...]:
        return self.of_kind("latents")


def _file(node_id: str, kind: str, item: Mapping[str, Any]) -> OutputFile | None:
    filename = item.get("filename")
    if not isinstance(filename, str) or not filename:
        return None
    subfolder = item.get("subfolder")
    folder = item.get("type")
    return OutputFile(
        node_id=node_id,
        kind=kind,
        filename=filename,
        subfolder=subfolder if isinstance(subfolder, str) else "",
        type=folder if isinstance(folder, str) and folder else "output",
        extra={k: v for k, v in item.items() if k not in _LOCATION_KEYS | _DROPPED_KEYS},
    )


def parse_node_output(node_id: str, ui: Mapping[str, Any] | None) -> NodeOutput:
    """Read one node's UI dict; unknown shapes are kept in ``raw`` and never fail."""
    if not isinstance(ui, Mapping):
        return NodeOutput(node_id=node_id)
    files: list[OutputFile] = []
    text: list[str] = []
    animated: list[bool] = []
    for kind, items in ui.items():
        if not isinstance(items, list):
            continue
        if kind == "text":
            text.extend(str(t) for t in items if isinstance(t, (str, int, float)))
        elif kind == "animated":
            animated.extend(bool(a) for a in items)
        else:
            for item in items:
                if isinstance(item, Mapping) and (ref := _file(node_id, str(kind), item)):
                    files.append(ref)
    return NodeOutput(
        node_id=node_id,
        files=tuple(files),
        text=tuple(text),
        animated=tuple(animated),
        raw=ui,
    )


def parse_outputs(outputs: Mapping[str, Any] | None) -> dict[str, NodeOutput]:
    """Read a history entry's ``outputs`` ({node_id: ui_dict}) in the server's order."""
    if not isinstance(outputs, Mapping):
        return {}
    return {str(node): parse_node_output(str(node), ui) for node, ui in outputs.items()}
