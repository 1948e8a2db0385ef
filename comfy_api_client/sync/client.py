"""Client: the blocking twin of ComfyAPIClient, for scripts, notebooks and threads.

It never runs an event loop (so it works inside Jupyter and inside a running
loop, such as a FastAPI handler) and is safe to share between threads. The
protocol is the same core and :class:`~comfy_api_client.base.ClientBase`; the
tracker is touched only under one lock; settled prompts are finished (images
downloaded, outputs stored) on a small worker pool; futures are
``concurrent.futures.Future``.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import logging
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from types import TracebackType
from typing import Any, TypeVar

from comfy_api_client.base import MAX_DOWNLOAD_SIZE, ClientBase
from comfy_api_client.observed import ObservedSyncWebSocket
from comfy_api_client.plugins import Hooks
from comfy_api_client.sending import attempts
from comfy_api_client.sync.endpoints import SyncEndpoints
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
from comfy_transports.base import SyncTransport

__all__ = ["Client"]

log = logging.getLogger("comfy_api_client.client")
T = TypeVar("T")


class Client(ClientBase, SyncEndpoints):
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
        self.futures: dict[str, concurrent.futures.Future[PromptResult]] = {}
        self._lock = threading.RLock()
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

    # -- plumbing -------------------------------------------------------------

    def _drive(self, flow: Flow[T], send: Callable[[Request], Response]) -> T:
        # Flow steps may touch the tracker (submit registers the prompt): under the lock.
        # The I/O between steps happens outside it.
        try:
            with self._lock:
                step: Request | Sleep = next(flow)
            while True:
                if isinstance(step, Sleep):
                    if self._stopping.wait(step.seconds):
                        raise ClientClosedError("the client is closed")
                    with self._lock:
                        step = flow.send(None)
                    continue
                try:
                    response = send(step)
                except TransportError as exc:
                    with self._lock:
                        step = flow.throw(exc)
                else:
                    with self._lock:
                        step = flow.send(response)
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

    def run_flow(self, flow: Flow[T]) -> T:
        """Drive a core flow to its end: send its requests, sleep its sleeps."""
        return self._drive(flow, self.send)

    def _spawn(self, fn: Callable[..., None], *args: Any) -> None:
        if self._closed:
            return
        with contextlib.suppress(RuntimeError):  # the pool shut down meanwhile
            self._pool.submit(fn, *args)

    def feed(self, message: str | bytes) -> None:
        """Give one WebSocket message to the tracker (trackers call this)."""
        with self._lock:
            self._receive(message)
        self.pump()

    def pump(self) -> None:
        """Act on what the tracker has ready: settle futures, send the requests it wants."""
        with self._lock:
            settled, outgoing = self._drain()
            self._changed.notify_all()
        for event in settled:
            if isinstance(event, PromptSucceeded):
                self._spawn(self._finish, event.result)
            else:
                future = self.futures.pop(event.prompt_id or "", None)
                if future is not None and not future.done():
                    future.set_exception(self._scrub(event.error))
        for out in outgoing:
            self._spawn(self._send_outgoing, out)

    def _send_outgoing(self, out: Outgoing) -> None:
        if out.delay and self._stopping.wait(out.delay):
            return
        try:
            response = self.send(out.request)
        except (TransportError, ClientClosedError) as exc:
            log.info("%s %s failed, will retry: %s", out.request.method, out.request.path, exc)
            if not self._closed:
                with self._lock:
                    self.tracker.request_failed(out, exc)
        else:
            with self._lock:
                self.tracker.receive_response(out, response)
        self.pump()

    def _open_websocket(self, client_id: str) -> ObservedSyncWebSocket:
        """A WebSocket under ``client_id`` whose traffic the plugins see (trackers use it)."""
        return ObservedSyncWebSocket(
            self.transport.connect_websocket(client_id), self.hooks, client_id
        )

    def check_queue(self) -> None:
        """Ask the tracker's queue check once (what HTTP polling and reconnects do)."""
        with self._lock:
            out = self.tracker.reconcile()
        if out is None:
            return
        response = self.send(out.request)
        with self._lock:
            self.tracker.receive_response(out, response)
        self.pump()

    def _finish(self, result: PromptResult) -> None:
        """Download images (and every file, for storage plugins), then resolve the future."""
        outcome: PromptResult | BaseException
        try:
            outcome = self.download_images(result)
            stored: dict[str, list[str]] = {}
            for ref, data in self._files_to_store(outcome):
                blob = data if data is not None else self.download(ref)
                stored[f"{ref.node_id}/{ref.filename}"] = self.hooks.store_output(
                    result.prompt_id, ref, blob
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

    def submit_workflow(
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

        With ``return_future`` the receipt's ``future`` (a
        ``concurrent.futures.Future``) resolves to the :class:`PromptResult` or
        fails with the prompt's error; :meth:`wait` waits with a timeout.
        Callbacks run on the client's background threads.

        With ``validate`` it is checked first, offline, with the client's cached
        ``/object_info`` (:meth:`Workflow.validate <comfy_core.workflows.Workflow.validate>`):
        a workflow the server would refuse raises before anything is sent.
        """
        # Outside the lock: loading may send GET /object_info.
        workflow, extra_data = self._prepare_workflow(workflow, extra_data, validate)
        with self._lock:
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
            future: concurrent.futures.Future[PromptResult] | None = None
            if return_future:
                future = concurrent.futures.Future()
                self.futures[prompt_id] = future
        try:
            receipt = self.run_flow(flow)
        except BaseException:
            with self._lock:
                self.futures.pop(prompt_id, None)
                self._abandon(prompt_id)
            raise
        finally:
            self.pump()
        receipt.future = future
        return receipt

    def events(self, prompt: PromptResponse | str) -> Iterator[Event]:
        """Every event of a tracked prompt, from its submission on, ending with its
        ``PromptSucceeded`` or ``PromptFailed`` (see the async client)."""
        with self._lock:
            watch = self._attach(prompt_id_of(prompt))
        if watch is None:
            return
        try:
            while True:
                with self._changed:
                    while not watch.buffer and not watch.finished and not self._closed:
                        self._changed.wait(0.5)
                    if not watch.buffer:
                        return
                    event = watch.buffer.popleft()
                yield event
                if isinstance(event, (PromptSucceeded, PromptFailed)):
                    return
        finally:
            with self._lock:
                self._detach(watch)

    def wait(self, prompt: PromptResponse | str, timeout: float | None = None) -> PromptResult:
        """Wait for a submitted prompt's result; :class:`WaitTimeout` after ``timeout``.

        ``timeout`` defaults to the client's. The prompt keeps running on the
        server when the wait times out.
        """
        prompt_id = prompt_id_of(prompt)
        future = self.futures.get(prompt_id)
        if future is None and isinstance(prompt, PromptResponse):
            future = prompt.future
        if future is None:
            raise ValueError(f"prompt {prompt_id} has no future: use fetch_results()")
        limit = self.timeout if timeout is None else timeout
        try:
            return future.result(limit)
        except concurrent.futures.TimeoutError:
            raise WaitTimeout(f"prompt {prompt_id} did not finish within {limit} s") from None

    def run(
        self, workflow: WorkflowSource, *, timeout: float | None = None, **options: Any
    ) -> PromptResult:
        """Submit ``workflow`` and wait for its result (see :meth:`submit_workflow`)."""
        prompt = self.submit_workflow(workflow, **options)
        return self.wait(prompt, timeout)

    def fetch_results(self, prompt: PromptResponse | str) -> PromptResult:
        """Read a finished prompt's result from the server's history, images downloaded."""
        result = self.run_flow(fetch_result_flow(prompt_id_of(prompt)))
        return self.download_images(result)

    def download(self, ref: OutputFile) -> bytes:
        """The bytes of one output file (any kind: images, latents, video, audio).

        Larger than ``max_download_size`` (256 MiB by default) it raises
        :class:`BodyTooLarge`: stream such files with :meth:`download_to`.
        """
        return self.run_flow(download_flow(ref, self.max_download_size))

    def download_images(self, result: PromptResult) -> PromptResult:
        """``result`` with ``output_images`` filled in."""
        refs = result.image_files
        return result.with_images([ImageItem.from_download(r, self.download(r)) for r in refs])

    # -- closing ----------------------------------------------------------------

    def close(self) -> None:
        """Stop trackers, fail pending futures with :class:`ClientClosedError`, close I/O.

        Bounded: returns within about a second whatever the server does.
        """
        if self._closed:
            return
        for tracker in list(self.state_trackers):
            with contextlib.suppress(Exception):
                tracker.stop()
        with self._lock:
            self._closed = True
            self._changed.notify_all()
        self._stopping.set()
        self._pool.shutdown(wait=False, cancel_futures=True)
        for prompt_id, future in list(self.futures.items()):
            if not future.done():
                future.set_exception(
                    ClientClosedError(f"the client closed before prompt {prompt_id} finished")
                )
        self.futures.clear()
        with contextlib.suppress(Exception):
            self.transport.close()
        self.hooks.client_closed(self)
