"""Workflows embedded in files ComfyUI saved: PNG text chunks and WebP EXIF.

ComfyUI's SaveImage writes the API prompt as a PNG ``tEXt`` chunk ``prompt``
and each ``extra_pnginfo`` key (normally ``workflow``, the UI workflow) as a
chunk of its own; Pillow writes ``iTXt`` instead when the text is not Latin-1.
SaveAnimatedWEBP writes EXIF tag 0x0110 as ``"prompt:<json>"`` and the
``extra_pnginfo`` keys into tags from 0x010F downwards as ``"workflow:<json>"``.
Only the standard library is used (``struct`` and ``zlib``).
"""

from __future__ import annotations

import struct
import zlib

from comfy_core.errors import WorkflowFormatError

__all__ = [
    "PNG_SIGNATURE",
    "is_embedded_image",
    "read_png_text",
    "read_text_metadata",
    "read_webp_exif",
]

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def is_embedded_image(data: bytes) -> bool:
    """True for the file kinds :func:`read_text_metadata` reads (PNG, WebP)."""
    return data.startswith(PNG_SIGNATURE) or (data[:4] == b"RIFF" and data[8:12] == b"WEBP")


def read_text_metadata(data: bytes) -> dict[str, str]:
    """The text entries of a PNG or WebP file: ``{"prompt": ..., "workflow": ...}``."""
    if data.startswith(PNG_SIGNATURE):
        return read_png_text(data)
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return read_webp_exif(data)
    raise WorkflowFormatError("not a PNG or WebP file")


def read_png_text(data: bytes) -> dict[str, str]:
    """Every ``tEXt``, ``zTXt`` and ``iTXt`` entry of a PNG, keyword → text."""
    if not data.startswith(PNG_SIGNATURE):
        raise WorkflowFormatError("not a PNG file")
    texts: dict[str, str] = {}
    pos = len(PNG_SIGNATURE)
    while pos + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        body = data[pos + 8 : pos + 8 + length]
        if len(body) < length:
            raise WorkflowFormatError(f"the PNG is truncated in a {kind!r} chunk")
        pos += 12 + length
        try:
            if kind == b"tEXt":
                key, _, text = body.partition(b"\0")
                texts.setdefault(key.decode("latin-1"), text.decode("latin-1"))
            elif kind == b"zTXt":
                key, _, rest = body.partition(b"\0")
                texts.setdefault(key.decode("latin-1"), zlib.decompress(rest[1:]).decode("latin-1"))
            elif kind == b"iTXt":
                key, _, rest = body.partition(b"\0")
                compressed, rest = rest[0], rest[2:]
                _lang, _, rest = rest.partition(b"\0")
                _translated, _, text = rest.partition(b"\0")
                raw = zlib.decompress(text) if compressed else text
                texts.setdefault(key.decode("latin-1"), raw.decode("utf-8"))
            elif kind == b"IEND":
                break
        except (zlib.error, UnicodeDecodeError, IndexError) as exc:
            raise WorkflowFormatError(
                f"unreadable PNG {kind.decode('latin-1')} chunk: {exc}"
            ) from exc
    return texts


def read_webp_exif(data: bytes) -> dict[str, str]:
    """The ``"key:value"`` ASCII tags of a WebP's EXIF chunk, as ComfyUI writes them."""
    pos = 12
    while pos + 8 <= len(data):
        kind = data[pos : pos + 4]
        (length,) = struct.unpack("<I", data[pos + 4 : pos + 8])
        body = data[pos + 8 : pos + 8 + length]
        pos += 8 + length + (length & 1)
        if kind == b"EXIF":
            return _exif_texts(body)
    return {}


def _exif_texts(exif: bytes) -> dict[str, str]:
    if exif.startswith(b"Exif\0\0"):
        exif = exif[6:]
    if exif[:2] not in (b"II", b"MM"):
        raise WorkflowFormatError("the WebP's EXIF chunk is not TIFF data")
    end = "<" if exif[:2] == b"II" else ">"
    texts: dict[str, str] = {}
    try:
        (offset,) = struct.unpack(end + "I", exif[4:8])
        (count,) = struct.unpack(end + "H", exif[offset : offset + 2])
        for index in range(count):
            entry = exif[offset + 2 + 12 * index : offset + 14 + 12 * index]
            _tag, kind, size = struct.unpack(end + "HHI", entry[:8])
            if kind not in (2, 7):  # ASCII, UNDEFINED
                continue
            if size <= 4:
                raw = entry[8 : 8 + size]
            else:
                (where,) = struct.unpack(end + "I", entry[8:12])
                raw = exif[where : where + size]
            text = raw.rstrip(b"\0").decode("utf-8", errors="replace")
            key, sep, value = text.partition(":")
            if sep:
                texts.setdefault(key, value)
    except struct.error as exc:
        raise WorkflowFormatError(f"the WebP's EXIF data is truncated: {exc}") from exc
    return texts
