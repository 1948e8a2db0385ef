"""Turn what users hand to an upload (bytes, a path, a file object, a PIL image) into bytes.

Bytes, files and paths are sent unchanged, so a JPEG stays a JPEG (the
original package re-encoded everything to PNG). A PIL image is encoded in its
own format, else the one its file name suggests, else PNG; ``format`` forces a
re-encode of any input.
"""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import IO, Any

from comfy_core.errors import InvalidArgumentType, MediaNotFound

__all__ = ["ImageInput", "to_upload_bytes"]

ImageInput = Any  # bytes | str | os.PathLike[str] | IO[bytes] | PIL.Image.Image


def _encode(image: Any, format: str) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=format)
    return buffer.getvalue()


def to_upload_bytes(image: ImageInput, name: str, format: str | None = None) -> bytes:
    """The bytes to upload for ``image``; a clear error for anything else, before any request."""
    if isinstance(image, (bytes, bytearray, memoryview)):
        data = bytes(image)
    elif isinstance(image, (str, os.PathLike)):
        path = Path(image)
        if not path.is_file():
            raise MediaNotFound(f"cannot upload {str(path)!r}: no such file")
        data = path.read_bytes()
    elif hasattr(image, "read"):
        stream: IO[Any] = image
        data = stream.read()
        if not isinstance(data, bytes):
            raise InvalidArgumentType("the file object must be opened in binary mode ('rb')")
    elif hasattr(image, "save") and hasattr(image, "mode"):  # a PIL image
        from PIL import Image as PILImage

        ext = Path(name).suffix.lower()
        guessed = PILImage.registered_extensions().get(ext)
        return _encode(image, format or image.format or guessed or "PNG")
    else:
        raise InvalidArgumentType(
            "image must be bytes, a path, a binary file object or a PIL image, "
            f"not {type(image).__name__}"
        )
    if format is None:
        return data
    from PIL import Image as PILImage

    return _encode(PILImage.open(io.BytesIO(data)), format)
