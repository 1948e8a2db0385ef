"""comfy_transports.deadline.Watchdog: each guarded request's socket is shut at its deadline,
and never once the request released its guard.

A fired guard shuts its socket down, which ends a blocked ``recv`` on the other end of
a socket pair; the waits below are bounds on a thread, not timings.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest

from comfy_transports.deadline import Deadline, Guard, Watchdog

BOUND = 10.0  # seconds any wait below may take at most (far more than any deadline here)


@pytest.fixture
def pairs() -> Iterator[list[socket.socket]]:
    opened: list[socket.socket] = []
    yield opened
    for sock in opened:
        sock.close()


def guarded(watchdog: Watchdog, seconds: float, pairs: list[socket.socket]) -> Guard:
    ours, theirs = socket.socketpair()
    pairs += [ours, theirs]
    guard = watchdog.guard(Deadline(seconds))
    guard.attach(ours)
    return guard


def wait_fired(guard: Guard) -> None:
    done = threading.Event()

    def watch() -> None:
        while not guard.fired and not done.wait(0.01):
            pass

    thread = threading.Thread(target=watch)
    thread.start()
    thread.join(BOUND)
    done.set()
    assert guard.fired, "the guard did not fire"


def test_a_guard_fires_at_its_deadline_and_shuts_its_socket(pairs: list[socket.socket]) -> None:
    guard = guarded(Watchdog(), 0.05, pairs)
    ours = pairs[0]
    ours.settimeout(BOUND)
    assert ours.recv(1) == b""  # woken by the shutdown, not by the peer
    assert guard.fired


def test_an_earlier_deadline_after_a_later_one_fires_first(pairs: list[socket.socket]) -> None:
    watchdog = Watchdog()
    later = guarded(watchdog, 60, pairs)
    wait_fired(guarded(watchdog, 0.05, pairs))  # the thread was asleep until the later one
    assert not later.fired


def test_a_later_deadline_fires_after_released_earlier_ones(pairs: list[socket.socket]) -> None:
    watchdog = Watchdog()
    with watchdog._cond:  # the thread cannot reach these guards before they are released
        released = [guarded(watchdog, 0.02 * (i + 1), pairs) for i in range(5)]
        for guard in released:
            watchdog.release(guard)
    last = guarded(watchdog, 0.2, pairs)
    wait_fired(last)
    assert not any(guard.fired for guard in released)


def test_a_released_guard_never_fires(pairs: list[socket.socket]) -> None:
    watchdog = Watchdog()
    with watchdog._cond:  # as above: released before the thread can look at it
        guard = guarded(watchdog, 0.02, pairs)
        watchdog.release(guard)
    wait_fired(guarded(watchdog, 0.1, pairs))  # past the released one's deadline
    assert not guard.fired
    pairs[1].sendall(b"x")
    assert pairs[0].recv(1) == b"x"  # its socket still works


def test_released_guards_do_not_pile_up() -> None:
    # Sequential requests each release their guard long before its deadline; the heap
    # keeps about as many as are in flight, not one per request made within a timeout.
    watchdog = Watchdog()
    held = [watchdog.guard(Deadline(60)) for _ in range(10)]
    for _ in range(20_000):
        watchdog.release(watchdog.guard(Deadline(60)))
    assert len(watchdog._heap) <= 2 * 1024 + len(held)
    assert sum(not entry[2].released for entry in watchdog._heap) == len(held)
