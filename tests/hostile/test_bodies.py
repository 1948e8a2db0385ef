"""In-memory downloads are bounded by ``Request.max_body``, counted after decoding and
enforced while the body streams in: a small gzip bomb fails before it is inflated.
A server that compresses although asked for identity has its body decoded, never
taken for the file; ``download_to`` streams without a bound."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from comfy_core.errors import BodyTooLarge
from comfy_core.flows import download_flow
from comfy_core.outputs import OutputFile
from tests.hostile.conftest import Open
from tests.hostile.server import HostileServer, Scenario, encoded, gzip_bomb, zeros

VIEW = OutputFile(node_id="1", kind="images", filename="out.png")
Serve = Callable[[Scenario], HostileServer]
LIMIT = 2**20
FILE = os.urandom(200_000) + bytes(300_000)  # some of it compressible


def test_gzip_bomb_fails_before_inflating(serve: Serve, open_client: Open) -> None:
    server = serve(Scenario(routes={"/api/view": gzip_bomb(64 * 2**20)}))
    with (
        open_client(server.url) as client,
        pytest.raises(BodyTooLarge, match="download_to") as failed,
    ):
        client.run_flow(download_flow(VIEW, LIMIT))
    assert failed.value.limit == LIMIT


def test_large_plain_body_fails_past_the_limit(serve: Serve, open_client: Open) -> None:
    server = serve(Scenario(routes={"/api/view": zeros(16 * 2**20)}))
    with open_client(server.url) as client:
        with pytest.raises(BodyTooLarge, match="download_to"):
            client.run_flow(download_flow(VIEW, LIMIT))
        assert client.run_flow(download_flow(VIEW, 32 * 2**20)) == bytes(16 * 2**20)


def test_max_download_size_bounds_download_and_not_download_to(
    serve: Serve, open_client: Open, tmp_path: Path
) -> None:
    server = serve(Scenario(routes={"/api/view": gzip_bomb(64 * 2**20)}))
    with open_client(server.url, max_download_size=LIMIT) as client:
        with pytest.raises(BodyTooLarge, match="download_to"):
            client.download(VIEW)
        target = client.download_to(VIEW, tmp_path / "big.bin")
    assert target.stat().st_size == 64 * 2**20


@pytest.mark.parametrize("encoding", ["gzip", "deflate"])
def test_encoded_body_is_decoded(serve: Serve, open_client: Open, encoding: str) -> None:
    server = serve(Scenario(routes={"/api/view": encoded(FILE, encoding)}))
    with open_client(server.url) as client:
        assert client.download(VIEW) == FILE
        assert client.run_flow(download_flow(VIEW, LIMIT)) == FILE


@pytest.mark.parametrize("encoding", ["gzip", "deflate"])
def test_encoded_body_is_decoded_to_disk(
    serve: Serve, open_client: Open, encoding: str, tmp_path: Path
) -> None:
    server = serve(Scenario(routes={"/api/view": encoded(FILE, encoding)}))
    with open_client(server.url) as client:
        target = client.download_to(VIEW, tmp_path / "out.png")
    assert target.read_bytes() == FILE


def test_download_to_has_no_limit(serve: Serve, open_client: Open, tmp_path: Path) -> None:
    size = 24 * 2**20
    server = serve(Scenario(routes={"/api/view": zeros(size)}))
    with open_client(server.url) as client:
        target = client.download_to(VIEW, tmp_path / "out.png")
    assert target.stat().st_size == size
