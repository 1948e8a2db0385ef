"""Session: one client's conversation with one server, with no I/O.

Theory of operation. The session owns the :class:`~comfy_core.tracker.PromptTracker`
and the :class:`~comfy_core.handles.PromptHandle` of every prompt the client
waits for, and the state of the WebSocket connection that feeds them (as the
sans-I/O protocol object of websockets is shared by its asyncio and threading
clients). The drivers only move bytes:

1. ``client_id = session.connect()``: open a socket under that id, send
   :data:`HANDSHAKE`, then hand every message to :meth:`receive` until
   :meth:`connected_as` says the server's greeting arrived (the server has
   registered the socket then, so no event of the next prompt can be lost).
   Submits carry the id of the live connection, :attr:`client_id`.
2. Pull events with :meth:`next_event`: each is recorded in its prompt's handle,
   with the callbacks it makes due.
3. When the socket drops, or a new one cannot be opened, call
   :meth:`connection_lost` and wait the delay it returns before trying again
   (backoff with full jitter). Every prompt in flight at the drop is
   *stranded*: the events of the gap are gone and the old client id is
   silenced (PROTOCOL.md §5.6), so while :attr:`stranded` is non-empty the
   driver asks :meth:`reconcile` for a queue check now and then.

It never sleeps, reads a clock or touches a socket; randomness for the jitter
is injected, so tests can drive it by hand. It holds no lock either: a driver
with several threads calls it under one lock of its own.
"""

from __future__ import annotations

import json
import random
import uuid
from collections import OrderedDict
from collections.abc import Callable

from comfy_core.conclusions import PromptQueued
from comfy_core.errors import RemoteProtocolError
from comfy_core.events import Event, StatusReported
from comfy_core.handles import Callback, PromptHandle
from comfy_core.tracker import Outgoing, PromptTracker

__all__ = ["HANDSHAKE", "SETTLED_KEPT", "SETTLED_PREVIEW_BYTES", "Session"]

# We decode type-4 previews (they carry prompt and node ids), so ask for them.
HANDSHAKE = json.dumps({"type": "feature_flags", "data": {"supports_preview_metadata": True}})
SETTLED_KEPT = 64  # settled prompts whose events a late events() call still gets
SETTLED_PREVIEW_BYTES = 8 * 2**20  # preview bytes kept for them, all together


class Session:
    """The client's side of one server: prompts, handles and connection (see the module doc).

    ``reconnect_delay`` is the backoff after the first failed reconnect,
    doubling up to ``max_reconnect_delay``; ``jitter(a, b)`` draws the delay
    actually waited (uniform by default).
    """

    def __init__(
        self,
        tracker: PromptTracker | None = None,
        *,
        reconnect_delay: float = 0.25,
        max_reconnect_delay: float = 10.0,
        jitter: Callable[[float, float], float] = random.uniform,
    ) -> None:
        self.tracker = tracker or PromptTracker()
        self.reconnect_delay = reconnect_delay
        self.max_reconnect_delay = max_reconnect_delay
        self._jitter = jitter
        # Submits carry this id; a greeted connection replaces it with its own.
        self.client_id = uuid.uuid4().hex
        self.connected = False
        self.reconnects = 0
        self._opening: str | None = None
        self._greeted_once = False
        self._failures = 0
        self._stranded: set[str] = set()
        self._handles: dict[str, PromptHandle] = {}
        self._kept: OrderedDict[str, PromptHandle] = OrderedDict()

    # -- the connection -----------------------------------------------------------

    def connect(self) -> str:
        """Begin a connection: the fresh client id to open the socket under.

        A reused id is silenced by the server after a drop, so every socket
        gets a new one. Send :data:`HANDSHAKE` first, then feed what arrives.
        """
        self._opening = uuid.uuid4().hex
        return self._opening

    def connected_as(self, client_id: str) -> bool:
        """Whether the socket opened under ``client_id`` has been greeted."""
        return self.connected and self.client_id == client_id

    def _connection_made(self, client_id: str) -> None:
        self.client_id = client_id
        self.connected = True
        self._opening = None
        self._failures = 0
        if self._greeted_once:
            self.reconnects += 1
            # Prompts submitted until now carry an earlier, silenced id: no event of
            # theirs comes to this socket.
            self._stranded |= self.tracker.tracked
        self._greeted_once = True

    def connection_lost(self) -> float:
        """The socket dropped, or opening one failed: the seconds to wait before the
        next try (0 right after a drop, then growing with jitter).

        Idempotent for the prompts: those in flight at the first call are
        stranded once, however often it is called before the next greeting.
        """
        if self.connected:
            self.connected = False
            self._stranded |= self.tracker.tracked
        self._opening = None
        self._failures += 1
        if self._failures == 1:
            return 0.0
        ceiling = self.reconnect_delay * 2 ** min(self._failures - 2, 32)
        return self._jitter(0.0, min(self.max_reconnect_delay, ceiling))

    @property
    def stranded(self) -> frozenset[str]:
        """Prompts from before a drop that have not settled yet (they need queue checks)."""
        self._stranded &= self.tracker.tracked
        return frozenset(self._stranded)

    def reconcile(self) -> Outgoing | None:
        """A queue check for every accepted, unsettled prompt; None when none needs one."""
        return self.tracker.reconcile()

    # -- messages and events ---------------------------------------------------------

    def receive(self, message: str | bytes) -> RemoteProtocolError | None:
        """Feed one WebSocket message. A malformed one is dropped and its error
        returned (for the log): one bad message, from a buggy custom node say,
        must not stop tracking."""
        try:
            if isinstance(message, str):
                self.tracker.receive_text(message)
            else:
                self.tracker.receive_binary(message)
        except RemoteProtocolError as exc:
            return exc
        return None

    def next_event(self) -> tuple[Event, PromptHandle | None, list[Callback]] | None:
        """The next event, the handle of its prompt (if tracked) and the callbacks due."""
        event = self.tracker.next_event()
        if event is None:
            return None
        if isinstance(event, StatusReported) and event.sid and self._opening is not None:
            self._connection_made(self._opening)
        handle = self._handles.get(event.prompt_id) if event.prompt_id else None
        if handle is None:
            kept = self._kept.get(event.prompt_id or "")
            if kept is not None and isinstance(event, PromptQueued):
                # A fast prompt can be settled, result and all, before its POST is
                # answered: its receipt still belongs first among its kept events.
                kept.record(event)
            return event, None, []
        return event, handle, handle.record(event)

    # -- handles --------------------------------------------------------------------

    def open(self, handle: PromptHandle) -> None:
        """Hold ``handle`` from submit until its future is resolved."""
        self._handles[handle.prompt_id] = handle

    def discard(self, prompt_id: str) -> None:
        """The submit failed: drop the prompt's handle."""
        self._handles.pop(prompt_id, None)

    def handle(self, prompt_id: str) -> PromptHandle | None:
        """The handle of a prompt in flight, or of one of the newest settled ones."""
        return self._handles.get(prompt_id) or self._kept.get(prompt_id)

    @property
    def pending(self) -> list[PromptHandle]:
        """Every handle whose future is not resolved yet."""
        return list(self._handles.values())

    def resolved(self, handle: PromptHandle) -> bool:
        """The handle's future is to be resolved now: it leaves the prompts in flight.
        Its events stay for a late ``events()`` call, for the newest few settled prompts.

        True for the first call only, so that exactly one caller resolves the future
        (a finish step and the client's closing may race for it).
        """
        if self._handles.get(handle.prompt_id) is not handle:
            return False
        del self._handles[handle.prompt_id]
        if not handle.consumers:
            self._keep(handle)
        return True

    def _keep(self, handle: PromptHandle) -> None:
        self._kept[handle.prompt_id] = handle
        while len(self._kept) > SETTLED_KEPT:
            self._kept.popitem(last=False)
        # Previews are most of the bytes a settled prompt holds, and a server may send
        # any number: past SETTLED_PREVIEW_BYTES over all settled prompts, the oldest
        # prompts' previews go (a prompt's own previews too, if they alone are over).
        held = sum(h.preview_bytes for h in self._kept.values())
        for kept in self._kept.values():
            if held <= SETTLED_PREVIEW_BYTES:
                return
            held -= kept.preview_bytes
            kept.drop_previews()

    def attach(self, prompt_id: str) -> PromptHandle | None:
        """The handle an ``events()`` iterator reads, counted as a consumer; None if unknown."""
        handle = self._handles.get(prompt_id) or self._kept.pop(prompt_id, None)
        if handle is not None:
            handle.consumers += 1
        return handle

    def detach(self, handle: PromptHandle) -> None:
        """An ``events()`` iterator is done with ``handle`` (it read the events it wanted)."""
        handle.consumers -= 1
