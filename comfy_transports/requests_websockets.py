"""A blocking transport: requests for HTTP, websockets' threading client for ``/ws``.

For scripts and frameworks that already use requests. Each thread gets its
own ``requests.Session`` (sessions are not documented as thread-safe), so one
transport can serve a thread pool.

urllib3's timeouts bound each socket operation; to bound each request as a
whole, the connection that sends it hands its socket to a
:class:`~comfy_transports.deadline.Guard`, which the process's watchdog shuts
down when the deadline passes (waking any blocked read). Bodies are read raw
and decoded by :class:`~comfy_transports.bodies.BodyReader`; redirects are
never followed.
"""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Callable
from typing import Any

import requests
import requests.adapters
import urllib3
import urllib3.connection
import urllib3.connectionpool
import urllib3.exceptions

from comfy_core.errors import ConnectError, NetworkError, TransportTimeout
from comfy_core.http import Request, Response
from comfy_transports.bodies import CHUNK, reader_for, with_accept_encoding
from comfy_transports.deadline import WATCHDOG, Deadline, Guard
from comfy_transports.log_redaction import redact_logger
from comfy_transports.settings import SyncConfiguredTransport
from comfy_transports.websockets_sync import SyncWebsocketsConnection, connect_sync

__all__ = ["RequestsTransport"]

_GUARD: contextvars.ContextVar[Guard | None] = contextvars.ContextVar(
    "comfy_transports_requests_guard", default=None
)


def _watched(base: type[urllib3.connection.HTTPConnection]) -> Any:
    class Watched(base):  # type: ignore[valid-type,misc]
        """Hands its socket to the current request's guard before waiting for the answer."""

        def getresponse(self, *args: Any, **kwargs: Any) -> Any:
            guard = _GUARD.get()
            if guard is not None:
                guard.attach(self.sock)
            return super().getresponse(*args, **kwargs)

    return Watched


class _HTTPPool(urllib3.connectionpool.HTTPConnectionPool):
    ConnectionCls = _watched(urllib3.connection.HTTPConnection)


class _HTTPSPool(urllib3.connectionpool.HTTPSConnectionPool):
    ConnectionCls = _watched(urllib3.connection.HTTPSConnection)


class _Adapter(requests.adapters.HTTPAdapter):
    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _HTTPPool, "https": _HTTPSPool}


class RequestsTransport(SyncConfiguredTransport):
    """HTTP through ``requests``, WebSockets through ``websockets.sync``; same options as
    :class:`~comfy_transports.httpx_websockets.HttpxTransport`."""

    def _setup(self) -> None:
        # requests takes a bool or a CA bundle path; an SSLContext is the async transports' only.
        self._verify: bool | str = self.verify if isinstance(self.verify, (bool, str)) else True
        redact_logger("urllib3.connectionpool")  # it logs request lines at DEBUG
        self._ws_logger = redact_logger("comfy_transports.websockets")
        self._local = threading.local()
        self._sessions: list[requests.Session] = []
        self._lock = threading.Lock()

    def _session(self) -> requests.Session:
        session: requests.Session | None = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            session.headers.update(with_accept_encoding(self.settings.headers))
            self._environment_once(session)
            session.mount("http://", _Adapter())
            session.mount("https://", _Adapter())
            self._local.session = session
            with self._lock:
                self._sessions.append(session)
        return session

    def _environment_once(self, session: requests.Session) -> None:
        """What requests reads from the environment on every request (proxy variables,
        ``no_proxy``, ``REQUESTS_CA_BUNDLE``, ``~/.netrc``), read once for this server:
        every request goes to the same host, and the lookups cost a fifth of a request."""
        base = self.url.base
        settings = session.merge_environment_settings(base, {}, None, self._verify, None)
        netrc = requests.utils.get_netrc_auth(base)
        session.trust_env = False
        session.proxies.update(settings["proxies"])
        verify = settings["verify"]  # REQUESTS_CA_BUNDLE, when verify is True
        self._verify = verify if isinstance(verify, (bool, str)) else self._verify
        if netrc is not None:
            session.auth = netrc

    def _exchange(
        self, request: Request, write: Callable[[bytes], object] | None, seconds: float | None
    ) -> Response:
        what = f"{request.method} {request.path}"
        deadline = Deadline(seconds)
        guard = WATCHDOG.guard(deadline)
        token = _GUARD.set(guard)
        try:
            return self._over(request, write, deadline)
        except (requests.RequestException, urllib3.exceptions.HTTPError, OSError) as exc:
            error = self._mapped(what, exc, guard.fired)
        finally:
            WATCHDOG.release(guard)
            _GUARD.reset(token)
        if guard.fired:
            raise TransportTimeout(f"{what} took longer than {seconds} s") from error
        raise error

    def _over(
        self, request: Request, write: Callable[[bytes], object] | None, deadline: Deadline
    ) -> Response:
        answer = self._session().request(
            request.method,
            self.url.http(request.path),
            params=[*self.url.params, *request.params],
            headers=dict(request.headers),
            data=request.body or None,
            timeout=deadline.cap(self.settings.timeout),
            verify=self._verify,
            stream=True,
            allow_redirects=False,
        )
        with answer:
            encoding = answer.headers.get("content-encoding")
            reader = reader_for(request, answer.status_code, encoding, write)
            for chunk in answer.raw.stream(CHUNK, decode_content=False):
                reader.feed(chunk)
                if reader.full or deadline.expired:
                    break
            if deadline.expired:  # the watchdog fired just after the last read, or a slow writer
                what = f"{request.method} {request.path}"
                raise TransportTimeout(f"{what} took longer than the request's timeout")
            body = reader.finish()
        headers = tuple((k.lower(), v) for k, v in answer.headers.items())
        return Response(status=answer.status_code, headers=headers, body=body)

    def _mapped(self, what: str, exc: BaseException, fired: bool) -> Exception:
        if fired:
            error: Exception = TransportTimeout(f"{what} timed out")
        elif isinstance(exc, (requests.Timeout, urllib3.exceptions.TimeoutError, TimeoutError)):
            error = TransportTimeout(f"{what} timed out ({type(exc).__name__})")
        elif isinstance(exc, requests.ConnectionError) and "Read timed out" in str(exc):
            error = TransportTimeout(f"{what} timed out")
        elif isinstance(exc, requests.ConnectionError) and not isinstance(
            exc, requests.exceptions.ChunkedEncodingError
        ):
            error = ConnectError(f"{what}: cannot connect to {self.url.netloc}")
        else:
            error = NetworkError(f"{what} failed: {type(exc).__name__}")
        error.__cause__ = exc
        return error

    def connect_websocket(self, client_id: str) -> SyncWebsocketsConnection:
        return connect_sync(self.settings, client_id, self._ws_logger, self.secrets)

    def close(self) -> None:
        with self._lock:
            sessions, self._sessions = self._sessions, []
        for session in sessions:
            session.close()
