"""ClientBase: everything the async and the sync client share, with no I/O.

It holds the :class:`~comfy_core.session.Session` (the tracker and one
:class:`~comfy_core.handles.PromptHandle` per tracked prompt), the plugin
hooks and the running feeds, and it writes once the steps both drivers take:
submitting, acting on the events the session yields (plugins, callbacks,
futures), the finish step of a prompt, the requests the tracker asks for, and
closing. A driver adds only what differs: how a step of a flow is carried out
(``_drive``), how work is spawned (``_spawn``), which future it hands out and
how waiting works.

Locking. ``_lock`` guards the session; the sync client has many threads, the
async one takes it uncontended. Plugin hooks, user callbacks and futures are
never called under it: they are queued in order under the lock and run after
it is released, by one thread at a time (``_dispatch``), so one slow callback
blocks no submit and no wait.
"""

from __future__ import annotations

import logging
import threading
import uuid
import warnings
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from comfy_api_client.plugins import Hooks, make_plugin_manager
from comfy_api_client.sending import retry_policy
from comfy_core import routes
from comfy_core.conclusions import PromptFailed, PromptSucceeded
from comfy_core.errors import ClientClosedError, ComfyError, InvalidArgument, TransportError
from comfy_core.events import Event, NodeStarted, PreviewReceived
from comfy_core.flows import Call, Flow, Gather, Sleep, Steps, download_flow, submit_flow
from comfy_core.handles import PromptHandle
from comfy_core.http import Request
from comfy_core.models import PromptResponse, prompt_id_of
from comfy_core.outputs import OutputFile
from comfy_core.progress import Progress, ProgressCounter
from comfy_core.redact import client_secrets, scrub_error
from comfy_core.results import ImageItem, PromptResult
from comfy_core.session import SETTLED_KEPT, SETTLED_PREVIEW_BYTES, Session
from comfy_core.tracker import Outgoing, PromptTracker
from comfy_core.urls import ServerURL

__all__ = [
    "MAX_DOWNLOAD_SIZE",
    "SETTLED_KEPT",
    "SETTLED_PREVIEW_BYTES",
    "ClientBase",
    "Receipt",
    "assemble",
]

log = logging.getLogger("comfy_api_client.client")
MAX_DOWNLOAD_SIZE = 256 * 2**20  # in-memory downloads; download_to streams without a bound
END = object()  # what _take gives when a prompt's events are over


@dataclass(slots=True, kw_only=True)
class Receipt(PromptResponse):
    """The server's receipt, with the ``future`` of the prompt's result when the client
    tracks it (``submit_workflow(return_future=True)``), else None."""

    future: Any = None


class ClientBase:
    """Shared state and steps of one client (see the module doc); not used on its own."""

    def __init__(
        self,
        comfy_url: str,
        *,
        timeout: float | None = None,
        tracker: PromptTracker | None = None,
        hooks: Hooks | None = None,
        max_download_size: int | None = MAX_DOWNLOAD_SIZE,
    ) -> None:
        self.url = ServerURL.parse(comfy_url)
        self.max_download_size = max_download_size
        self.timeout = timeout
        self.hooks = hooks or Hooks(make_plugin_manager())
        self._session = Session(tracker)
        self._feeds: list[Any] = []
        self._lock = threading.RLock()
        self._ready: deque[Callable[[], Any]] = deque()
        self._dispatching = threading.Lock()
        self._closed = False

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.url.base} feeds={len(self._feeds)}>"

    @property
    def comfy_url(self) -> ServerURL:
        """The parsed base URL (kept under the original package's name)."""
        return self.url

    @property
    def tracker(self) -> PromptTracker:
        """The sans-I/O prompt tracker of this client's session."""
        return self._session.tracker

    @property
    def client_id(self) -> str:
        """The client id submits carry: that of the live WebSocket, if any."""
        return self._session.client_id

    @property
    def state_trackers(self) -> list[Any]:
        """The running feeds (WebSocket or polling) that keep the tracker informed."""
        return list(self._feeds)

    def _add_feed(self, feed: Any) -> None:
        if feed not in self._feeds:
            self._feeds.append(feed)

    def _remove_feed(self, feed: Any) -> None:
        if feed in self._feeds:
            self._feeds.remove(feed)

    def _check_open(self) -> None:
        if self._closed:
            raise ClientClosedError("the client is closed")

    # -- what drivers provide -------------------------------------------------------

    def _spawn(self, flow: Steps[Any], handle: PromptHandle | None = None) -> None:
        """Run ``flow`` in the background, then hand its outcome to :meth:`_completed`."""
        raise NotImplementedError

    def _new_future(self) -> Any:
        raise NotImplementedError

    def _notify(self) -> None:
        """Wake whoever waits for events (called with the lock held)."""
        raise NotImplementedError

    # -- events -------------------------------------------------------------------

    def _receive(self, message: str | bytes) -> None:
        """Feed one WebSocket message to the session and act on it (feeds call this)."""
        with self._lock:
            error = self._session.receive(message)
        if error is not None:
            log.warning("ignored a malformed WebSocket message: %s", error)
        self._pump()

    def _pump(self) -> None:
        """Act on what the session has ready: run plugins, callbacks and futures in
        order, outside the lock, and spawn the requests the tracker wants sent."""
        with self._lock:
            while (ready := self._session.next_event()) is not None:
                event, handle, calls = ready
                self._ready.append(partial(self.hooks.event, event))
                if calls:  # most events have no callback due
                    self._ready.extend(partial(callback, value) for callback, value in calls)
                if isinstance(event, PromptFailed):
                    self._ready.append(
                        partial(self.hooks.prompt_failed, event.prompt_id or "", event.error)
                    )
                    if handle is not None:
                        self._ready.append(partial(self._resolve, handle, event.error))
                elif isinstance(event, PromptSucceeded) and handle is not None:
                    self._ready.append(partial(self._spawn, self._finish(event.result), handle))
            outgoing = self._session.tracker.requests_to_send()
            self._notify()
        self._dispatch()
        for out in outgoing:
            self._spawn(self._send_outgoing(out))

    def _dispatch(self) -> None:
        # One thread at a time runs the queue, so hooks and callbacks see events in order;
        # a thread that finds it busy leaves its items to the one running it.
        while self._ready and self._dispatching.acquire(blocking=False):
            try:
                while True:
                    with self._lock:
                        if not self._ready:
                            break
                        step = self._ready.popleft()
                    try:
                        step()
                    except Exception:
                        log.exception("a callback failed; tracking goes on")
            finally:
                self._dispatching.release()

    def _take(self, handle: PromptHandle) -> Event | object | None:
        """The next buffered event of ``handle``; END when there is none to come; None
        when the caller must wait (call with the lock held)."""
        if handle.buffer:
            return handle.buffer.popleft()
        return END if handle.finished or self._closed else None

    def _attach(self, prompt: PromptResponse | str) -> PromptHandle | None:
        with self._lock:
            return self._session.attach(prompt_id_of(prompt))

    def _detach(self, handle: PromptHandle) -> None:
        with self._lock:
            self._session.detach(handle)

    # -- submissions and outcomes ---------------------------------------------------

    def _submission(
        self,
        workflow: Mapping[str, Any],
        *,
        return_future: bool,
        prompt_id: str | None,
        number: float | None,
        front: bool,
        extra_data: Mapping[str, Any] | None,
        partial_execution_targets: Sequence[str] | None,
        on_progress: Callable[[Progress], Any] | None,
        on_node: Callable[[NodeStarted], Any] | None,
        on_preview: Callable[[PreviewReceived], Any] | None,
    ) -> tuple[PromptHandle | None, Flow[PromptResponse]]:
        """Mint the prompt id, open its handle if tracked, and build its submit flow."""
        self._check_open()
        prompt_id = prompt_id or str(uuid.uuid4())
        handle = None
        if return_future:
            if not any(feed.is_running for feed in self._feeds):
                warnings.warn(
                    "submit_workflow(return_future=True) without a running state tracker: "
                    "nothing will resolve the future; use fetch_results()",
                    stacklevel=3,
                )
            nodes = len(workflow) if isinstance(workflow, Mapping) else 0
            handle = PromptHandle(
                prompt_id, ProgressCounter(prompt_id, nodes), on_progress, on_node, on_preview
            )
            handle.future = self._new_future()
            with self._lock:
                self._session.open(handle)
        post = Request(method="POST", path=f"{routes.API}/prompt")  # what retry hooks see
        flow = submit_flow(
            workflow,
            prompt_id=prompt_id,
            client_id=self.client_id,
            tracker=self.tracker if return_future else None,
            retry=retry_policy(self.hooks, post),
            number=number,
            front=front,
            extra_data=extra_data,
            partial_execution_targets=partial_execution_targets,
        )
        return handle, flow

    def _receipt(self, response: PromptResponse, handle: PromptHandle | None) -> Receipt:
        return Receipt(
            prompt_id=response.prompt_id,
            number=response.number,
            node_errors=response.node_errors,
            future=handle.future if handle is not None else None,
        )

    def _abandon(self, handle: PromptHandle | None) -> None:
        """The submit failed: drop the prompt's handle (nobody gets its future)."""
        if handle is not None:
            with self._lock:
                self._session.discard(handle.prompt_id)

    def _future_of(self, prompt: PromptResponse | str) -> Any:
        """The future of a submitted prompt; :class:`InvalidArgument` (a ValueError) if none."""
        prompt_id = prompt_id_of(prompt)
        with self._lock:
            handle = self._session.handle(prompt_id)
        future = handle.future if handle is not None else getattr(prompt, "future", None)
        if future is None:
            raise InvalidArgument(f"prompt {prompt_id} has no future: use fetch_results()")
        return future

    def _resolve(self, handle: PromptHandle, outcome: PromptResult | BaseException) -> None:
        """Settle the handle's future with ``outcome`` (scrubbed if an error); it leaves
        the prompts in flight."""
        with self._lock:  # first: a waiter woken by the future finds the prompt gone
            if not self._session.resolved(handle):
                return  # resolved already (the client closed meanwhile, say)
        future = handle.future
        if future is not None and not future.done():
            if isinstance(outcome, BaseException):
                future.set_exception(self._scrub(outcome))
            else:
                future.set_result(outcome)

    def _completed(self, handle: PromptHandle | None, outcome: Any) -> None:
        """A spawned flow ended with ``outcome`` (its value or the exception it raised)."""
        if handle is not None:
            if isinstance(outcome, Exception):
                outcome = self._finish_error(handle.prompt_id, outcome)
            self._resolve(handle, outcome)
        elif isinstance(outcome, Exception) and not isinstance(outcome, ClientClosedError):
            log.error("a background request failed", exc_info=outcome)
        self._pump()

    def _fail_pending(self) -> None:
        """Fail every unresolved future with :class:`ClientClosedError` (the client closes)."""
        with self._lock:
            pending = self._session.pending
            self._notify()  # event iterators see the client closed
        for handle in pending:
            error = ClientClosedError(
                f"the client closed before prompt {handle.prompt_id} finished"
            )
            self._resolve(handle, error)
            future = handle.future
            if future is not None and future.done() and not future.cancelled():
                future.exception()  # retrieved: asyncio must not log it as lost

    # -- the steps of a prompt --------------------------------------------------------

    def _images(self, result: PromptResult) -> Steps[PromptResult]:
        """``result`` with ``output_images`` downloaded (concurrently where the driver can)."""
        refs = result.image_files
        flows = tuple(download_flow(ref, self.max_download_size) for ref in refs)
        blobs = yield Gather(flows)
        pairs = zip(refs, blobs, strict=True)
        return result.with_images([ImageItem.from_download(ref, blob) for ref, blob in pairs])

    def _finish(self, result: PromptResult) -> Steps[PromptResult]:
        """The finish step: download images (and every file, for storage plugins), hand
        files to storage (in a thread: it writes files), then ``comfy_prompt_finished``."""
        outcome = yield from self._images(result)
        stored: dict[str, list[str]] = {}
        for ref, data in self._files_to_store(outcome):
            if data is None:
                data = yield from download_flow(ref, self.max_download_size)
            stored[f"{ref.node_id}/{ref.filename}"] = yield Call(
                self.hooks.store_output, (result.prompt_id, ref, data), blocking=True
            )
        yield Call(self.hooks.prompt_finished, (outcome, stored))
        return outcome

    def _send_outgoing(self, out: Outgoing) -> Steps[None]:
        """Make one request the tracker asked for and hand it the answer."""
        if out.delay:
            yield Sleep(out.delay)
        try:
            response = yield out.request
        except TransportError as exc:
            log.info("%s %s failed, will retry: %s", out.request.method, out.request.path, exc)
            if not self._closed:
                self._session.tracker.request_failed(out, exc)
        else:
            self._session.tracker.receive_response(out, response)

    def _reconcile(self) -> Steps[None]:
        """One queue check for every unsettled prompt (what polling and reconnects do)."""
        out = self._session.reconcile()
        if out is not None:
            self._session.tracker.receive_response(out, (yield out.request))

    # -- secrets and errors -----------------------------------------------------------

    @property
    def _secrets(self) -> frozenset[str]:
        """Every credential this client sends, in every form a server may echo it."""
        cached: frozenset[str] | None = self.__dict__.get("_secret_forms")
        if cached is None:
            cached = client_secrets(getattr(self, "transport", None), self.url)
            self.__dict__["_secret_forms"] = cached
        return cached

    def _scrub(self, error: BaseException) -> BaseException:
        """``error`` (and what is chained to it) with this client's credentials taken out."""
        return scrub_error(error, self._secrets)

    @staticmethod
    def _finish_error(prompt_id: str, exc: Exception) -> ComfyError:
        """What a prompt's future fails with when finishing it raised ``exc``: a
        :class:`ComfyError` as it is, anything else wrapped, with ``exc`` chained."""
        if isinstance(exc, ComfyError):
            return exc
        log.error("finishing prompt %s failed", prompt_id, exc_info=exc)
        error = ComfyError(f"finishing prompt {prompt_id} failed: {type(exc).__name__}: {exc}")
        error.__cause__ = exc
        return error

    def _files_to_store(self, result: PromptResult) -> list[tuple[OutputFile, bytes | None]]:
        """Every output file with its bytes where already downloaded (images), for storage."""
        if not self.hooks.stores_outputs:
            return []
        return [(ref, image.data if image else None) for ref, image in result.downloaded()]


def assemble(
    cls: type[Any],
    comfy_url: str,
    transport: Any,
    transports: Mapping[str, Callable[..., Any]],
    *,
    http_timeout: float | None,
    headers: Mapping[str, str] | None,
    auth: tuple[str, str] | None,
    token: str | None,
    verify: Any,
    download_timeout: float | None,
    plugins: Any,
    builtin_plugins: bool,
    load_entrypoints: bool,
    record: str | None,
    **client_options: Any,
) -> Any:
    """A client of class ``cls`` with its transport (made from ``transports`` when named)
    and its plugin manager: what both ``create_client``s do before any I/O."""
    if isinstance(transport, str):
        if transport not in transports:
            raise InvalidArgument(f"unknown transport {transport!r}: use one of {list(transports)}")
        transport = transports[transport](
            comfy_url,
            timeout=http_timeout,
            headers=headers,
            auth=auth,
            token=token,
            verify=verify,
            download_timeout=download_timeout,
        )
    pm = make_plugin_manager(
        plugins, builtins=builtin_plugins, load_entrypoints=load_entrypoints, record=record
    )
    return cls(comfy_url, transport, hooks=Hooks(pm), **client_options)
