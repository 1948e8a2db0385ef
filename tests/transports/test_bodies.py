"""BodyReader, the body path every transport shares: the same bytes out whether the body
comes whole, byte by byte or in odd pieces; bounded while decoding; typed errors."""

from __future__ import annotations

import gzip
import os
import zlib

import pytest

from comfy_core.errors import BodyTooLarge, RemoteProtocolError
from comfy_core.http import Request
from comfy_transports.bodies import BodyReader, reader_for

REQUEST = Request(method="GET", path="/api/view")
DATA = os.urandom(5000) + bytes(200_000) + b"tail"


def deflate_raw(data: bytes) -> bytes:
    packer = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
    return packer.compress(data) + packer.flush()


ENCODED = {
    None: DATA,
    "identity": DATA,
    "gzip": gzip.compress(DATA),
    "x-gzip": gzip.compress(DATA),
    "deflate": zlib.compress(DATA),  # zlib-wrapped, as RFC 9110 says
    "Deflate": deflate_raw(DATA),  # raw, as some servers send it
    "gzip, gzip": gzip.compress(gzip.compress(DATA)),
}


def read(encoding: str | None, raw: bytes, step: int, **options: object) -> bytes:
    reader = BodyReader(REQUEST, encoding, **options)  # type: ignore[arg-type]
    for start in range(0, len(raw), step):
        reader.feed(raw[start : start + step])
    return reader.finish()


@pytest.mark.parametrize("encoding", list(ENCODED))
@pytest.mark.parametrize("step", [1, 7, 65536, 10**9])
def test_same_bytes_however_the_body_is_split(encoding: str | None, step: int) -> None:
    raw = ENCODED[encoding]
    expected = raw if encoding in (None, "identity") else DATA
    assert read(encoding, raw, step) == expected


def test_written_not_kept_when_streaming() -> None:
    out: list[bytes] = []
    reader = BodyReader(REQUEST, "gzip", out.append)
    reader.feed(gzip.compress(DATA))
    assert reader.finish() == b""
    assert b"".join(out) == DATA
    assert max(len(piece) for piece in out) <= 65536


def test_a_gzip_bomb_stops_at_the_limit_without_inflating() -> None:
    bomb = gzip.compress(bytes(64 * 2**20))
    reader = BodyReader(REQUEST, "gzip", limit=2**20)
    with pytest.raises(BodyTooLarge, match="download_to") as failed:
        reader.feed(bomb)
    assert failed.value.limit == 2**20
    assert reader.size <= 2**20 + 65536


def test_plain_bodies_are_bounded_too() -> None:
    with pytest.raises(BodyTooLarge):
        read(None, bytes(3 * 2**20), 65536, limit=2**20)


def test_truncate_keeps_the_first_bytes() -> None:
    reader = BodyReader(REQUEST, "gzip", limit=100, truncate=True)
    reader.feed(gzip.compress(DATA))
    assert reader.finish() == DATA[:100]
    assert reader.full


@pytest.mark.parametrize("encoding", ["br", "zstd", "gzip, br"])
def test_an_encoding_it_cannot_undo_is_refused(encoding: str) -> None:
    with pytest.raises(RemoteProtocolError, match="Content-Encoding"):
        BodyReader(REQUEST, encoding)


def test_a_corrupt_body_is_a_protocol_error() -> None:
    reader = BodyReader(REQUEST, "gzip")
    with pytest.raises(RemoteProtocolError, match="corrupt"):
        reader.feed(b"\x1f\x8bthis is not gzip at all")


def test_error_bodies_of_streams_are_kept_and_cut() -> None:
    out: list[bytes] = []
    reader = reader_for(REQUEST, 500, None, out.append)
    reader.feed(bytes(3 * 2**20))
    assert out == []
    assert len(reader.finish()) == 2**20
    redirect = reader_for(REQUEST, 302, None, out.append)
    redirect.feed(b"moved")
    assert redirect.finish() == b"moved"
    assert out == []
