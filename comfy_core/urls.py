"""The server's base URL, and the HTTP and WebSocket URLs derived from it.

``localhost:8188`` means ``http://localhost:8188`` (as in the original
package). A path prefix (``https://host/comfy/``) is kept in front of every
route and of ``/ws``; ``https`` gives ``wss``. Credentials written into the URL
(``http://user:pass@host``) are taken out of it and offered as Basic auth, and
query parameters (``?token=...``) are kept apart in ``params`` and sent with
every request and the WebSocket, so neither is part of a URL we log or put in
an error.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit

from comfy_core.errors import InvalidURL

__all__ = ["ServerURL"]

_WS_SCHEMES = {"http": "ws", "https": "wss"}


@dataclass(frozen=True, slots=True)
class ServerURL:
    """A parsed base URL: ``scheme``, ``host``, ``port``, ``prefix`` (no trailing ``/``)."""

    scheme: str
    host: str
    port: int | None
    prefix: str = ""
    username: str | None = field(default=None, repr=False)
    password: str | None = field(default=None, repr=False)
    params: tuple[tuple[str, str], ...] = field(default=(), repr=False)

    @classmethod
    def parse(cls, url: str) -> ServerURL:
        """Parse ``url``; :class:`InvalidURL` (a ``ValueError``) for a scheme other than http(s),
        a missing host or a bad port."""
        if not isinstance(url, str) or not url.strip():
            raise InvalidURL(f"the server URL must be a non-empty string, not {url!r}")
        text = url.strip()
        if "://" not in text:
            text = f"http://{text}"
        parts = urlsplit(text)
        scheme = parts.scheme.lower()
        if scheme not in _WS_SCHEMES:
            raise InvalidURL(f"unsupported URL scheme {parts.scheme!r}: use http or https")
        if not parts.hostname:
            raise InvalidURL("the server URL has no host")
        try:
            port = parts.port
        except ValueError as exc:
            raise InvalidURL(f"the server URL has an invalid port: {exc}") from exc
        return cls(
            scheme=scheme,
            host=parts.hostname,
            port=port,
            prefix=parts.path.rstrip("/"),
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            params=tuple(parse_qsl(parts.query, keep_blank_values=True)),
        )

    @property
    def netloc(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}" if self.port is not None else host

    @property
    def base(self) -> str:
        """``scheme://host[:port][/prefix]`` without credentials."""
        return f"{self.scheme}://{self.netloc}{self.prefix}"

    def http(self, path: str) -> str:
        """The full URL of a route ``path`` (which starts with ``/``), no query."""
        return f"{self.base}{quote(path, safe='/%:@')}"

    def target(self, path: str, params: tuple[tuple[str, str], ...] = ()) -> str:
        """The request target (path with prefix, and query) for a raw HTTP request line."""
        query = urlencode((*self.params, *params))
        target = f"{self.prefix}{quote(path, safe='/%:@')}"
        return f"{target}?{query}" if query else target

    def ws_target(self, client_id: str) -> str:
        """The request target of the WebSocket upgrade for ``client_id``."""
        return f"{self.prefix}/ws?{urlencode((('clientId', client_id), *self.params))}"

    def ws(self, client_id: str) -> str:
        """The WebSocket URL for ``client_id``, with the base URL's query parameters."""
        return f"{_WS_SCHEMES[self.scheme]}://{self.netloc}{self.ws_target(client_id)}"
