"""ClientBase: what the async and the sync client share, with no I/O and no concurrency.

It holds the tracker, the plugin hooks, the per-prompt watches (events,
progress, callbacks) and the bookkeeping of a submission. The two drivers add
only what differs: how requests are sent, how waiting works, and which kind
of future they hand out. A driver feeds WebSocket messages with
:meth:`_receive`, then takes the work that results from :meth:`_drain`.
"""

from __future__ import annotations

import logging
import uuid
import warnings
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from comfy_api_client.plugins import Hooks, make_plugin_manager
from comfy_api_client.sending import retry_policy
from comfy_api_client.watch import PromptWatch
from comfy_core import routes
from comfy_core.conclusions import PromptFailed, PromptSucceeded
from comfy_core.errors import ClientClosedError, ComfyError, RemoteProtocolError
from comfy_core.events import Event, NodeStarted, PreviewReceived
from comfy_core.flows import Flow, submit_flow
from comfy_core.http import Request
from comfy_core.models import PromptResponse
from comfy_core.outputs import OutputFile
from comfy_core.progress import Progress, ProgressCounter
from comfy_core.redact import client_secrets, scrub_error
from comfy_core.results import PromptResult
from comfy_core.tracker import Outgoing, PromptTracker
from comfy_core.urls import ServerURL

__all__ = ["MAX_DOWNLOAD_SIZE", "SETTLED_KEPT", "SETTLED_PREVIEW_BYTES", "ClientBase"]

log = logging.getLogger("comfy_api_client.client")
SETTLED_KEPT = 64  # settled prompts whose events a late events() call still gets
SETTLED_PREVIEW_BYTES = 8 * 2**20  # preview bytes kept for them, all together
MAX_DOWNLOAD_SIZE = 256 * 2**20  # in-memory downloads; download_to streams without a bound


class ClientBase:
    """Shared state of one client (see the module doc); not used on its own."""

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
        self.tracker = tracker or PromptTracker()
        self.hooks = hooks or Hooks(make_plugin_manager())
        # The WebSocket tracker replaces this with the id of its live connection.
        self.client_id = uuid.uuid4().hex
        self.state_trackers: list[Any] = []
        self._watches: dict[str, PromptWatch] = {}
        self._settled: OrderedDict[str, PromptWatch] = OrderedDict()
        self._closed = False

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.url.base} trackers={len(self.state_trackers)}>"

    @property
    def comfy_url(self) -> ServerURL:
        """The parsed base URL (kept under the original package's name)."""
        return self.url

    def register_state_tracker(self, state_tracker: Any) -> None:
        """Add a tracker to those the client stops when it closes."""
        if state_tracker not in self.state_trackers:
            self.state_trackers.append(state_tracker)

    def remove_state_tracker(self, state_tracker: Any) -> None:
        """Forget a tracker (it stopped)."""
        if state_tracker in self.state_trackers:
            self.state_trackers.remove(state_tracker)

    def _check_open(self) -> None:
        if self._closed:
            raise ClientClosedError("the client is closed")

    # -- the tracker ------------------------------------------------------------

    def _receive(self, message: str | bytes) -> None:
        try:
            if isinstance(message, str):
                self.tracker.receive_text(message)
            else:
                self.tracker.receive_binary(message)
        except RemoteProtocolError as exc:
            # One bad message (a buggy custom node) must not stop tracking.
            log.warning("ignored a malformed WebSocket message: %s", exc)

    def _drain(self) -> tuple[list[PromptSucceeded | PromptFailed], list[Outgoing]]:
        """Hand every ready event to plugins and watches; return what the driver must do:
        the prompts that settled, and the requests the tracker wants sent."""
        settled: list[PromptSucceeded | PromptFailed] = []
        while (event := self.tracker.next_event()) is not None:
            self.hooks.event(event)
            self._deliver(event)
            if isinstance(event, PromptFailed):
                self.hooks.prompt_failed(event.prompt_id or "", event.error)
            if isinstance(event, (PromptSucceeded, PromptFailed)):
                settled.append(event)
        return settled, self.tracker.requests_to_send()

    # -- watches (events, progress, callbacks) -----------------------------------

    def _deliver(self, event: Event) -> None:
        watch = self._watches.get(event.prompt_id or "")
        if watch is None:
            return
        watch.deliver(event)
        if watch.finished and not watch.consumers:
            # Keep a settled prompt's events for a late events() call, for the newest few.
            del self._watches[watch.prompt_id]
            self._settled[watch.prompt_id] = watch
            while len(self._settled) > SETTLED_KEPT:
                self._settled.popitem(last=False)
            self._trim_settled_previews()

    def _trim_settled_previews(self) -> None:
        # Previews are most of the bytes a settled prompt holds, and a server may send
        # any number: past SETTLED_PREVIEW_BYTES over all settled prompts, the oldest
        # prompts' previews go (a prompt's own previews too, if they alone are over).
        held = sum(w.preview_bytes for w in self._settled.values())
        for settled in self._settled.values():
            if held <= SETTLED_PREVIEW_BYTES:
                return
            held -= settled.preview_bytes
            settled.drop_previews()

    def _attach(self, prompt_id: str) -> PromptWatch | None:
        watch = self._watches.get(prompt_id) or self._settled.pop(prompt_id, None)
        if watch is not None:
            watch.consumers += 1
        return watch

    def _detach(self, watch: PromptWatch) -> None:
        watch.consumers -= 1
        if watch.finished and not watch.consumers:
            self._watches.pop(watch.prompt_id, None)
            self._settled.pop(watch.prompt_id, None)

    # -- submissions --------------------------------------------------------------

    def _submission(
        self,
        workflow: Mapping[str, Any],
        *,
        tracked: bool,
        prompt_id: str | None,
        number: float | None,
        front: bool,
        extra_data: Mapping[str, Any] | None,
        partial_execution_targets: Sequence[str] | None,
        on_progress: Callable[[Progress], Any] | None,
        on_node: Callable[[NodeStarted], Any] | None,
        on_preview: Callable[[PreviewReceived], Any] | None,
    ) -> tuple[str, Flow[PromptResponse]]:
        """Mint the prompt id, set up its watch if ``tracked``, and build its submit flow."""
        self._check_open()
        prompt_id = prompt_id or str(uuid.uuid4())
        if tracked:
            if not any(t.is_running for t in self.state_trackers):
                warnings.warn(
                    "submit_workflow(return_future=True) without a running state tracker: "
                    "nothing will resolve the future; use fetch_results()",
                    stacklevel=3,
                )
            nodes = len(workflow) if isinstance(workflow, Mapping) else 0
            self._watches[prompt_id] = PromptWatch(
                prompt_id, ProgressCounter(prompt_id, nodes), on_progress, on_node, on_preview
            )
        post = Request(method="POST", path=f"{routes.API}/prompt")  # what retry hooks see
        flow = submit_flow(
            workflow,
            prompt_id=prompt_id,
            client_id=self.client_id,
            tracker=self.tracker if tracked else None,
            retry=retry_policy(self.hooks, post),
            number=number,
            front=front,
            extra_data=extra_data,
            partial_execution_targets=partial_execution_targets,
        )
        return prompt_id, flow

    def _abandon(self, prompt_id: str) -> None:
        """The submit failed: forget the prompt's watch."""
        self._watches.pop(prompt_id, None)

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
        images = {
            (i.node_id, i.subfolder, i.type, i.filename): i.data for i in result.output_images
        }
        return [(r, images.get((r.node_id, r.subfolder, r.type, r.filename))) for r in result.files]
