"""Storage plugins write the real server's outputs, byte for byte, to a folder and to S3."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from comfy_plugins.storage import FsspecStorage, LocalStorage, relative_path

from comfy_api_client import OutputFile, StorageError, create_client
from comfy_api_client.local_server import free_port
from tests.workflows import multi_output


async def test_local_storage_writes_every_output(
    comfy_url: str, fresh_color: int, tmp_path: Path
) -> None:
    storage = LocalStorage(tmp_path / "store")
    async with create_client(comfy_url, plugins=[storage]) as client:
        result = await client.run(multi_output(fresh_color, "sdk_store"), timeout=60)
        expected = {f"{f.node_id}/{f.filename}": await client.download(f) for f in result.files}
    assert len(expected) == 5  # 2 saved, 2 previews, 1 latent
    written = {
        p.relative_to(tmp_path / "store"): p.read_bytes()
        for p in (tmp_path / "store").rglob("*")
        if p.is_file()
    }
    assert len(written) == 5
    for ref in result.files:
        path = Path(result.prompt_id) / ref.node_id / ref.subfolder / ref.filename
        assert written[path] == expected[f"{ref.node_id}/{ref.filename}"]


@pytest.fixture(scope="module")
def s3() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


async def test_s3_storage_writes_every_output(comfy_url: str, fresh_color: int, s3: str) -> None:
    import boto3

    s3_client = boto3.client(
        "s3", endpoint_url=s3, aws_access_key_id="testing", aws_secret_access_key="testing",
        region_name="us-east-1",
    )  # fmt: skip
    s3_client.create_bucket(Bucket="comfy")
    storage = FsspecStorage(
        "s3://comfy/runs", key="testing", secret="testing", client_kwargs={"endpoint_url": s3},
        layout="{prompt_id}/{kind}/{node_id}-{filename}",
    )  # fmt: skip
    finished: list[dict[str, list[str]]] = []

    class Watch:
        from comfy_api_client import hookimpl

        @hookimpl
        def comfy_prompt_finished(self, stored: dict[str, list[str]]) -> None:
            finished.append(stored)

    async with create_client(comfy_url, plugins=[storage, Watch()]) as client:
        result = await client.run(multi_output(fresh_color + 1, "sdk_store"), timeout=60)
        expected = {ref: await client.download(ref) for ref in result.files}
    (stored,) = finished
    for ref, data in expected.items():
        key = f"runs/{result.prompt_id}/{ref.kind}/{ref.node_id}-{ref.filename}"
        assert s3_client.get_object(Bucket="comfy", Key=key)["Body"].read() == data
        assert stored[f"{ref.node_id}/{ref.filename}"] == [f"s3://comfy/{key}"]
    assert "testing" not in repr(storage)


EVIL = [
    OutputFile(node_id="9", kind="images", filename="../../../etc/passwd", subfolder=""),
    OutputFile(node_id="9", kind="images", filename="x.png", subfolder="/etc"),
    OutputFile(node_id="../..", kind="images", filename="x.png", subfolder="../../.."),
    OutputFile(node_id="9", kind="images", filename="..\\..\\win.png", subfolder="a/../../b"),
]


@pytest.mark.parametrize("ref", EVIL)
def test_server_names_cannot_escape_the_target(ref: OutputFile, tmp_path: Path) -> None:
    root = tmp_path / "store"
    where = Path(LocalStorage(root).comfy_store_output("p/../../q", ref, b"data"))
    assert where.resolve().is_relative_to(root.resolve())
    assert where.read_bytes() == b"data"
    assert ".." not in relative_path(
        "{prompt_id}/{node_id}/{subfolder}/{filename}", "..", ref
    ).split("/")
    assert list(tmp_path.iterdir()) == [root]  # nothing beside the target


def test_symlink_inside_target_cannot_lead_out(tmp_path: Path) -> None:
    root = tmp_path / "store"
    (root / "p").mkdir(parents=True)
    (root / "p" / "9").symlink_to(tmp_path)
    ref = OutputFile(node_id="9", kind="images", filename="x.png")
    with pytest.raises(StorageError, match="outside"):
        LocalStorage(root, layout="{prompt_id}/{node_id}/{filename}").comfy_store_output(
            "p", ref, b"x"
        )
    assert not (tmp_path / "x.png").exists()
