"""The result of a finished prompt.

:class:`PromptResult` keeps the original package's shape (``prompt_id`` and
``output_images``, a list of :class:`ImageItem` with ``.image``, ``.filename``
and ``.format``) and adds ``outputs``: every output of every node, typed. The
core builds results without bytes; the client downloads the images of
``output_images`` when it settles the result, and ``.image`` decodes them with
Pillow (imported only then) on first access. Reading a history entry into a
result is :mod:`comfy_core.history`'s job.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from comfy_core.errors import ImageDecodeError, ImageTooLargeError
from comfy_core.messages import sniff_mime
from comfy_core.outputs import NodeOutput, OutputFile

if TYPE_CHECKING:
    from PIL.Image import Image

__all__ = ["ImageItem", "PromptResult"]


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

    def downloaded(self) -> list[tuple[OutputFile, ImageItem | None]]:
        """Every output file (``files``) with its ``output_images`` item, where one was
        downloaded (None for the rest: latents, videos, files not fetched)."""
        images = {(i.node_id, i.subfolder, i.type, i.filename): i for i in self.output_images}
        return [(f, images.get((f.node_id, f.subfolder, f.type, f.filename))) for f in self.files]
