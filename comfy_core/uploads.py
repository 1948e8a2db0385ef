"""Uploads: ``POST /upload/image`` and ``/upload/mask`` as multipart requests.

The bytes are sent unchanged (any file type works: images keep their format,
video and audio go through the same route). The server may rename a file on a
name clash (``name (1).png``): always use the name in :class:`UploadedFile`.
"""

from __future__ import annotations

import json
import mimetypes
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from comfy_core.errors import LocalProtocolError, RemoteProtocolError
from comfy_core.http import Request, Response
from comfy_core.routes import API, check_file_name, read_json

__all__ = ["UploadedFile", "encode_multipart", "read_upload", "upload_image", "upload_mask"]

FOLDER_TYPES = ("input", "temp", "output")


@dataclass(frozen=True, slots=True)
class UploadedFile:
    """Where the server put an upload (``ImageUploadResponse`` in the original package)."""

    name: str
    subfolder: str = ""
    type: str = "input"

    @property
    def load_name(self) -> str:
        """The value to give LoadImage's ``image`` input: ``subfolder/name`` or ``name``."""
        return f"{self.subfolder}/{self.name}" if self.subfolder else self.name


def encode_multipart(
    fields: Sequence[tuple[str, str]], files: Sequence[tuple[str, str, bytes, str]]
) -> tuple[str, bytes]:
    """A ``multipart/form-data`` body: (content type with boundary, body bytes).

    ``files`` holds ``(field, filename, data, content type)``.
    """
    boundary = f"comfy-{uuid.uuid4().hex}"
    parts: list[bytes] = []
    for name, value in fields:
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
            + value.encode()
            + b"\r\n"
        )
    for name, filename, data, content_type in files:
        quoted = filename.replace("\\", "\\\\").replace('"', '\\"')
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
            f'filename="{quoted}"\r\nContent-Type: {content_type}\r\n\r\n'.encode()
            + data
            + b"\r\n"
        )
    parts.append(f"--{boundary}--\r\n".encode())
    return f"multipart/form-data; boundary={boundary}", b"".join(parts)


def _check(name: str, subfolder: str | None, type: str) -> None:
    if not isinstance(name, str) or not name or "/" in name or "\\" in name:
        raise LocalProtocolError(f"upload name must be a plain file name, not {name!r}")
    check_file_name(name, "upload name")
    if subfolder:
        check_file_name(subfolder, "subfolder")
    if type not in FOLDER_TYPES:
        raise LocalProtocolError(f"upload type must be one of {FOLDER_TYPES}, not {type!r}")


def _upload(
    route: str,
    name: str,
    data: bytes,
    subfolder: str | None,
    overwrite: bool,
    type: str,
    extra: Sequence[tuple[str, str]] = (),
) -> Request:
    _check(name, subfolder, type)
    fields = [("type", type), *extra]
    if overwrite:
        fields.append(("overwrite", "true"))
    if subfolder:
        fields.append(("subfolder", subfolder))
    content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
    header, body = encode_multipart(fields, [("image", name, data, content_type)])
    return Request(
        method="POST", path=f"{API}{route}", headers=(("content-type", header),), body=body
    )


def upload_image(
    name: str,
    data: bytes,
    *,
    subfolder: str | None = None,
    overwrite: bool = True,
    type: str = "input",
) -> Request:
    """``POST /upload/image`` of ``data`` under ``name``; read the answer with ``read_upload``."""
    return _upload("/upload/image", name, data, subfolder, overwrite, type)


def upload_mask(
    name: str,
    data: bytes,
    original: UploadedFile,
    *,
    subfolder: str | None = None,
    overwrite: bool = True,
    type: str = "input",
) -> Request:
    """``POST /upload/mask``: the server puts ``data``'s alpha into ``original``.

    Note: the server answers 200 even when ``original`` does not exist (and then
    writes nothing); check that it does first.
    """
    ref = json.dumps(
        {"filename": original.name, "subfolder": original.subfolder, "type": original.type}
    )
    return _upload("/upload/mask", name, data, subfolder, overwrite, type, [("original_ref", ref)])


def read_upload(request: Request, response: Response) -> UploadedFile:
    data = read_json(request, response)
    if not isinstance(data, dict) or not isinstance(data.get("name"), str):
        raise RemoteProtocolError("an upload answer should name the stored file")
    return UploadedFile(
        name=data["name"],
        subfolder=str(data.get("subfolder") or ""),
        type=str(data.get("type") or "input"),
    )
