"""Writing a file so that a crash leaves either the old file or the new one, never half of it."""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path

from comfy_core.errors import InvalidArgumentType, StorageError

__all__ = ["write_atomic"]

# Binary on Windows, where os.open defaults to text mode; 0 elsewhere.
_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)


def write_atomic(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically and durably; returns ``path`` as a Path.

    The bytes go to a temporary file beside ``path`` (``.{name}.{random}.tmp``),
    are flushed and fsynced, then the file is renamed onto ``path``
    (``os.replace``), so readers see the old content or the new, whole.
    Parent folders are created. On any failure the temporary file is removed
    and :class:`~comfy_core.errors.StorageError` naming ``path`` is raised
    (the ``OSError`` chained).
    """
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise InvalidArgumentType(f"write_atomic writes bytes, not {type(data).__name__}")
    target = Path(path)
    temp: Path | None = None
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        name = target.with_name(f".{target.name}.{secrets.token_hex(6)}.tmp")
        # os.open with 0o666 rather than mkstemp: the file gets the umask's mode
        # (mkstemp's 0o600 would leave outputs unreadable to the user's other tools).
        fd = os.open(name, _FLAGS, 0o666)
        temp = name  # ours from here on: O_EXCL made it, so only ours is removed
        with os.fdopen(fd, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temp, target)
        temp = None
        _sync_folder(target.parent)
    except (OSError, ValueError) as exc:
        raise StorageError(f"cannot write {str(target)!r}: {exc}") from exc
    finally:
        if temp is not None:
            _remove(temp)
    return target


def _sync_folder(folder: Path) -> None:
    # The rename lives in the folder's entry list; fsync it so the rename survives a
    # power cut too. Windows cannot open a folder for this, and some file systems
    # refuse it: the file itself is written already, so that is not a failure.
    if os.name == "nt":
        return
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        with contextlib.suppress(OSError):
            os.fsync(fd)
    finally:
        os.close(fd)


def _remove(temp: Path) -> None:
    with contextlib.suppress(OSError):  # already gone: nothing is left behind either way
        temp.unlink()
