"""A blocking transport: requests for HTTP, websockets' threading client for ``/ws``.

For scripts and frameworks that already use requests. Each thread gets its
own ``requests.Session`` (sessions are not documented as thread-safe), so one
transport can serve a thread pool.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import requests

from comfy_core.errors import ConnectError, NetworkError, TransportTimeout
from comfy_core.http import Request, Response
from comfy_transports.log_redaction import redact_logger
from comfy_transports.settings import ConfiguredTransport
from comfy_transports.websockets_sync import SyncWebsocketsConnection, connect_sync

__all__ = ["RequestsTransport"]


class RequestsTransport(ConfiguredTransport):
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
            session.headers.update(self.settings.headers)
            session.trust_env = True
            self._local.session = session
            with self._lock:
                self._sessions.append(session)
        return session

    def _send(self, request: Request, stream: bool) -> requests.Response:
        what = f"{request.method} {request.path}"
        try:
            return self._session().request(
                request.method,
                self.url.http(request.path),
                params=[*self.url.params, *request.params],
                headers=dict(request.headers),
                data=request.body or None,
                timeout=self.settings.timeout,
                verify=self._verify,
                stream=stream,
                allow_redirects=False,
            )
        except requests.Timeout as exc:
            raise TransportTimeout(f"{what} timed out ({type(exc).__name__})") from exc
        except requests.ConnectionError as exc:
            if "Read timed out" in str(exc):
                raise TransportTimeout(f"{what} timed out") from exc
            raise ConnectError(f"{what}: cannot connect to {self.url.netloc}") from exc
        except requests.RequestException as exc:
            raise NetworkError(f"{what} failed: {type(exc).__name__}") from exc

    @staticmethod
    def _response(answer: Any, body: bytes) -> Response:
        headers = tuple((k.lower(), v) for k, v in answer.headers.items())
        return Response(status=answer.status_code, headers=headers, body=body)

    def handle_request(self, request: Request) -> Response:
        answer = self._send(request, stream=False)
        return self._response(answer, answer.content)

    def stream_request(self, request: Request, write: Callable[[bytes], object]) -> Response:
        answer = self._send(request, stream=True)
        with answer:
            if answer.status_code >= 400:
                return self._response(answer, answer.content)
            try:
                for chunk in answer.iter_content(chunk_size=65536):
                    write(chunk)
            except requests.RequestException as exc:
                raise NetworkError(f"{request.method} {request.path} failed mid-body") from exc
        return self._response(answer, b"")

    def connect_websocket(self, client_id: str) -> SyncWebsocketsConnection:
        return connect_sync(self.settings, client_id, self._ws_logger)

    def close(self) -> None:
        with self._lock:
            sessions, self._sessions = self._sessions, []
        for session in sessions:
            session.close()
