"""The SDK's own small HTTP models, so that the core never sees a library's objects.

A :class:`Request` names a path relative to the server's base URL (the
transport adds scheme, host and any path prefix such as ``/comfy``) and holds
its body as bytes. A :class:`Response` is what the transport read back. Both are
immutable, so a recorded exchange can be compared and replayed as data.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from comfy_core.errors import RemoteProtocolError

__all__ = ["Headers", "Request", "Response", "json_request"]

Headers = tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class Request:
    """One HTTP request to make. ``path`` starts with ``/`` and holds no query.

    ``max_body`` bounds the response body a transport will hold, counted after
    any content decoding: past it the transport stops reading and raises
    :class:`~comfy_core.errors.BodyTooLarge` (None: no bound).
    """

    method: str
    path: str
    params: tuple[tuple[str, str], ...] = ()
    headers: Headers = ()
    body: bytes = b""
    max_body: int | None = None

    @property
    def target(self) -> str:
        """Path plus encoded query string, as sent on the request line."""
        return f"{self.path}?{urlencode(self.params)}" if self.params else self.path


def json_request(method: str, path: str, payload: Any) -> Request:
    """A request whose body is ``payload`` as compact UTF-8 JSON."""
    body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
    return Request(
        method=method, path=path, headers=(("content-type", "application/json"),), body=body
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class Response:
    """The status, headers (lower-case names) and full body of one HTTP answer."""

    status: int
    headers: Headers = ()
    body: bytes = b""

    def header(self, name: str) -> str | None:
        """The first header called ``name`` (case-insensitive), or None."""
        wanted = name.lower()
        for key, value in self.headers:
            if key.lower() == wanted:
                return value
        return None

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")

    def json(self) -> Any:
        """The body decoded as JSON; :class:`RemoteProtocolError` if it is not JSON."""
        try:
            return json.loads(self.body)
        except (ValueError, UnicodeDecodeError, RecursionError) as exc:
            # RecursionError: nesting deeper than the interpreter can parse.
            snippet = self.body[:80].decode("utf-8", errors="replace")
            raise RemoteProtocolError(f"expected a JSON body, got {snippet!r}") from exc
