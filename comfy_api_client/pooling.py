"""PoolBase: what the async and the sync pool share, with no I/O.

A pool holds one client per server, a :class:`~comfy_core.routing.Router` and one
:class:`PoolJob` per submitted workflow. A job is sent to a server (an *attempt*,
under a prompt id the pool mints); when that server loses it (the prompt vanished
in a restart, the server was marked down and its client closed, the connection
failed before the prompt finished) the job is sent again elsewhere, once per loss
and at most ``max_requeues`` times. A job whose prompt finished is never sent again.
The job's own future settles once, with the first attempt that succeeded or the
error of one that failed for a reason of its own.

Each client is given a small plugin (:class:`_Relay`) through which its events
reach the pool: the server's ``queue_remaining`` for routing, and the moment a
prompt finished on its server.

Locking: the sync pool is used from many threads and guards its state with
``_lock`` (an RLock); the async pool's ``_lock`` is a no-op. No user code and no
I/O runs under it.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections import deque
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any

from comfy_api_client.feeding import WebSocketOptions
from comfy_api_client.hookspecs import hookimpl
from comfy_core.errors import (
    ClientClosedError,
    InvalidArgument,
    PromptLostError,
    TransportError,
)
from comfy_core.events import Event, ExecutionSucceeded, StatusReported
from comfy_core.models import PromptResponse
from comfy_core.routing import DOWN, Router
from comfy_core.urls import ServerURL

__all__ = [
    "Attempt",
    "PoolBase",
    "PoolJob",
    "PoolReceipt",
    "PromptRequeued",
    "ServerEvent",
    "ServerStatus",
    "server_name",
]

log = logging.getLogger("comfy_api_client.pool")
MAX_REQUEUES = 3
SETTLED_KEPT = 256  # settled jobs whose prompt ids still find them


def server_name(url: str) -> str:
    """The name a pool gives the server at ``url``: its base URL without credentials."""
    return ServerURL.parse(url).base


@dataclass(frozen=True, slots=True)
class Attempt:
    """One sending of a job: to ``server`` as ``prompt_id``, at ``sent`` (monotonic)."""

    server: str
    prompt_id: str
    sent: float


@dataclass(eq=False)
class PoolJob:
    """A workflow submitted to the pool, through all its attempts."""

    prompt: dict[str, Any]
    extra_data: Mapping[str, Any] | None
    options: dict[str, Any]
    files: dict[str, bytes]
    future: Any
    before_send: Callable[[str, str], Any] | None = None
    attempts: list[Attempt] = field(default_factory=list)
    finished: set[str] = field(default_factory=set)  # prompt ids that finished on their server
    reasons: dict[str, str] = field(default_factory=dict)  # prompt id -> why it was resent
    losses: int = 0
    cancelled: bool = False

    @property
    def current(self) -> Attempt | None:
        return self.attempts[-1] if self.attempts else None


class PoolReceipt:
    """What ``pool.submit_workflow`` returns: the job's ``future``, and where it runs now.

    ``server`` and ``prompt_id`` follow the job when it is sent again after a loss;
    ``attempts`` lists every (server, prompt id) it was sent as."""

    def __init__(self, job: PoolJob, response: PromptResponse) -> None:
        self._job = job
        self.number = response.number
        self.node_errors = response.node_errors

    @property
    def future(self) -> Any:
        return self._job.future

    @property
    def server(self) -> str:
        current = self._job.current
        assert current is not None  # a receipt is made after the first sending
        return current.server

    @property
    def prompt_id(self) -> str:
        current = self._job.current
        assert current is not None
        return current.prompt_id

    @property
    def attempts(self) -> tuple[tuple[str, str], ...]:
        return tuple((a.server, a.prompt_id) for a in self._job.attempts)

    def __repr__(self) -> str:
        return f"<PoolReceipt {self.prompt_id} on {self.server}>"


@dataclass(frozen=True, slots=True)
class ServerEvent:
    """An event of a pool's prompt, with the server it came from."""

    server: str
    event: Event


@dataclass(frozen=True, slots=True, kw_only=True)
class PromptRequeued(Event):
    """The pool sent a prompt its server lost to ``server`` as ``new_prompt_id``."""

    server: str
    new_prompt_id: str
    reason: str


@dataclass(frozen=True, slots=True)
class ServerStatus:
    """One server of a pool, as ``pool.status()`` reports it."""

    server: str
    state: str  # "up" or "down"
    queue_remaining: int
    in_flight: int
    done: int
    failed: int
    mean_seconds: float | None  # per finished prompt, submit to result


class _Relay:
    """The plugin each pool client gets: its events, told to the pool with the server."""

    def __init__(self, pool: PoolBase, server: str) -> None:
        self.pool, self.server = pool, server

    @hookimpl
    def comfy_event(self, event: Event) -> None:
        self.pool._on_event(self.server, event)


class PoolBase:
    """Shared state and decisions of a pool (see the module doc); not used on its own."""

    def __init__(
        self,
        urls: list[str],
        *,
        lock: AbstractContextManager[Any],
        max_in_flight: int | None = None,
        timeout: float | None = None,
        down_after: float = 3.0,
        health_interval: float = 0.5,
        max_requeues: int = MAX_REQUEUES,
        client_options: Mapping[str, Any] | None = None,
    ) -> None:
        names = [server_name(url) for url in urls]
        if len(set(names)) != len(names):
            raise InvalidArgument(f"a server is listed twice: {names}")
        if down_after <= 0 or health_interval <= 0:
            raise InvalidArgument("down_after and health_interval must be positive")
        self.urls = dict(zip(names, urls, strict=True))
        self.router = Router(names, limit=max_in_flight)
        self.timeout = timeout
        self.down_after = down_after
        self.health_interval = health_interval
        self.max_requeues = max_requeues
        self.client_options = dict(client_options or {})
        self._lock = lock
        self._clients: dict[str, Any] = {}
        self._jobs: dict[str, PoolJob] = {}  # by every prompt id a job was sent as
        self._offline: dict[str, float] = {}  # server -> when its socket was first seen down
        self._files: dict[str, bytes] = {}  # recorded by upload_image, sent where needed
        self._uploaded: set[tuple[str, str]] = set()  # (server, file name)
        self._reviving: set[str] = set()  # down servers a connection attempt is under way to
        self._settled_jobs: deque[PoolJob] = deque()  # the newest, still found by prompt id
        self._closing = False

    def __repr__(self) -> str:
        up = len(self.router.up)
        return f"<{type(self).__name__} {up}/{len(self.router.servers)} servers up>"

    @property
    def servers(self) -> list[str]:
        return list(self.router.servers)

    def status(self) -> list[ServerStatus]:
        """Each server's state, queue depth, prompts in flight and finished counts."""
        with self._lock:
            return [
                ServerStatus(
                    s.name, s.state, s.queue_remaining, s.in_flight, s.done, s.failed,
                    s.seconds / s.done if s.done else None,
                )
                for s in self.router.servers.values()
            ]  # fmt: skip

    def client(self, server: str) -> Any:
        """The client of ``server`` while it is up; :class:`ClientClosedError` when down."""
        with self._lock:
            client = self._clients.get(server)
        if client is None:
            self.router.server(server)  # NameNotFound for a server not in the pool
            raise ClientClosedError(f"{server} is down")
        return client

    # -- driver primitives ------------------------------------------------------------

    def _new_future(self) -> Any:
        raise NotImplementedError

    def _notify(self) -> None:
        """Wake whoever waits in ``_until`` (the state changed)."""
        raise NotImplementedError

    # -- jobs ---------------------------------------------------------------------------

    def _job_of(self, prompt: PoolReceipt | str) -> PoolJob:
        if isinstance(prompt, PoolReceipt):
            return prompt._job
        with self._lock:
            job = self._jobs.get(prompt) if isinstance(prompt, str) else None
        if job is None:
            raise InvalidArgument(f"{prompt!r} is no prompt of this pool")
        return job

    def _new_job(
        self,
        prompt: dict[str, Any],
        extra_data: Mapping[str, Any] | None,
        options: dict[str, Any],
        files: Mapping[str, bytes] | None,
        before_send: Callable[[str, str], Any] | None,
    ) -> PoolJob:
        future = self._new_future()
        return PoolJob(prompt, extra_data, options, dict(files or {}), future, before_send)

    def _route(self, job: PoolJob) -> str | None:
        """The server for the job's next attempt, or None when none is free now;
        :class:`NoCapableServer` when none could run it; ClientClosedError when closing."""
        if self._closing:
            raise ClientClosedError("the pool is closing")
        with self._lock:
            capable = self.router.capable(job.prompt, self._uploads_of(job))
            tried = {a.server for a in job.attempts}
            return self.router.pick(capable, exclude=tried)

    def _routable(self, job: PoolJob) -> bool:
        """Whether a server could take the job now (no side effect, unlike ``_route``)."""
        with self._lock:
            capable = self.router.capable(job.prompt, self._uploads_of(job))
            return self.router.available(capable)

    def _moved_or_done(self, job: PoolJob, index: int) -> bool:
        with self._lock:
            return len(job.attempts) > index + 1 or job.future.done()

    def _record_file(self, name: str, data: bytes) -> None:
        with self._lock:
            self._files[name] = data
            self._uploaded = {(s, n) for s, n in self._uploaded if n != name}

    def _mark_uploaded(self, job: PoolJob, server: str, name: str) -> None:
        with self._lock:
            if name not in job.files:  # a recorded file: the server keeps it
                self._uploaded.add((server, name))

    def _uploads_of(self, job: PoolJob) -> set[str]:
        """Names of the recorded files the job's prompt uses (uploaded before it is sent)."""
        names = set(job.files) | set(self._files)
        used: set[str] = set()
        for node in job.prompt.values():
            for value in (node.get("inputs") or {}).values():
                if isinstance(value, str) and value in names:
                    used.add(value)
        return used

    def _files_for(self, job: PoolJob, server: str) -> dict[str, bytes]:
        """The files to upload to ``server`` before the job's prompt goes there: the job's
        own, always (another job may give the same name other bytes), and the recorded
        ones it names that this server has not had yet."""
        wanted = {}
        with self._lock:
            for name in self._uploads_of(job):
                if name in job.files:
                    wanted[name] = job.files[name]
                elif (server, name) not in self._uploaded:
                    wanted[name] = self._files[name]
        return wanted

    def _attempt(self, job: PoolJob, server: str) -> Attempt:
        attempt = Attempt(server, str(uuid.uuid4()), time.monotonic())
        if job.before_send is not None:  # the ledger records it before the server can run it
            job.before_send(server, attempt.prompt_id)
        with self._lock:
            job.attempts.append(attempt)
            self._jobs[attempt.prompt_id] = job
            self.router.sent(server)
        return attempt

    def _withdraw(self, job: PoolJob, attempt: Attempt) -> None:
        """An attempt that never reached its server."""
        with self._lock:
            if job.current is attempt:
                job.attempts.pop()
            self._jobs.pop(attempt.prompt_id, None)
            self.router.settled(attempt.server)
        self._notify()

    def _settled(self, job: PoolJob, attempt: Attempt, future: Any) -> bool:
        """An attempt's client future is done: settle the job, or say it must be sent
        again (True: the caller spawns the new attempt)."""
        error = self._error_of(future)
        with self._lock:
            lost = error is not None and self._is_loss(job, attempt, error)
            elapsed = time.monotonic() - attempt.sent if error is None else None
            self.router.settled(attempt.server, elapsed, failed=error is not None and not lost)
            current = job.current is attempt and not job.future.done()
            resend = current and lost and job.losses < self.max_requeues
            if resend:
                job.losses += 1
                job.reasons[attempt.prompt_id] = f"{type(error).__name__}: {error}"
            elif current and lost:  # lost once too often: say so, not just the last loss
                reason = f"lost {job.losses + 1} times, last by {attempt.server}: {error}"
                error = PromptLostError(prompt_id=attempt.prompt_id, reason=reason)
        self._notify()
        if not current:
            return False  # an attempt the job had moved on from, or a settled job
        if resend:
            log.warning("%s lost prompt %s (%s); sending it again", attempt.server,
                        attempt.prompt_id, type(error).__name__)  # fmt: skip
            return True
        if error is None:
            job.future.set_result(future.result())
        else:
            self._set_error(job, error)
        self._forget(job)
        return False

    def _set_error(self, job: PoolJob, error: BaseException) -> None:
        job.future.set_exception(error)
        if self._closing or isinstance(error, ClientClosedError):
            job.future.exception()  # retrieved: nobody may wait for it, asyncio must not log it

    def _forget(self, job: PoolJob) -> None:
        """A settled job stays findable by prompt id among the newest ``SETTLED_KEPT``."""
        with self._lock:
            self._settled_jobs.append(job)
            while len(self._settled_jobs) > SETTLED_KEPT:
                old = self._settled_jobs.popleft()
                for attempt in old.attempts:
                    self._jobs.pop(attempt.prompt_id, None)

    @staticmethod
    def _error_of(future: Any) -> BaseException | None:
        if future.cancelled():
            return ClientClosedError("the prompt's wait was cancelled")
        error: BaseException | None = future.exception()
        return error

    def _is_loss(self, job: PoolJob, attempt: Attempt, error: BaseException) -> bool:
        """Whether ``error`` means the server lost the attempt (rather than the prompt
        failing on its own): then the job is sent again."""
        if job.cancelled or self._closing or attempt.prompt_id in job.finished:
            return False
        if isinstance(error, PromptLostError):
            return True
        if isinstance(error, ClientClosedError):  # its client closed: by the pool, as down?
            return self.router.server(attempt.server).state == DOWN
        return isinstance(error, TransportError)

    def _fail(self, job: PoolJob, error: BaseException) -> None:
        if not job.future.done():
            self._set_error(job, error)
            self._forget(job)
            self._notify()

    # -- what the servers say --------------------------------------------------------

    def _on_event(self, server: str, event: Event) -> None:
        with self._lock:
            if isinstance(event, StatusReported):
                self.router.status(server, event.queue_remaining)
            elif isinstance(event, ExecutionSucceeded) and event.prompt_id is not None:
                job = self._jobs.get(event.prompt_id)
                if job is not None:
                    job.finished.add(event.prompt_id)
        if isinstance(event, StatusReported):
            self._notify()

    def _offline_for(self, server: str, client: Any) -> float | None:
        """How long the client's WebSocket has been down (0 while it is connected);
        None when the client has no WebSocket feed (the pool then asks the queue)."""
        if not any(isinstance(feed, WebSocketOptions) for feed in client.state_trackers):
            return None
        if client._session.connected:
            with self._lock:
                self._offline.pop(server, None)
            return 0.0
        return self._unanswered(server)

    def _answered(self, server: str, queue_remaining: int) -> None:
        with self._lock:
            self.router.status(server, queue_remaining)
            self._offline.pop(server, None)
        self._notify()

    def _unanswered(self, server: str) -> float:
        """A health probe failed (or its socket is down): how long the server has not
        answered."""
        with self._lock:
            since = self._offline.setdefault(server, time.monotonic())
        return time.monotonic() - since

    def _went_down(self, server: str, client: Any) -> bool:
        """Mark ``server`` down if ``client`` is still its client; True if so (the caller
        closes it, and its unsettled prompts then fail with ClientClosedError, which the
        pool takes as their loss)."""
        with self._lock:
            if client is None or self._clients.get(server) is not client:
                return False
            self.router.down(server)
            del self._clients[server]
            self._uploaded = {(s, name) for s, name in self._uploaded if s != server}
            self._offline.pop(server, None)
        self._notify()
        return True

    def _came_back(self, server: str, client: Any, object_info: Mapping[str, Any]) -> None:
        with self._lock:
            self._clients[server] = client
            self.router.back(server, object_info)
        log.info("%s is up", server)
        self._notify()

    def _begin_revival(self, server: str) -> bool:
        """Whether to start an attempt to reconnect ``server`` (none is under way)."""
        with self._lock:
            if server in self._reviving or self._closing:
                return False
            self._reviving.add(server)
            return True

    def _end_revival(self, server: str) -> None:
        with self._lock:
            self._reviving.discard(server)

    def _is_down(self, server: str) -> bool:
        with self._lock:
            return self.router.server(server).state == DOWN

    def _first_up(self) -> tuple[str, Any]:
        """An up server and its client (for loading workflows); ClientClosedError if none."""
        with self._lock:
            for name in self.router.up:
                if name in self._clients:
                    return name, self._clients[name]
        raise ClientClosedError("no server of the pool is up")
