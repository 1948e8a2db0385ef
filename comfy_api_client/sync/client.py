"""Client: the blocking twin of ComfyAPIClient, for scripts, notebooks and threads.

It never runs an event loop (so it works inside Jupyter and inside a running
loop, such as a FastAPI handler) and is safe to share between threads. The
protocol is the same core and :class:`~comfy_api_client.base.ClientBase`: the
session is touched only under its lock, hooks and callbacks run outside it;
settled prompts are finished (images downloaded, outputs stored) on a small
worker pool; futures are ``concurrent.futures.Future``.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import threading
from collections.abc import Callable
from types import TracebackType
from typing import Any, TypeVar

from comfy_api_client.base import END, MAX_DOWNLOAD_SIZE
from comfy_api_client.observed import ObservedSyncWebSocket
from comfy_api_client.plugins import Hooks
from comfy_api_client.sending import attempts
from comfy_api_client.sync.endpoints import SyncEndpoints
from comfy_core.errors import ClientClosedError, ComfyError, TransportError, WaitTimeout
from comfy_core.events import Event
from comfy_core.flows import Flow, Gather, Sleep, Steps
from comfy_core.handles import PromptHandle
from comfy_core.http import Request, Response
from comfy_core.results import PromptResult
from comfy_core.tracker import PromptTracker
from comfy_transports.base import SyncTransport

__all__ = ["Client"]

T = TypeVar("T")


class Client(SyncEndpoints):
    """Blocking client for one ComfyUI server; make it with ``comfy_api_client.sync.create_client``.

    Same methods, arguments and results as the async client, without ``await``.
    ``max_workers`` bounds the threads that finish settled prompts.
    """

    def __init__(
        self,
        comfy_url: str,
        transport: SyncTransport,
        *,
        timeout: float | None = None,
        tracker: PromptTracker | None = None,
        hooks: Hooks | None = None,
        max_download_size: int | None = MAX_DOWNLOAD_SIZE,
        max_workers: int = 4,
    ) -> None:
        super().__init__(
            comfy_url,
            timeout=timeout,
            tracker=tracker,
            hooks=hooks,
            max_download_size=max_download_size,
        )
        self.transport = transport
        self._changed = threading.Condition(self._lock)
        self._stopping = threading.Event()
        self._pool = concurrent.futures.ThreadPoolExecutor(
            max_workers, thread_name_prefix="comfy-client"
        )

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # -- the driver -------------------------------------------------------------

    def _drive(self, flow: Steps[T], send: Callable[[Request], Response]) -> T:
        # A flow's own code may touch the session (submit registers the prompt), so it
        # runs under the lock; the work its steps ask for runs outside it.
        try:
            with self._lock:
                step = next(flow)
            while True:
                reply: Any = None
                try:
                    if isinstance(step, Request):
                        reply = send(step)
                    elif isinstance(step, Sleep):
                        if self._stopping.wait(step.seconds):
                            raise ClientClosedError("the client is closed")
                    elif isinstance(step, Gather):
                        reply = [self.run_flow(sub) for sub in step.flows]
                    else:
                        reply = step.function(*step.args)
                except TransportError as exc:
                    with self._lock:
                        step = flow.throw(exc)
                else:
                    with self._lock:
                        step = flow.send(reply)
        except StopIteration as stop:
            value: T = stop.value
            return value
        except ComfyError as exc:  # its message may quote a server that echoes credentials
            self._scrub(exc)
            raise

    def send(self, request: Request, *, idempotent: bool | None = None) -> Response:
        """Send one core request with the plugins' headers, observers and retries.

        Idempotent requests (every method but POST, unless told) are retried while
        the ``comfy_retry_delay`` hook gives a delay. Returns the last response
        whatever its status; raises the last transport error if retries run out.
        """
        self._check_open()
        return self._drive(attempts(request, self.hooks, idempotent), self.transport.handle_request)

    def run_flow(self, flow: Flow[T] | Steps[T]) -> T:
        """Drive a core flow to its end: send its requests, sleep its sleeps."""
        return self._drive(flow, self.send)

    def _spawn(self, flow: Steps[Any], handle: PromptHandle | None = None) -> None:
        def run() -> None:
            try:
                outcome = self.run_flow(flow)
            except Exception as exc:
                outcome = exc
            self._completed(handle, outcome)

        if self._closed:
            return
        with contextlib.suppress(RuntimeError):  # the pool shut down meanwhile
            self._pool.submit(run)

    def _new_future(self) -> concurrent.futures.Future[PromptResult]:
        return concurrent.futures.Future()

    def _notify(self) -> None:
        self._changed.notify_all()

    def _open_websocket(self, client_id: str) -> ObservedSyncWebSocket:
        """A WebSocket under ``client_id`` whose traffic the plugins see (feeds use it)."""
        ws = self.transport.connect_websocket(client_id)
        return ObservedSyncWebSocket(ws, self.hooks, client_id)

    def _check_queue(self) -> None:
        """One queue check for every unsettled prompt (what polling and reconnects do)."""
        self.run_flow(self._reconcile())
        self._pump()

    def _result(self, future: Any, timeout: float | None, prompt_id: str) -> PromptResult:
        try:
            result: PromptResult = future.result(timeout)
        except concurrent.futures.TimeoutError as exc:
            raise WaitTimeout(f"prompt {prompt_id} did not finish within {timeout} s") from exc
        return result

    def _next_of(self, handle: PromptHandle) -> Event | None:
        with self._changed:
            while (event := self._take(handle)) is None:
                self._changed.wait(0.5)
        return None if event is END else event  # type: ignore[return-value]

    # -- closing ----------------------------------------------------------------

    def close(self) -> None:
        """Stop feeds, fail pending futures with :class:`ClientClosedError`, close I/O.

        Bounded: returns within about a second whatever the server does.
        """
        if self._closed:
            return
        for feed in list(self._feeds):
            with contextlib.suppress(Exception):
                feed.stop()
        self._closed = True
        self._stopping.set()
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._fail_pending()
        with contextlib.suppress(Exception):
            self.transport.close()
        self.hooks.client_closed(self)
