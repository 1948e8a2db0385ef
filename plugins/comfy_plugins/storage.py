"""Built-in plugins (opt-in): store every output file of a finished prompt.

    from comfy_plugins.storage import LocalStorage, FsspecStorage
    create_client(url, plugins=[LocalStorage("outputs")])
    create_client(url, plugins=[FsspecStorage("s3://bucket/comfy", key=..., secret=...)])

Where a file goes is ``layout`` formatted with ``prompt_id``, ``node_id``,
``kind`` (images, latents, ...), ``type`` (output, temp, input), ``subfolder``
and ``filename``. The server names the files, so every value is cleaned first:
``..``, empty and ``.`` segments are dropped and absolute paths made relative;
nothing can be written outside the target. ``FsspecStorage`` needs ``fsspec``
(and ``s3fs`` for ``s3://``): ``pip install 'comfy-api-client[storage]'``.
"""

from __future__ import annotations

import posixpath
from pathlib import Path
from typing import Any

from comfy_api_client.hookspecs import hookimpl
from comfy_core.errors import StorageError
from comfy_core.outputs import OutputFile

__all__ = ["DEFAULT_LAYOUT", "FsspecStorage", "LocalStorage", "relative_path"]

DEFAULT_LAYOUT = "{prompt_id}/{node_id}/{subfolder}/{filename}"


def _clean(value: str) -> str:
    parts = value.replace("\\", "/").split("/")
    return "/".join(p for p in parts if p not in ("", ".", ".."))


def relative_path(layout: str, prompt_id: str, output: OutputFile) -> str:
    """The cleaned relative path ``layout`` gives for ``output``; never absolute, never ``..``."""
    fields = {
        "prompt_id": prompt_id,
        "node_id": output.node_id,
        "kind": output.kind,
        "type": output.type,
        "subfolder": output.subfolder,
        "filename": output.filename,
    }
    path = _clean(layout.format(**{k: _clean(v) for k, v in fields.items()}))
    if not path or posixpath.isabs(path) or path.split("/")[0] == "..":
        raise StorageError(f"layout {layout!r} gives no usable path for {output.filename!r}")
    return path


class LocalStorage:
    """Write each output under ``root`` (created on demand); returns the file's path."""

    def __init__(self, root: str | Path, layout: str = DEFAULT_LAYOUT) -> None:
        self.root = Path(root).resolve()
        self.layout = layout

    def __repr__(self) -> str:
        return f"LocalStorage({str(self.root)!r}, layout={self.layout!r})"

    @hookimpl
    def comfy_store_output(self, prompt_id: str, output: OutputFile, data: bytes) -> str:
        path = (self.root / relative_path(self.layout, prompt_id, output)).resolve()
        if not path.is_relative_to(self.root):  # a symlink inside root pointing out
            raise StorageError(f"refusing to write {path} outside {self.root}")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        except (OSError, ValueError) as exc:  # no room, a name too long, a NUL
            raise StorageError(f"cannot write {str(path)[:200]!r}: {type(exc).__name__}") from exc
        return str(path)


class FsspecStorage:
    """Write each output below an fsspec URL (``s3://bucket/prefix``, ``memory://``, ...).

    ``storage_options`` go to the filesystem (credentials, ``endpoint_url``...);
    they are never shown in ``repr``. Returns the stored file's URL.
    """

    def __init__(self, url: str, layout: str = DEFAULT_LAYOUT, **storage_options: Any) -> None:
        import fsspec

        self.fs, root = fsspec.core.url_to_fs(url, **storage_options)
        self.root = root.rstrip("/")
        self.layout = layout
        self._protocol = url.split("://", 1)[0] if "://" in url else "file"

    def __repr__(self) -> str:
        return f"FsspecStorage('{self._protocol}://{self.root}', layout={self.layout!r})"

    @hookimpl
    def comfy_store_output(self, prompt_id: str, output: OutputFile, data: bytes) -> str:
        path = f"{self.root}/{relative_path(self.layout, prompt_id, output)}"
        try:
            self.fs.pipe_file(path, data)
        except Exception as exc:  # each backend raises its own kinds
            raise StorageError(f"cannot write {self._protocol}://{path}: {exc}") from exc
        return f"{self._protocol}://{path}"
