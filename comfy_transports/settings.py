"""What every transport needs to reach one server: URL, credentials, TLS, limits.

Built once from the user's arguments by :class:`ConfiguredTransport`, so that
each transport applies credentials and TLS the same way, to HTTP and to the
WebSocket upgrade alike.
"""

from __future__ import annotations

import base64
import contextlib
import ssl
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from comfy_core.http import Request, Response
from comfy_core.redact import is_secret_header, is_secret_param, secret_forms
from comfy_core.urls import ServerURL
from comfy_transports.base import DEFAULT_MAX_MESSAGE_SIZE
from comfy_transports.log_redaction import REDACTING_FILTER
from comfy_transports.scrub import scrubbed

__all__ = [
    "DEFAULT_DOWNLOAD_TIMEOUT",
    "ConfiguredTransport",
    "SyncConfiguredTransport",
    "TransportSettings",
    "Verify",
    "ssl_context",
]

Verify = bool | str | ssl.SSLContext

# A whole streamed download (download_to) may take this long: videos are large and
# links slow, but a server trickling bytes must not hold a caller forever.
DEFAULT_DOWNLOAD_TIMEOUT = 600.0

# Header values that configure a request rather than authenticate it; every other
# value the user gave is treated as a credential.
_PLAIN_HEADERS = frozenset(
    {"accept", "accept-encoding", "accept-language", "content-type", "user-agent", "origin"}
)
# Values shorter than this under a name that does not look secret are left alone:
# redacting every "1" or "yes" from messages would make them unreadable.
_MIN_PLAIN_SECRET = 6


def credentials_of(
    url: ServerURL, headers: Mapping[str, str], auth: tuple[str, str] | None
) -> tuple[str, ...]:
    """Every credential string in ``url``, ``headers`` and ``auth``, in every form it may
    take in text (raw, URL-encoded, base64; Basic's ``user:pass`` and its base64)."""
    values: set[str] = set()
    for name, value in headers.items():
        secret = is_secret_header(name)
        if secret or (name.lower() not in _PLAIN_HEADERS and len(value) >= _MIN_PLAIN_SECRET):
            values.add(value)
            scheme, _, rest = value.partition(" ")
            if rest and scheme.lower() in ("bearer", "basic", "token"):
                values.add(rest)
    for name, value in url.params:
        if is_secret_param(name) or len(value) >= _MIN_PLAIN_SECRET:
            values.add(value)
    if auth is not None:
        user, password = auth
        values |= {password, f"{user}:{password}"}
    if url.password:
        values.add(url.password)
    forms = {form for value in values for form in secret_forms(value)}
    return tuple(sorted(forms, key=len, reverse=True))


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
    download_timeout: float | None = DEFAULT_DOWNLOAD_TIMEOUT
    ssl: ssl.SSLContext | None = field(default=None, repr=False)
    max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE
    ping_interval: float | None = 10.0
    ping_timeout: float | None = 15.0


class ConfiguredTransport:
    """Base of the bundled transports: the options they all take, kept as ``settings``.

    ``timeout`` bounds each HTTP request as a whole (connecting, sending, and
    reading the entire response, however slowly the server trickles it) and the
    opening of the WebSocket; ``download_timeout`` bounds a streamed download
    (``stream_request``, behind ``download_to``) the same way, and is longer
    (10 minutes; None: no bound);
    ``headers``, ``auth`` (Basic), ``token`` (Bearer) and the URL's own
    ``user:pass@`` and ``?query`` go to HTTP and the WebSocket alike; ``verify``
    is True (system CAs), False, a CA bundle path or an ``ssl.SSLContext``;
    ``max_message_size`` bounds one WebSocket message; the client pings every
    ``ping_interval`` seconds and gives the connection up after ``ping_timeout``
    without an answer. Subclasses create their library clients in ``_setup``.

    No transport follows a redirect: a 3xx is returned to the core as it came,
    and a redirected WebSocket upgrade is a ``ConnectError``. Errors carry no
    credential: every exception leaving a transport has its chain scrubbed
    (:mod:`comfy_transports.scrub`) with :attr:`secrets`.
    """

    def __init__(
        self,
        base_url: str | ServerURL,
        *,
        timeout: float | None = 30.0,
        download_timeout: float | None = DEFAULT_DOWNLOAD_TIMEOUT,
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
            download_timeout=download_timeout,
            ssl=ssl_context(verify) if url.scheme == "https" else None,
            max_message_size=max_message_size,
            ping_interval=ping_interval,
            ping_timeout=ping_timeout,
        )
        self.url = url
        self._secrets = credentials_of(url, merged, auth)
        REDACTING_FILTER.remember(self, self._secrets)
        self._setup()

    @property
    def secrets(self) -> tuple[str, ...]:
        """Every credential this transport sends (header values, Basic ``user:pass``, bearer
        token, the URL's password and query values), each in every form it may take in
        text: raw, URL-encoded and base64; longest first. For redacting anything that
        may echo a request, e.g. ``comfy_core.redact.redact_secrets(text, t.secrets)``."""
        return self._secrets

    def _scrubbed(self) -> contextlib.AbstractContextManager[None]:
        """Wraps each public method: no exception leaves with a credential in its chain."""
        return scrubbed(self._secrets)

    def _setup(self) -> None:
        """Create the library clients (each subclass)."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.url.base!r})"


class SyncConfiguredTransport(ConfiguredTransport):
    """Base of the blocking transports: one ``_exchange`` serves both methods, bounded by
    ``timeout`` for a whole answer and ``download_timeout`` for a streamed download."""

    def handle_request(self, request: Request) -> Response:
        with self._scrubbed():
            return self._exchange(request, None, self.settings.timeout)

    def stream_request(self, request: Request, write: Callable[[bytes], object]) -> Response:
        with self._scrubbed():
            return self._exchange(request, write, self.settings.download_timeout)

    def _exchange(
        self, request: Request, write: Callable[[bytes], object] | None, seconds: float | None
    ) -> Response:
        """Send ``request`` and read the answer (into ``write`` if given) within ``seconds``."""
        raise NotImplementedError
