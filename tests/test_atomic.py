"""write_atomic on real files: the whole new content or the old, and no temporary file left."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from comfy_api_client.atomic import write_atomic
from comfy_core.errors import ComfyError, InvalidArgumentType, StorageError


def test_writes_replaces_and_creates_parent_folders(tmp_path: Path) -> None:
    target = tmp_path / "a" / "b" / "out.png"
    assert write_atomic(target, b"first") == target
    assert target.read_bytes() == b"first"
    write_atomic(target, b"second, longer")
    assert target.read_bytes() == b"second, longer"
    assert os.listdir(target.parent) == ["out.png"]


def test_takes_a_str_path_and_the_umask_mode(tmp_path: Path) -> None:
    target = write_atomic(str(tmp_path / "x.bin"), b"\x00\x01")
    assert isinstance(target, Path) and target.read_bytes() == b"\x00\x01"
    if os.name != "nt":
        umask = os.umask(0)
        os.umask(umask)
        assert target.stat().st_mode & 0o777 == 0o666 & ~umask


def test_parent_that_is_a_file_raises_storage_error_naming_the_path(tmp_path: Path) -> None:
    blocker = tmp_path / "blocker"
    blocker.write_bytes(b"a file, not a folder")
    target = blocker / "out.png"
    with pytest.raises(StorageError) as caught:
        write_atomic(target, b"data")
    assert isinstance(caught.value, ComfyError)
    assert str(target) in str(caught.value)
    assert isinstance(caught.value.__cause__, OSError)
    assert sorted(os.listdir(tmp_path)) == ["blocker"]
    assert blocker.read_bytes() == b"a file, not a folder"


def test_failed_replace_removes_the_temporary_file(tmp_path: Path) -> None:
    # The temporary file is written, then the rename fails: a folder is in the way.
    target = tmp_path / "out.png"
    (target / "inside").mkdir(parents=True)
    with pytest.raises(StorageError, match=r"out\.png"):
        write_atomic(target, b"data")
    assert os.listdir(tmp_path) == ["out.png"]
    assert target.is_dir() and os.listdir(target) == ["inside"]


def test_not_bytes_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    with pytest.raises(InvalidArgumentType, match="not str"):
        write_atomic(tmp_path / "x.txt", "text")  # type: ignore[arg-type]
    assert os.listdir(tmp_path) == []
