"""One deadline per request, not per read, for the blocking transports.

The libraries' timeouts bound each socket operation: a server that sends one
byte every few seconds never trips them, and holds the caller for as long as
it likes. A transport's ``timeout`` must bound the whole exchange instead.

* :class:`Deadline` is the time left, shared by every read of one request.
* :data:`CURRENT` holds the deadline of the request this thread is making, so
  code deep in a library (an httpcore network stream, see
  :class:`comfy_transports.httpcore_deadline.DeadlineBackend`) can cap each read at the
  time left.
* :class:`Watchdog` is for code we cannot reach into (urllib3 under requests):
  a thread that shuts a request's socket down when its deadline passes, which
  wakes any blocked read at once; the transport then reports a timeout.

The raw-socket transport caps each ``recv`` itself, and the async transport
wraps the exchange in ``comfy_transports.timeouts.bounded``.
"""

from __future__ import annotations

import contextlib
import contextvars
import heapq
import itertools
import socket
import threading
import time

__all__ = ["CURRENT", "WATCHDOG", "Deadline", "Guard", "Watchdog"]


class Deadline:
    """``seconds`` from now (None: never)."""

    def __init__(self, seconds: float | None) -> None:
        self.at = None if seconds is None else time.monotonic() + seconds

    def left(self) -> float | None:
        return None if self.at is None else self.at - time.monotonic()

    def cap(self, timeout: float | None) -> float | None:
        """``timeout`` for one operation, no later than the deadline (at least a millisecond,
        so an expired deadline still makes the operation time out rather than block)."""
        left = self.left()
        if left is None:
            return timeout
        left = max(left, 0.001)
        return left if timeout is None else min(timeout, left)

    @property
    def expired(self) -> bool:
        left = self.left()
        return left is not None and left <= 0


CURRENT: contextvars.ContextVar[Deadline | None] = contextvars.ContextVar(
    "comfy_transports_deadline", default=None
)


class Guard:
    """One request under a :class:`Watchdog`: ``attach`` its socket as soon as it is known."""

    def __init__(self, deadline: Deadline) -> None:
        self.deadline = deadline
        self.fired = False
        self.released = False
        self._sock: socket.socket | None = None
        self._lock = threading.Lock()

    def attach(self, sock: socket.socket | None) -> None:
        with self._lock:
            self._sock = sock
            fired = self.fired
        if fired:
            _shut(sock)

    def fire(self) -> None:
        with self._lock:
            if self.released:
                return
            self.fired = True
            sock = self._sock
        _shut(sock)


def _shut(sock: socket.socket | None) -> None:
    if sock is None:
        return
    # The plain socket's shutdown, even under TLS: it only wakes the blocked reader
    # (SSLSocket.shutdown would also drop the SSL object that reader is using).
    with contextlib.suppress(OSError):
        socket.socket.shutdown(sock, socket.SHUT_RDWR)


_PRUNE_AT = 1024  # guards in the heap before the released ones are dropped


class Watchdog:
    """A thread that fires each guarded request's :class:`Guard` at its deadline."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, Guard]] = []
        self._prune_at = _PRUNE_AT
        self._count = itertools.count()
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None

    def guard(self, deadline: Deadline) -> Guard:
        guard = Guard(deadline)
        if deadline.at is None:
            return guard
        with self._cond:
            if len(self._heap) >= self._prune_at:
                # Released guards wait in the heap until the thread next wakes, which may
                # be a timeout away: past a bound, drop them here, so the heap stays about
                # as large as the requests in flight.
                self._heap = [e for e in self._heap if not e[2].released]
                heapq.heapify(self._heap)
                self._prune_at = max(_PRUNE_AT, 2 * len(self._heap))
            entry = (deadline.at, next(self._count), guard)
            heapq.heappush(self._heap, entry)
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="comfy-deadlines", daemon=True
                )
                self._thread.start()
            # The thread sleeps until the earliest deadline: only a new earliest one needs
            # it awake. Requests of the same timeout come due in order, so nearly every
            # request leaves the thread asleep (waking it cost each request a thread switch).
            if self._heap[0] is entry:
                self._cond.notify()
        return guard

    def release(self, guard: Guard) -> None:
        """The request is over: its guard will not fire (it leaves the heap later)."""
        with guard._lock:
            guard.released = True
            guard._sock = None

    def _run(self) -> None:
        while True:
            with self._cond:
                # Released guards at the front go now, due or not: the thread then sleeps
                # until the first deadline that may still fire, not once per request.
                while self._heap and self._heap[0][2].released:
                    heapq.heappop(self._heap)
                if not self._heap:
                    self._cond.wait()
                    continue
                at, _, guard = self._heap[0]
                wait = at - time.monotonic()
                if wait > 0:
                    self._cond.wait(wait)
                    continue
                heapq.heappop(self._heap)
            guard.fire()  # a no-op if it was released meanwhile


# One thread for the whole process, started by the first guarded request.
WATCHDOG = Watchdog()
