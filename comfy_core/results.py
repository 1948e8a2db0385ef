"""The result of a finished prompt, and how to read one from a history entry.

:class:`PromptResult` keeps the original package's shape (``prompt_id`` and
``output_images``, a list of :class:`ImageItem` with ``.image``, ``.filename``
and ``.format``) and adds ``outputs``: every output of every node, typed. The
core builds results without bytes; the client downloads the images of
``output_images`` when it settles the result, and ``.image`` decodes them with
Pillow (imported only then) on first access.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from comfy_core.errors import (
    ComfyExecutionError,
    ImageDecodeError,
    ImageTooLargeError,
    NodeExecutionError,
    PromptInterruptedError,
    RemoteProtocolError,
)
from comfy_core.events import Event, ExecutionFailed, ExecutionInterrupted
from comfy_core.messages import parse_message, sniff_mime
from comfy_core.outputs import NodeOutput, OutputFile, parse_outputs

if TYPE_CHECKING:
    from PIL.Image import Image

__all__ = ["ImageItem", "PromptResult", "error_from_event", "outcome_from_history"]


@dataclass(slots=True, kw_only=True)
class ImageItem:
    """A downloaded output image. ``.image`` is a Pillow image, decoded on first access."""

    filename: str
    format: str
    data: bytes = field(repr=False)
    subfolder: str = ""
    type: str = "output"
    node_id: str = ""
    _decoded: Image | None = field(default=None, init=False, repr=False, compare=False)

    @classmethod
    def from_download(cls, ref: OutputFile, data: bytes) -> ImageItem:
        """Wrap the bytes of ``ref``; ``format`` comes from the magic bytes, else the name."""
        sniffed = sniff_mime(data)
        fmt = sniffed.split("/")[1] if sniffed.startswith("image/") else ref.mime.split("/")[-1]
        return cls(
            filename=ref.filename,
            format=fmt,
            data=data,
            subfolder=ref.subfolder,
            type=ref.type,
            node_id=ref.node_id,
        )

    @property
    def image(self) -> Image:
        if self._decoded is None:
            import io

            from PIL import Image as PILImage

            try:
                decoded = PILImage.open(io.BytesIO(self.data))
                decoded.load()
            except PILImage.DecompressionBombError as exc:
                raise ImageTooLargeError(f"{self.filename}: {exc}") from exc
            except Exception as exc:  # Pillow raises many kinds for bytes that are no image
                raise ImageDecodeError(
                    f"{self.filename} is not an image Pillow can read: {type(exc).__name__}"
                ) from exc
            self._decoded = decoded
        return self._decoded


@dataclass(frozen=True, slots=True, kw_only=True)
class PromptResult:
    """A successful prompt's outputs: ``outputs`` by node id, ``output_images`` downloaded."""

    prompt_id: str
    outputs: Mapping[str, NodeOutput] = field(default_factory=dict)
    output_images: list[ImageItem] = field(default_factory=list)
    node_errors: Mapping[str, Any] = field(default_factory=dict)

    @property
    def files(self) -> tuple[OutputFile, ...]:
        """Every output file of every node, in node order."""
        return tuple(f for node in self.outputs.values() for f in node.files)

    @property
    def image_files(self) -> tuple[OutputFile, ...]:
        """The references behind ``output_images``: every ``images`` item of every node."""
        return tuple(f for node in self.outputs.values() for f in node.images)

    def with_images(self, images: list[ImageItem]) -> PromptResult:
        return replace(self, output_images=images)


def error_from_event(prompt_id: str, event: Event) -> ComfyExecutionError | None:
    """The typed error for an ``execution_error`` or ``execution_interrupted`` event."""
    if isinstance(event, ExecutionFailed):
        return NodeExecutionError(
            prompt_id=prompt_id,
            node_id=event.node_id,
            node_type=event.node_type,
            exception_type=event.exception_type,
            exception_message=event.exception_message,
            traceback=event.traceback,
            executed=event.executed,
        )
    if isinstance(event, ExecutionInterrupted):
        return PromptInterruptedError(
            prompt_id=prompt_id, node_id=event.node_id, node_type=event.node_type
        )
    return None


def outcome_from_history(
    prompt_id: str, entry: Mapping[str, Any]
) -> PromptResult | ComfyExecutionError:
    """Read one history entry into a result, or into the error that ended the prompt.

    Error and interrupt both read ``status_str: "error"``; the last
    ``execution_*`` message tells them apart. An entry without ``status``
    (servers before 2024) is taken as a success.
    """
    if not isinstance(entry, Mapping):
        raise RemoteProtocolError(f"history entry for {prompt_id} should be an object")
    status = entry.get("status")
    if isinstance(status, Mapping) and status.get("status_str") == "error":
        for message in reversed(status.get("messages") or []):
            if isinstance(message, list) and len(message) == 2:
                try:
                    error = error_from_event(prompt_id, parse_message(message[0], message[1]))
                except RemoteProtocolError:
                    continue
                if error is not None:
                    return error
        failed = ComfyExecutionError(f"prompt {prompt_id} ended with status 'error'")
        failed.prompt_id = prompt_id
        return failed
    return PromptResult(prompt_id=prompt_id, outputs=parse_outputs(entry.get("outputs")))
