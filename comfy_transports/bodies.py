"""Reading a response body the same way on every transport: decoded, bounded, streamed.

Each transport hands the raw bytes it reads (still content-encoded) to a
:class:`BodyReader`, which undoes ``Content-Encoding: gzip``/``deflate``
incrementally, never inflating more than :data:`CHUNK` bytes at a time, and
counts the decoded bytes. Past ``Request.max_body`` it raises
:class:`~comfy_core.errors.BodyTooLarge` at once, so a small gzip bomb is
never inflated, let alone held. The decoded bytes go to ``write`` (a streamed
download) or are kept for the :class:`~comfy_core.http.Response`.

An encoding we cannot undo (``br``, ``zstd``, ...) is a
:class:`~comfy_core.errors.RemoteProtocolError`: encoded bytes are never
returned as if they were the file.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from comfy_core.errors import BodyTooLarge, RemoteProtocolError
from comfy_core.http import Request

__all__ = [
    "ACCEPT_ENCODING",
    "CHUNK",
    "ERROR_BODY_LIMIT",
    "BodyReader",
    "is_success",
    "reader_for",
    "with_accept_encoding",
]

# What the library clients may ask for: only what BodyReader can undo (httpx and
# requests would add br and zstd when those packages happen to be installed).
ACCEPT_ENCODING = "gzip, deflate"


def with_accept_encoding(headers: Mapping[str, str]) -> dict[str, str]:
    """``headers`` with :data:`ACCEPT_ENCODING` unless they name an Accept-Encoding."""
    merged = dict(headers)
    if not any(name.lower() == "accept-encoding" for name in merged):
        merged["Accept-Encoding"] = ACCEPT_ENCODING
    return merged


CHUNK = 65536
# A streamed request's non-2xx body is read into memory for the error message:
# only this much of it (the rest is dropped with the connection).
ERROR_BODY_LIMIT = 2**20


def is_success(status: int) -> bool:
    """A status whose body is the content asked for (streamed to ``write``)."""
    return 200 <= status < 300


class _Inflater:
    """One ``Content-Encoding`` layer, undone lazily: :meth:`feed` yields pieces of at
    most CHUNK bytes, and inflates the next only when the caller asks for it."""

    def __init__(self, encoding: str) -> None:
        self.encoding = encoding
        # gzip: 16 + MAX_WBITS; deflate: zlib-wrapped (RFC 9110), else raw, as browsers do.
        gzip = encoding in ("gzip", "x-gzip")
        self._zlib = zlib.decompressobj(16 + zlib.MAX_WBITS) if gzip else None
        self._head = b""  # deflate: the first bytes, until they tell zlib-wrapped from raw

    def _decoder(self, data: bytes) -> tuple[Any, bytes]:
        if self._zlib is None:
            self._head += data
            if len(self._head) < 2:
                return None, b""
            first, second = self._head[0], self._head[1]
            wrapped = first & 0x0F == 8 and (first << 8 | second) % 31 == 0
            self._zlib = zlib.decompressobj(zlib.MAX_WBITS if wrapped else -zlib.MAX_WBITS)
            data, self._head = self._head, b""
        return self._zlib, data

    def feed(self, data: bytes) -> Iterator[bytes]:
        decoder, pending = self._decoder(data)
        while pending and not decoder.eof:
            piece = decoder.decompress(pending, CHUNK)
            pending = decoder.unconsumed_tail
            if piece:
                yield piece

    def finish(self) -> Iterator[bytes]:
        if self._zlib is None:
            self._zlib = zlib.decompressobj(-zlib.MAX_WBITS)
            yield from self.feed(self._head)
        while not self._zlib.eof:
            piece = self._zlib.decompress(b"", CHUNK)
            if not piece:
                break
            yield piece
        yield self._zlib.flush()


class BodyReader:
    """Decodes, counts and delivers one response body (see the module docstring).

    ``write`` receives the decoded bytes of a streamed 2xx body; otherwise they
    are kept (``body``). ``limit`` raises BodyTooLarge past that many decoded
    bytes; ``truncate`` stops keeping bytes there instead (``full`` turns true).
    """

    def __init__(
        self,
        request: Request,
        content_encoding: str | None,
        write: Callable[[bytes], object] | None = None,
        *,
        limit: int | None = None,
        truncate: bool = False,
    ) -> None:
        self._what = f"{request.method} {request.path}"
        self._write = write
        self._limit = limit
        self._truncate = truncate
        self._parts: list[bytes] = []
        self.size = 0
        self.full = False
        layers = [e.strip().lower() for e in (content_encoding or "").split(",") if e.strip()]
        self._layers: list[_Inflater] = []
        for encoding in reversed(layers):  # the last applied is undone first
            if encoding == "identity":
                continue
            if encoding not in ("gzip", "x-gzip", "deflate"):
                raise RemoteProtocolError(
                    f"{self._what}: the server sent Content-Encoding {encoding!r}, which this "
                    "client cannot decode (it asks for identity or gzip)"
                )
            self._layers.append(_Inflater(encoding))

    def feed(self, raw: bytes) -> None:
        """Take the next raw (still encoded) bytes of the body."""
        self._through(0, raw)

    def _through(self, depth: int, data: bytes, end: bool = False) -> None:
        if depth == len(self._layers):
            self._deliver(data)
            return
        layer = self._layers[depth]
        try:
            for piece in layer.finish() if end else layer.feed(data):
                self._through(depth + 1, piece)
                if self.full:
                    return
        except zlib.error as exc:
            raise RemoteProtocolError(f"{self._what}: a corrupt {layer.encoding} body") from exc

    def _deliver(self, data: bytes) -> None:
        if not data or self.full:
            return
        self.size += len(data)
        if self._limit is not None and self.size > self._limit:
            if not self._truncate:
                raise BodyTooLarge(
                    f"{self._what}: the body passed {self._limit} bytes (counted decoded); "
                    "download large files to disk with download_to",
                    limit=self._limit,
                )
            data = data[: len(data) - (self.size - self._limit)]
            self.size = self._limit
            self.full = True
        if self._write is not None:
            self._write(data)
        else:
            self._parts.append(data)

    def finish(self) -> bytes:
        """Flush the decoders at the body's end; the kept body (b"" when written out)."""
        for depth in range(len(self._layers)):
            if not self.full:
                self._through(depth, b"", end=True)
        return b"".join(self._parts)


def reader_for(
    request: Request,
    status: int,
    content_encoding: str | None,
    write: Callable[[bytes], object] | None,
) -> BodyReader:
    """The reader of a response to ``request`` with ``status``.

    A streamed 2xx body goes to ``write``, bounded by ``max_body`` (usually none);
    a kept body is bounded by ``max_body`` too. The body of any other status is
    only an error message: it is kept, cut at ``max_body`` (or at
    :data:`ERROR_BODY_LIMIT` when streaming) rather than raising.
    """
    if write is not None and is_success(status):
        return BodyReader(request, content_encoding, write, limit=request.max_body)
    if write is not None:
        return BodyReader(request, content_encoding, limit=ERROR_BODY_LIMIT, truncate=True)
    truncate = not is_success(status)
    return BodyReader(request, content_encoding, limit=request.max_body, truncate=truncate)
