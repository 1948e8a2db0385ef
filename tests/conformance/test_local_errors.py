"""Failures on our side of a download are typed errors, on every client and transport."""

from __future__ import annotations

from pathlib import Path

import pytest

from comfy_api_client import LocalProtocolError, OutputFile, StorageError
from tests.conformance.conftest import Open
from tests.workflows import save_image


def test_download_to_an_unwritable_path_is_a_storage_error(
    open_client: Open, fresh_color: int, tmp_path: Path
) -> None:
    with open_client() as client:
        result = client.run(save_image(fresh_color, size=8, prefix="sdk_dl"), timeout=30)
        (ref,) = result.files
        folder = tmp_path / "a-folder"
        folder.mkdir()
        with pytest.raises(StorageError) as caught:
            client.download_to(ref, folder)  # a directory, not a file name
        assert isinstance(caught.value.__cause__, IsADirectoryError)
        assert folder.is_dir()  # never removed
        with pytest.raises(StorageError):
            client.download_to(ref, tmp_path / ("x" * 300 + ".png"))  # too long a name
        with pytest.raises(LocalProtocolError):
            client.download(OutputFile(node_id="1", kind="images", filename="a\0.png"))
        written = client.download_to(ref, tmp_path / "ok.png")
    assert written.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
