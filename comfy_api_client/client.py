"""ComfyAPIClient: the asyncio client, a thin driver around the sans-I/O core.

All protocol decisions live in :mod:`comfy_core` and the shared
:class:`~comfy_api_client.base.ClientBase`: this driver sends the requests
they build, feeds WebSocket messages and responses back into the
:class:`~comfy_core.tracker.PromptTracker`, and turns settled prompts into
resolved or failed futures. Everything runs on one event loop, so the tracker
needs no lock. ``comfy_api_client.sync.Client`` is its twin for threads.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Coroutine, Mapping, Sequence
from typing import Any, TypeVar

from comfy_api_client.base import MAX_DOWNLOAD_SIZE, ClientBase
from comfy_api_client.endpoints import AsyncEndpoints
from comfy_api_client.observed import ObservedAsyncWebSocket
from comfy_api_client.plugins import Hooks
from comfy_api_client.sending import attempts
from comfy_core.conclusions import PromptFailed, PromptSucceeded
from comfy_core.errors import ClientClosedError, ComfyError, TransportError, WaitTimeout
from comfy_core.events import Event, NodeStarted, PreviewReceived
from comfy_core.flows import Flow, Sleep, download_flow, fetch_result_flow
from comfy_core.http import Request, Response
from comfy_core.models import PromptResponse, prompt_id_of
from comfy_core.outputs import OutputFile
from comfy_core.progress import Progress
from comfy_core.results import ImageItem, PromptResult
from comfy_core.tracker import Outgoing, PromptTracker
from comfy_core.workflows import WorkflowSource
from comfy_transports.base import AsyncTransport

__all__ = ["ComfyAPIClient"]

log = logging.getLogger("comfy_api_client.client")
T = TypeVar("T")


class ComfyAPIClient(ClientBase, AsyncEndpoints):
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
        self.futures: dict[str, asyncio.Future[PromptResult]] = {}
        self._wakeup = asyncio.Event()
        self._tasks: set[asyncio.Task[Any]] = set()

    # -- plumbing -------------------------------------------------------------

    async def _drive(self, flow: Flow[T], send: Callable[[Request], Any]) -> T:
        try:
            step: Request | Sleep = next(flow)
            while True:
                if isinstance(step, Sleep):
                    await asyncio.sleep(step.seconds)
                    step = flow.send(None)
                    continue
                try:
                    response = await send(step)
                except TransportError as exc:
                    step = flow.throw(exc)
                else:
                    step = flow.send(response)
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

    async def run_flow(self, flow: Flow[T]) -> T:
        """Drive a core flow to its end: send its requests, sleep its sleeps."""
        return await self._drive(flow, self.send)

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def feed(self, message: str | bytes) -> None:
        """Give one WebSocket message to the tracker (trackers call this)."""
        self._receive(message)
        self.pump()

    def pump(self) -> None:
        """Act on what the tracker has ready: settle futures, send the requests it wants."""
        settled, outgoing = self._drain()
        self._wakeup.set()
        for event in settled:
            if isinstance(event, PromptSucceeded):
                self._spawn(self._finish(event.result))
            else:
                future = self.futures.pop(event.prompt_id or "", None)
                if future is not None and not future.done():
                    future.set_exception(self._scrub(event.error))
        for out in outgoing:
            self._spawn(self._send_outgoing(out))

    async def _send_outgoing(self, out: Outgoing) -> None:
        if out.delay:
            await asyncio.sleep(out.delay)
        try:
            response = await self.send(out.request)
        except (TransportError, ClientClosedError) as exc:
            log.info("%s %s failed, will retry: %s", out.request.method, out.request.path, exc)
            if not self._closed:
                self.tracker.request_failed(out, exc)
        else:
            self.tracker.receive_response(out, response)
        self.pump()

    async def _open_websocket(self, client_id: str) -> ObservedAsyncWebSocket:
        """A WebSocket under ``client_id`` whose traffic the plugins see (trackers use it)."""
        ws = await self.transport.connect_websocket(client_id)
        return ObservedAsyncWebSocket(ws, self.hooks, client_id)

    async def check_queue(self) -> None:
        """Ask the tracker's queue check once (what HTTP polling and reconnects do)."""
        out = self.tracker.reconcile()
        if out is None:
            return
        response = await self.send(out.request)
        self.tracker.receive_response(out, response)
        self.pump()

    async def _finish(self, result: PromptResult) -> None:
        """Download images (and every file, for storage plugins), then resolve the future."""
        outcome: PromptResult | BaseException
        try:
            outcome = await self.download_images(result)
            stored: dict[str, list[str]] = {}
            for ref, data in self._files_to_store(outcome):
                blob = data if data is not None else await self.download(ref)
                # Storage plugins write files: keep that off the event loop.
                stored[f"{ref.node_id}/{ref.filename}"] = await asyncio.to_thread(
                    self.hooks.store_output, result.prompt_id, ref, blob
                )
            self.hooks.prompt_finished(outcome, stored)
        except Exception as exc:  # a plugin or a download: any failure fails this prompt only
            outcome = self._finish_error(result.prompt_id, exc)
        future = self.futures.pop(result.prompt_id, None)
        if future is None or future.done():
            return
        if isinstance(outcome, BaseException):
            future.set_exception(self._scrub(outcome))
        else:
            future.set_result(outcome)

    # -- prompts ----------------------------------------------------------------

    async def submit_workflow(
        self,
        workflow: WorkflowSource,
        return_future: bool = True,
        *,
        prompt_id: str | None = None,
        number: float | None = None,
        front: bool = False,
        extra_data: Mapping[str, Any] | None = None,
        partial_execution_targets: Sequence[str] | None = None,
        on_progress: Callable[[Progress], Any] | None = None,
        on_node: Callable[[NodeStarted], Any] | None = None,
        on_preview: Callable[[PreviewReceived], Any] | None = None,
        validate: bool = False,
    ) -> PromptResponse:
        """Queue ``workflow`` and return the server's receipt.

        ``workflow`` is an API-format dict, a :class:`~comfy_core.workflows.Workflow`,
        a UI-format dict, or a path/bytes/text :meth:`load_workflow` reads (a PNG
        ComfyUI saved, say); UI workflows are converted with the server's
        ``/object_info`` and sent along in ``extra_pnginfo.workflow``.

        With ``return_future`` the receipt's ``future`` resolves to the
        :class:`PromptResult` (images downloaded) or fails with the prompt's
        error; await it, or call :meth:`wait` for a timeout. A workflow the
        server refuses raises :class:`WorkflowValidationError` at once.

        With ``validate`` it is checked first, offline, with the client's cached
        ``/object_info`` (:meth:`Workflow.validate <comfy_core.workflows.Workflow.validate>`):
        a workflow the server would refuse raises before anything is sent.

        ``on_progress`` gets a :class:`Progress` (per node and overall) as the
        prompt runs, ``on_node`` each node that starts, ``on_preview`` each
        preview image; :meth:`events` yields every event of the prompt.
        """
        workflow, extra_data = await self._prepare_workflow(workflow, extra_data, validate)
        prompt_id, flow = self._submission(
            workflow,
            tracked=return_future,
            prompt_id=prompt_id,
            number=number,
            front=front,
            extra_data=extra_data,
            partial_execution_targets=partial_execution_targets,
            on_progress=on_progress,
            on_node=on_node,
            on_preview=on_preview,
        )
        future: asyncio.Future[PromptResult] | None = None
        if return_future:
            future = asyncio.get_running_loop().create_future()
            self.futures[prompt_id] = future
        try:
            receipt = await self.run_flow(flow)
        except BaseException:
            self.futures.pop(prompt_id, None)
            self._abandon(prompt_id)
            raise
        finally:
            self.pump()
        receipt.future = future
        return receipt

    async def events(self, prompt: PromptResponse | str) -> AsyncIterator[Event]:
        """Every event of a tracked prompt, from its submission on, ending with its
        ``PromptSucceeded`` or ``PromptFailed``. The events of the newest settled
        prompts are kept for a late call; for a prompt submitted without a future,
        or long settled, it yields nothing.
        """
        watch = self._attach(prompt_id_of(prompt))
        if watch is None:
            return
        try:
            while True:
                while watch.buffer:
                    event = watch.buffer.popleft()
                    yield event
                    if isinstance(event, (PromptSucceeded, PromptFailed)):
                        return
                if watch.finished or self._closed:
                    return
                self._wakeup.clear()
                await self._wakeup.wait()
        finally:
            self._detach(watch)

    async def wait(
        self, prompt: PromptResponse | str, timeout: float | None = None
    ) -> PromptResult:
        """Wait for a submitted prompt's result; :class:`WaitTimeout` after ``timeout``.

        ``timeout`` defaults to the client's. The prompt keeps running on the
        server when the wait times out or is cancelled.
        """
        prompt_id = prompt_id_of(prompt)
        future = self.futures.get(prompt_id)
        if future is None and isinstance(prompt, PromptResponse):
            future = prompt.future
        if future is None:
            raise ValueError(f"prompt {prompt_id} has no future: use fetch_results()")
        limit = self.timeout if timeout is None else timeout
        try:
            return await asyncio.wait_for(asyncio.shield(future), limit)
        except asyncio.TimeoutError:
            raise WaitTimeout(f"prompt {prompt_id} did not finish within {limit} s") from None

    async def run(
        self, workflow: WorkflowSource, *, timeout: float | None = None, **options: Any
    ) -> PromptResult:
        """Submit ``workflow`` and wait for its result (see :meth:`submit_workflow`)."""
        prompt = await self.submit_workflow(workflow, **options)
        return await self.wait(prompt, timeout)

    async def fetch_results(self, prompt: PromptResponse | str) -> PromptResult:
        """Read a finished prompt's result from the server's history, images downloaded.

        Raises the prompt's error if it failed, :class:`PromptNotFinishedError`
        while it is queued or running, :class:`PromptLostError` if the server
        no longer knows it.
        """
        result = await self.run_flow(fetch_result_flow(prompt_id_of(prompt)))
        return await self.download_images(result)

    async def download(self, ref: OutputFile) -> bytes:
        """The bytes of one output file (any kind: images, latents, video, audio).

        Larger than ``max_download_size`` (256 MiB by default) it raises
        :class:`BodyTooLarge`: stream such files with :meth:`download_to`.
        """
        return await self.run_flow(download_flow(ref, self.max_download_size))

    async def download_images(self, result: PromptResult) -> PromptResult:
        """``result`` with ``output_images`` filled in (downloaded concurrently)."""
        refs = result.image_files
        blobs = await asyncio.gather(*(self.download(ref) for ref in refs))
        pairs = zip(refs, blobs, strict=True)
        return result.with_images([ImageItem.from_download(ref, blob) for ref, blob in pairs])

    # -- closing ----------------------------------------------------------------

    async def aclose(self) -> None:
        """Stop trackers, fail pending futures with :class:`ClientClosedError`, close I/O.

        Bounded: returns within about a second whatever the server does.
        """
        if self._closed:
            return
        for tracker in list(self.state_trackers):
            with contextlib.suppress(Exception):
                await asyncio.wait_for(tracker.stop(), 1.0)
        self._closed = True
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=1.0)
        for prompt_id, future in list(self.futures.items()):
            if not future.done():
                future.set_exception(
                    ClientClosedError(f"the client closed before prompt {prompt_id} finished")
                )
                # Nobody may await it: do not let asyncio log it as unretrieved.
                future.exception()
        self.futures.clear()
        self._wakeup.set()  # event iterators see the client closed
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.transport.aclose(), 1.0)
        self.hooks.client_closed(self)
