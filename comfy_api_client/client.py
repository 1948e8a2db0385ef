"""ComfyAPIClient: the asyncio client, a thin driver around the sans-I/O core.

All protocol decisions live in :mod:`comfy_core`: the client sends the
requests the core builds, feeds WebSocket messages and responses back into the
shared :class:`~comfy_core.tracker.PromptTracker`, and turns the prompt events
that come out into resolved or failed futures. Everything runs on one event
loop, so the tracker needs no lock.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
import warnings
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Coroutine, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from comfy_api_client.endpoints import AsyncEndpoints
from comfy_api_client.plugins import Hooks, make_plugin_manager
from comfy_api_client.watch import PromptWatch
from comfy_core import routes
from comfy_core.errors import (
    ClientClosedError,
    ComfyError,
    RemoteProtocolError,
    TransportError,
    WaitTimeout,
)
from comfy_core.events import Event, NodeStarted, PreviewReceived, PromptFailed, PromptSucceeded
from comfy_core.flows import (
    Flow,
    RetryPolicy,
    Sleep,
    download_flow,
    fetch_result_flow,
    submit_flow,
)
from comfy_core.http import Request, Response
from comfy_core.models import PromptResponse
from comfy_core.outputs import OutputFile
from comfy_core.progress import Progress, ProgressCounter
from comfy_core.results import ImageItem, PromptResult
from comfy_core.tracker import Outgoing, PromptTracker
from comfy_core.urls import ServerURL
from comfy_transports.base import AsyncTransport

if TYPE_CHECKING:
    from comfy_api_client.trackers import BaseComfyStateTracker

__all__ = ["ComfyAPIClient"]

log = logging.getLogger("comfy_api_client.client")
T = TypeVar("T")
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})
SETTLED_KEPT = 64  # settled prompts whose events a late events() call still gets


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
    ) -> None:
        self.url = ServerURL.parse(comfy_url)
        self.transport = transport
        self.timeout = timeout
        self.tracker = tracker or PromptTracker()
        self.hooks = hooks or Hooks(make_plugin_manager())
        # The WebSocket tracker replaces this with the id of its live connection.
        self.client_id = uuid.uuid4().hex
        self.futures: dict[str, asyncio.Future[PromptResult]] = {}
        self.state_trackers: list[BaseComfyStateTracker] = []
        self._watches: dict[str, PromptWatch] = {}
        self._settled: OrderedDict[str, PromptWatch] = OrderedDict()
        self._wakeup = asyncio.Event()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._closed = False

    def __repr__(self) -> str:
        return f"<ComfyAPIClient {self.url.base} trackers={len(self.state_trackers)}>"

    @property
    def comfy_url(self) -> ServerURL:
        """The parsed base URL (kept under the original package's name)."""
        return self.url

    # -- plumbing -------------------------------------------------------------

    async def send(self, request: Request, *, idempotent: bool | None = None) -> Response:
        """Send one core request through the transport, with the plugins' headers and retries.

        Failures of idempotent requests (by default every method but POST) are
        retried as long as the ``comfy_retry_delay`` hook gives a delay; others
        are sent once, since only a flow that checks for duplicates (submit)
        may repeat them. Returns the last response whatever its status; raises
        the last transport error when retries run out.
        """
        if idempotent is None:
            idempotent = request.method in IDEMPOTENT_METHODS
        started = time.monotonic()
        attempt = 0
        while True:
            if self._closed:
                raise ClientClosedError("the client is closed")
            prepared = self.hooks.request_headers(request, attempt)
            sent = time.monotonic()
            try:
                response = await self.transport.handle_async_request(prepared)
            except TransportError as exc:
                self.hooks.request_failed(prepared, exc, time.monotonic() - sent)
                if not idempotent:
                    raise
                delay = self.hooks.retry_delay(
                    prepared, attempt=attempt, elapsed=time.monotonic() - started,
                    error=exc, idempotent=idempotent,
                )  # fmt: skip
                if delay is None:
                    raise
            else:
                self.hooks.response_received(prepared, response, time.monotonic() - sent)
                if not idempotent or (response.status < 500 and response.status != 429):
                    return response
                delay = self.hooks.retry_delay(
                    prepared, attempt=attempt, elapsed=time.monotonic() - started,
                    response=response, idempotent=idempotent,
                )  # fmt: skip
                if delay is None:
                    return response
            attempt += 1
            await asyncio.sleep(delay)

    def _retry_policy(self, request_of: Callable[[], Request]) -> RetryPolicy:
        """The plugins' retry decision for a flow that dedupes its own retries."""
        started = time.monotonic()

        def policy(
            attempt: int, response: Response | None, error: Exception | None
        ) -> float | None:
            return self.hooks.retry_delay(
                request_of(), attempt=attempt, elapsed=time.monotonic() - started,
                response=response, error=error, idempotent=True,
            )  # fmt: skip

        return policy

    async def run_flow(self, flow: Flow[T]) -> T:
        """Drive a core flow to its end: send its requests, sleep its sleeps."""
        try:
            step: Request | Sleep = next(flow)
            while True:
                if isinstance(step, Sleep):
                    await asyncio.sleep(step.seconds)
                    step = flow.send(None)
                    continue
                try:
                    response = await self.send(step)
                except TransportError as exc:
                    step = flow.throw(exc)
                else:
                    step = flow.send(response)
        except StopIteration as stop:
            value: T = stop.value
            return value

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def feed(self, message: str | bytes) -> None:
        """Give one WebSocket message to the tracker (trackers call this)."""
        try:
            if isinstance(message, str):
                self.tracker.receive_text(message)
            else:
                self.tracker.receive_binary(message)
        except RemoteProtocolError as exc:
            # One bad message (a buggy custom node) must not stop tracking.
            log.warning("ignored a malformed WebSocket message: %s", exc)
        self.pump()

    def pump(self) -> None:
        """Handle every event the tracker has ready and send the requests it wants."""
        while (event := self.tracker.next_event()) is not None:
            self.hooks.event(event)
            self._dispatch(event)
        for out in self.tracker.requests_to_send():
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

    async def check_queue(self) -> None:
        """Ask the tracker's queue check once (what HTTP polling and reconnects do)."""
        out = self.tracker.reconcile()
        if out is None:
            return
        response = await self.send(out.request)
        self.tracker.receive_response(out, response)
        self.pump()

    def _dispatch(self, event: Event) -> None:
        watch = self._watches.get(event.prompt_id or "")
        if watch is not None:
            watch.deliver(event)
            if watch.finished and not watch.consumers:
                self._retire(watch)
            self._wakeup.set()
        if isinstance(event, PromptSucceeded):
            self._spawn(self._finish(event.result))
        elif isinstance(event, PromptFailed):
            self.hooks.prompt_failed(event.prompt_id or "", event.error)
            future = self.futures.pop(event.prompt_id or "", None)
            if future is not None and not future.done():
                future.set_exception(event.error)

    def _retire(self, watch: PromptWatch) -> None:
        """Keep a settled prompt's events for a late ``events()`` call, for the newest few."""
        del self._watches[watch.prompt_id]
        self._settled[watch.prompt_id] = watch
        while len(self._settled) > SETTLED_KEPT:
            self._settled.popitem(last=False)

    async def _finish(self, result: PromptResult) -> None:
        """Download images (and every file, for storage plugins), then resolve the future."""
        future = self.futures.get(result.prompt_id)
        outcome: PromptResult | BaseException
        try:
            outcome = await self.download_images(result)
            stored = await self._store_outputs(outcome)
        except (ComfyError, OSError, ValueError) as exc:
            outcome = exc
        else:
            self.hooks.prompt_finished(outcome, stored)
        self.futures.pop(result.prompt_id, None)
        if future is None or future.done():
            return
        if isinstance(outcome, BaseException):
            future.set_exception(outcome)
        else:
            future.set_result(outcome)

    async def _store_outputs(self, result: PromptResult) -> dict[str, list[str]]:
        if not self.hooks.stores_outputs:
            return {}
        images = {
            (i.node_id, i.subfolder, i.type, i.filename): i.data for i in result.output_images
        }
        stored: dict[str, list[str]] = {}
        for ref in result.files:
            data = images.get((ref.node_id, ref.subfolder, ref.type, ref.filename))
            if data is None:
                data = await self.download(ref)
            # Storage plugins write files: keep that off the event loop.
            where = await asyncio.to_thread(self.hooks.store_output, result.prompt_id, ref, data)
            stored[f"{ref.node_id}/{ref.filename}"] = where
        return stored

    # -- prompts ----------------------------------------------------------------

    async def submit_workflow(
        self,
        workflow: Mapping[str, Any],
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
    ) -> PromptResponse:
        """Queue an API-format ``workflow`` and return the server's receipt.

        With ``return_future`` the receipt's ``future`` resolves to the
        :class:`PromptResult` (images downloaded) or fails with the prompt's
        error; await it, or call :meth:`wait` for a timeout. A workflow the
        server refuses raises :class:`WorkflowValidationError` at once.

        ``on_progress`` gets a :class:`Progress` (per node and overall) as the
        prompt runs, ``on_node`` each node that starts, ``on_preview`` each
        preview image; :meth:`events` yields every event of the prompt.
        """
        if self._closed:
            raise ClientClosedError("the client is closed")
        prompt_id = prompt_id or str(uuid.uuid4())
        post = Request(method="POST", path=f"{routes.API}/prompt")  # what retry hooks see
        future: asyncio.Future[PromptResult] | None = None
        if return_future:
            if not any(t.is_running for t in self.state_trackers):
                warnings.warn(
                    "submit_workflow(return_future=True) without a running state tracker: "
                    "nothing will resolve the future; use fetch_results()",
                    stacklevel=2,
                )
            future = asyncio.get_running_loop().create_future()
            self.futures[prompt_id] = future
            self._watches[prompt_id] = PromptWatch(
                prompt_id,
                ProgressCounter(prompt_id, len(workflow) if isinstance(workflow, Mapping) else 0),
                on_progress,
                on_node,
                on_preview,
            )
        flow = submit_flow(
            workflow,
            prompt_id=prompt_id,
            client_id=self.client_id,
            tracker=self.tracker if return_future else None,
            retry=self._retry_policy(lambda: post),
            number=number,
            front=front,
            extra_data=extra_data,
            partial_execution_targets=partial_execution_targets,
        )
        try:
            receipt = await self.run_flow(flow)
        except BaseException:
            self.futures.pop(prompt_id, None)
            self._watches.pop(prompt_id, None)
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
        prompt_id = prompt if isinstance(prompt, str) else prompt.prompt_id
        watch = self._watches.get(prompt_id) or self._settled.pop(prompt_id, None)
        if watch is None:
            return
        watch.consumers += 1
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
            watch.consumers -= 1
            if watch.finished and not watch.consumers:
                self._watches.pop(prompt_id, None)
                self._settled.pop(prompt_id, None)

    async def wait(
        self, prompt: PromptResponse | str, timeout: float | None = None
    ) -> PromptResult:
        """Wait for a submitted prompt's result; :class:`WaitTimeout` after ``timeout``.

        ``timeout`` defaults to the client's. The prompt keeps running on the
        server when the wait times out or is cancelled.
        """
        prompt_id = prompt if isinstance(prompt, str) else prompt.prompt_id
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
        self, workflow: Mapping[str, Any], *, timeout: float | None = None, **options: Any
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
        if isinstance(prompt, PromptResponse):
            prompt_id = prompt.prompt_id
        elif isinstance(prompt, str):
            prompt_id = prompt
        else:
            raise TypeError(
                f"expected a PromptResponse or a prompt id, not {type(prompt).__name__}"
            )
        result = await self.run_flow(fetch_result_flow(prompt_id))
        return await self.download_images(result)

    async def download(self, ref: OutputFile) -> bytes:
        """The bytes of one output file (any kind: images, latents, video, audio)."""
        return await self.run_flow(download_flow(ref))

    async def download_images(self, result: PromptResult) -> PromptResult:
        """``result`` with ``output_images`` filled in (downloaded concurrently)."""
        refs = result.image_files
        blobs = await asyncio.gather(*(self.download(ref) for ref in refs))
        pairs = zip(refs, blobs, strict=True)
        return result.with_images([ImageItem.from_download(ref, blob) for ref, blob in pairs])

    # -- state trackers ---------------------------------------------------------

    def register_state_tracker(self, state_tracker: BaseComfyStateTracker) -> None:
        if state_tracker not in self.state_trackers:
            self.state_trackers.append(state_tracker)

    def remove_state_tracker(self, state_tracker: BaseComfyStateTracker) -> None:
        if state_tracker in self.state_trackers:
            self.state_trackers.remove(state_tracker)

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
