"""ComfyAPIClient: the asyncio client, a thin driver around the sans-I/O core.

All protocol decisions live in :mod:`comfy_core` and the steps both clients
take in :class:`~comfy_api_client.base.ClientBase`: this driver carries out
the steps of flows with ``await``, runs background work as tasks, and hands
out ``asyncio`` futures. ``comfy_api_client.sync.Client`` is its twin for threads.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any, TypeVar

from comfy_api_client.base import END, MAX_DOWNLOAD_SIZE
from comfy_api_client.endpoints import AsyncEndpoints
from comfy_api_client.observed import ObservedAsyncWebSocket
from comfy_api_client.plugins import Hooks
from comfy_api_client.sending import attempts
from comfy_core.errors import ComfyError, TransportError, WaitTimeout
from comfy_core.events import Event
from comfy_core.flows import Call, Flow, Gather, Sleep, Steps
from comfy_core.handles import PromptHandle
from comfy_core.http import Request, Response
from comfy_core.results import PromptResult
from comfy_core.tracker import PromptTracker
from comfy_transports.base import AsyncTransport
from comfy_transports.timeouts import bounded

__all__ = ["AsyncClient", "ComfyAPIClient"]

T = TypeVar("T")


class ComfyAPIClient(AsyncEndpoints):
    """Asynchronous client for one ComfyUI server; make it with ``create_client``.

    ``timeout`` is the default for :meth:`wait` and :meth:`run` (None waits
    for ever). Futures returned by :meth:`submit_workflow` resolve to a
    :class:`PromptResult` whose ``output_images`` are downloaded, or fail with
    the prompt's typed error.
    """

    def __init__(
        self,
        comfy_url: str,
        transport: AsyncTransport,
        *,
        timeout: float | None = None,
        tracker: PromptTracker | None = None,
        hooks: Hooks | None = None,
        max_download_size: int | None = MAX_DOWNLOAD_SIZE,
    ) -> None:
        super().__init__(
            comfy_url,
            timeout=timeout,
            tracker=tracker,
            hooks=hooks,
            max_download_size=max_download_size,
        )
        self.transport = transport
        self._wakeup = asyncio.Event()
        self._tasks: set[asyncio.Task[Any]] = set()

    # -- the driver -------------------------------------------------------------

    async def _drive(self, flow: Steps[T], send: Callable[[Request], Any]) -> T:
        try:
            step = next(flow)
            while True:
                reply: Any = None
                try:
                    if isinstance(step, Request):
                        reply = await send(step)
                    elif isinstance(step, Sleep):
                        await asyncio.sleep(step.seconds)
                    elif isinstance(step, Gather) and len(step.flows) == 1:
                        # The usual prompt has one image to fetch: gather would make a
                        # task for it (11 us of CPU against 0.1 us for the await).
                        reply = [await self.run_flow(step.flows[0])]
                    elif isinstance(step, Gather):
                        reply = await asyncio.gather(*map(self.run_flow, step.flows))
                    elif isinstance(step, Call) and step.blocking:
                        reply = await asyncio.to_thread(step.function, *step.args)
                    else:
                        reply = step.function(*step.args)
                except TransportError as exc:
                    step = flow.throw(exc)
                else:
                    step = flow.send(reply)
        except StopIteration as stop:
            value: T = stop.value
            return value
        except ComfyError as exc:  # its message may quote a server that echoes credentials
            self._scrub(exc)
            raise

    async def send(self, request: Request, *, idempotent: bool | None = None) -> Response:
        """Send one core request with the plugins' headers, observers and retries.

        Idempotent requests (every method but POST, unless told) are retried while
        the ``comfy_retry_delay`` hook gives a delay. Returns the last response
        whatever its status; raises the last transport error if retries run out.
        """
        self._check_open()
        return await self._drive(
            attempts(request, self.hooks, idempotent), self.transport.handle_async_request
        )

    async def run_flow(self, flow: Flow[T] | Steps[T]) -> T:
        """Drive a core flow to its end: send its requests, sleep its sleeps."""
        return await self._drive(flow, self.send)

    def _spawn(self, flow: Steps[Any], handle: PromptHandle | None = None) -> None:
        async def run() -> None:
            try:
                outcome = await self.run_flow(flow)
            except Exception as exc:
                outcome = exc
            self._completed(handle, outcome)

        task = asyncio.get_running_loop().create_task(run())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _new_future(self) -> asyncio.Future[PromptResult]:
        return asyncio.get_running_loop().create_future()

    def _notify(self) -> None:
        self._wakeup.set()

    async def _open_websocket(self, client_id: str) -> ObservedAsyncWebSocket:
        """A WebSocket under ``client_id`` whose traffic the plugins see (feeds use it)."""
        ws = await self.transport.connect_websocket(client_id)
        return ObservedAsyncWebSocket(ws, self.hooks, client_id)

    async def _check_queue(self) -> None:
        """One queue check for every unsettled prompt (what polling and reconnects do)."""
        await self.run_flow(self._reconcile())
        self._pump()

    async def _result(self, future: Any, timeout: float | None, prompt_id: str) -> PromptResult:
        try:
            result: PromptResult = await bounded(asyncio.shield(future), timeout)
        except asyncio.TimeoutError as exc:
            raise WaitTimeout(f"prompt {prompt_id} did not finish within {timeout} s") from exc
        return result

    async def _next_of(self, handle: PromptHandle) -> Event | None:
        while (event := self._take(handle)) is None:
            self._wakeup.clear()
            await self._wakeup.wait()
        return None if event is END else event  # type: ignore[return-value]

    # -- closing ----------------------------------------------------------------

    async def aclose(self) -> None:
        """Stop feeds, fail pending futures with :class:`ClientClosedError`, close I/O.

        Bounded: returns within about a second whatever the server does.
        """
        if self._closed:
            return
        for feed in list(self._feeds):
            with contextlib.suppress(Exception):
                await asyncio.wait_for(feed.stop(), 1.0)
        self._closed = True
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=1.0)
        self._fail_pending()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.transport.aclose(), 1.0)
        self.hooks.client_closed(self)


AsyncClient = ComfyAPIClient
