"""What every transport needs to reach one server: URL, credentials, TLS, limits.

Built once from the user's arguments by :class:`ConfiguredTransport`, so that
each transport applies credentials and TLS the same way, to HTTP and to the
WebSocket upgrade alike.
"""

from __future__ import annotations

import base64
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field

from comfy_core.urls import ServerURL
from comfy_transports.base import DEFAULT_MAX_MESSAGE_SIZE

__all__ = [
    "ConfiguredTransport",
    "TransportSettings",
    "Verify",
    "ssl_context",
]

Verify = bool | str | ssl.SSLContext


def ssl_context(verify: Verify) -> ssl.SSLContext:
    """An SSL context for ``verify``: True (system CAs), False (none), a CA bundle path."""
    if isinstance(verify, ssl.SSLContext):
        return verify
    if isinstance(verify, str):
        return ssl.create_default_context(cafile=verify)
    context = ssl.create_default_context()
    if not verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


@dataclass(frozen=True)
class TransportSettings:
    url: ServerURL
    headers: Mapping[str, str] = field(default_factory=dict, repr=False)
    timeout: float | None = 30.0
    ssl: ssl.SSLContext | None = field(default=None, repr=False)
    max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE
    ping_interval: float | None = 10.0
    ping_timeout: float | None = 15.0


class ConfiguredTransport:
    """Base of the bundled transports: the options they all take, kept as ``settings``.

    ``timeout`` applies to each HTTP request and to opening the WebSocket;
    ``headers``, ``auth`` (Basic), ``token`` (Bearer) and the URL's own
    ``user:pass@`` and ``?query`` go to HTTP and the WebSocket alike; ``verify``
    is True (system CAs), False, a CA bundle path or an ``ssl.SSLContext``;
    ``max_message_size`` bounds one WebSocket message; the client pings every
    ``ping_interval`` seconds and gives the connection up after ``ping_timeout``
    without an answer. Subclasses create their library clients in ``_setup``.
    """

    def __init__(
        self,
        base_url: str | ServerURL,
        *,
        timeout: float | None = 30.0,
        headers: Mapping[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        token: str | None = None,
        verify: Verify = True,
        max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE,
        ping_interval: float | None = 10.0,
        ping_timeout: float | None = 15.0,
    ) -> None:
        self.verify = verify
        url = base_url if isinstance(base_url, ServerURL) else ServerURL.parse(base_url)
        # Credentials fold into headers: auth (or user:pass@ in the URL) as Basic, token as
        # Bearer; the URL's query goes with every request (ServerURL keeps it).
        if auth is None and url.username is not None:
            auth = (url.username, url.password or "")
        merged = dict(headers or {})
        if auth is not None:
            basic = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
            merged["Authorization"] = f"Basic {basic}"
        if token is not None:
            merged["Authorization"] = f"Bearer {token}"
        self.settings = TransportSettings(
            url=url,
            headers=merged,
            timeout=timeout,
            ssl=ssl_context(verify) if url.scheme == "https" else None,
            max_message_size=max_message_size,
            ping_interval=ping_interval,
            ping_timeout=ping_timeout,
        )
        self.url = url
        self._setup()

    def _setup(self) -> None:
        """Create the library clients (each subclass)."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.url.base!r})"
