"""The jobs API of ComfyUI 0.6 and later, with the same answers from older servers.

Servers from 0.6 on have ``GET /api/jobs`` (filter, sort, page) and
``GET /api/jobs/{id}``. Older ones answer both with a 404 and an empty body;
for them :func:`list_jobs` and :func:`get_job` build the same :class:`JobInfo`
items from ``/queue`` and the history, so callers need not care which server
they talk to. :func:`has_jobs_api` asks which kind it is.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from comfy_core import routes
from comfy_core.errors import LocalProtocolError, RemoteProtocolError
from comfy_core.flows import Flow, exchange
from comfy_core.http import Request, Response
from comfy_core.models import QueueEntry
from comfy_core.routes import API

__all__ = [
    "JOB_STATUSES",
    "JobInfo",
    "get_job",
    "has_jobs_api",
    "list_jobs",
]

JOB_STATUSES = ("pending", "in_progress", "completed", "failed")
_SORT_BY = ("created_at", "execution_duration")
_SORT_ORDER = ("asc", "desc")


@dataclass(frozen=True, slots=True, kw_only=True)
class JobInfo:
    """A prompt's status: ``pending``, ``in_progress``, ``completed``, ``failed`` or ``unknown``.

    ``source`` says where it came from: ``jobs`` (the jobs API) or
    ``queue+history`` on servers without it. Times are the server's, in
    milliseconds since the epoch (None where it gave none); ``priority`` is the
    queue number. ``raw`` is the job (or history entry) as the server sent it.
    """

    id: str
    status: str
    source: str
    priority: float | None = None
    create_time: float | None = None
    execution_start_time: float | None = None
    execution_end_time: float | None = None
    outputs_count: int | None = None
    workflow_id: str | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False)

    @property
    def execution_duration(self) -> float | None:
        """Milliseconds from start to end of execution, for finished jobs."""
        if self.execution_start_time is None or self.execution_end_time is None:
            return None
        return self.execution_end_time - self.execution_start_time

    @classmethod
    def from_job(cls, data: Mapping[str, Any]) -> JobInfo:
        """One item of ``/api/jobs`` (or the body of ``/api/jobs/{id}``)."""
        job_id = data.get("id")
        if not isinstance(job_id, str):
            raise RemoteProtocolError("a job should have a string 'id'")
        workflow = data.get("workflow_id")
        outputs = data.get("outputs_count")
        return cls(
            id=job_id,
            status=str(data.get("status")),
            source="jobs",
            priority=_number(data.get("priority")),
            create_time=_number(data.get("create_time")),
            execution_start_time=_number(data.get("execution_start_time")),
            execution_end_time=_number(data.get("execution_end_time")),
            outputs_count=outputs if isinstance(outputs, int) else None,
            workflow_id=workflow if isinstance(workflow, str) else None,
            raw=data,
        )


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def _no_jobs_api(response: Response) -> bool:
    # Servers before 0.6 have no such route: aiohttp's bare 404 with no body. The
    # jobs API's own 404 (an unknown job) carries {"error": ...}.
    return response.status == 404 and not response.body


def has_jobs_api() -> Flow[bool]:
    """Whether the server has the jobs API (one cheap ``GET /api/jobs?limit=1``)."""
    request = Request(method="GET", path=f"{API}/jobs", params=(("limit", "1"),))
    response = yield from exchange(request)
    if _no_jobs_api(response):
        return False
    data = routes.read_json(request, response)
    return isinstance(data, dict) and isinstance(data.get("jobs"), list)


def get_job(prompt_id: str, *, use_jobs_api: bool = True) -> Flow[JobInfo]:
    """The prompt's status from ``/api/jobs/{id}`` where the server has it, else from
    ``/queue`` and ``/history/{id}``."""
    if use_jobs_api:
        request = routes.get_job(prompt_id)
        response = yield from exchange(request)
        if response.status == 200:
            data = routes.read_json(request, response)
            if isinstance(data, dict):
                return JobInfo.from_job(data)
        elif response.status == 404 and response.body:  # the route exists; the job does not
            return JobInfo(id=prompt_id, status="unknown", source="jobs")
        elif not _no_jobs_api(response):
            routes.raise_for_status(request, response)
    queue = routes.read_queue(routes.get_queue(), (yield from exchange(routes.get_queue())))
    for status, entries in (("in_progress", queue.running), ("pending", queue.pending)):
        for entry in entries:
            if entry.prompt_id == prompt_id:
                return _from_queue(entry, status)
    history = yield from _history(routes.get_history(prompt_id))
    found = history.get(prompt_id)
    if not isinstance(found, dict):
        return JobInfo(id=prompt_id, status="unknown", source="queue+history")
    return _from_history(prompt_id, found)


def _check_list_arguments(
    status: str | Iterable[str] | None,
    sort_by: str,
    sort_order: str,
    limit: int | None,
    offset: int,
) -> tuple[str, ...] | None:
    statuses = None
    if status is not None:
        statuses = tuple(status.split(",") if isinstance(status, str) else status)
        wrong = [s for s in statuses if s not in JOB_STATUSES]
        if wrong or not statuses:
            raise LocalProtocolError(
                f"status must be among {', '.join(JOB_STATUSES)}, not {', '.join(wrong) or '()'}"
            )
    if sort_by not in _SORT_BY:
        raise LocalProtocolError(
            f"sort_by must be 'created_at' or 'execution_duration', not {sort_by!r}"
        )
    if sort_order not in _SORT_ORDER:
        raise LocalProtocolError(f"sort_order must be 'asc' or 'desc', not {sort_order!r}")
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        raise LocalProtocolError(f"limit must be a positive int, not {limit!r}")
    if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
        raise LocalProtocolError(f"offset must be a non-negative int, not {offset!r}")
    return statuses


def list_jobs(
    *,
    status: str | Iterable[str] | None = None,
    workflow_id: str | None = None,
    sort_by: str = "created_at",
    sort_order: str = "desc",
    limit: int | None = None,
    offset: int = 0,
    use_jobs_api: bool = True,
) -> Flow[list[JobInfo]]:
    """Jobs filtered by ``status`` (one or several of :data:`JOB_STATUSES`) and
    ``workflow_id``, sorted by ``created_at`` or ``execution_duration``, paged by
    ``limit`` and ``offset``: ``GET /api/jobs``, or the same from the queue and the
    whole history on servers without it. Bad arguments raise LocalProtocolError
    before any request."""
    statuses = _check_list_arguments(status, sort_by, sort_order, limit, offset)
    if use_jobs_api:
        params = []  # only what differs from the server's defaults
        if sort_by != "created_at":
            params.append(("sort_by", sort_by))
        if sort_order != "desc":
            params.append(("sort_order", sort_order))
        if statuses is not None:
            params.append(("status", ",".join(statuses)))
        if workflow_id is not None:
            params.append(("workflow_id", workflow_id))
        if limit is not None:
            params.append(("limit", str(limit)))
        if offset:
            params.append(("offset", str(offset)))
        request = Request(method="GET", path=f"{API}/jobs", params=tuple(params))
        response = yield from exchange(request)
        if not _no_jobs_api(response):
            data = routes.read_json(request, response)
            jobs = data.get("jobs") if isinstance(data, dict) else None
            if not isinstance(jobs, list) or not all(isinstance(j, dict) for j in jobs):
                raise RemoteProtocolError("/api/jobs should hold a list of job objects")
            return [JobInfo.from_job(job) for job in jobs]
    queue = routes.read_queue(routes.get_queue(), (yield from exchange(routes.get_queue())))
    found = [_from_queue(e, "in_progress") for e in queue.running]
    found += [_from_queue(e, "pending") for e in queue.pending]
    seen = {job.id for job in found}
    history = yield from _history(Request(method="GET", path=f"{API}/history"))
    found += [
        _from_history(pid, entry)
        for pid, entry in history.items()
        if isinstance(entry, dict) and pid not in seen
    ]
    if statuses is not None:
        found = [job for job in found if job.status in statuses]
    if workflow_id is not None:
        found = [job for job in found if job.workflow_id == workflow_id]
    found.sort(key=lambda job: _sort_key(job, sort_by), reverse=sort_order == "desc")
    return found[offset : None if limit is None else offset + limit]


def _sort_key(job: JobInfo, sort_by: str) -> tuple[float, float]:
    value = job.create_time if sort_by == "created_at" else job.execution_duration
    # Jobs without the value sort as the smallest; the queue number breaks ties.
    return (value if value is not None else -1.0, job.priority or 0.0)


def _history(request: Request) -> Flow[dict[str, Any]]:
    data = routes.read_json(request, (yield from exchange(request)))
    if not isinstance(data, dict):
        raise RemoteProtocolError("history should be a JSON object")
    return data


def _workflow_id(extra_data: Mapping[str, Any]) -> str | None:
    info = extra_data.get("extra_pnginfo")
    workflow = info.get("workflow") if isinstance(info, Mapping) else None
    found = workflow.get("id") if isinstance(workflow, Mapping) else None
    return found if isinstance(found, str) else None


def _from_queue(entry: QueueEntry, status: str) -> JobInfo:
    return JobInfo(
        id=entry.prompt_id,
        status=status,
        source="queue+history",
        priority=entry.number,
        create_time=_number(entry.extra_data.get("create_time")),
        workflow_id=_workflow_id(entry.extra_data),
        outputs_count=0,
    )


def _message_time(messages: Any, names: tuple[str, ...]) -> float | None:
    for message in messages if isinstance(messages, list) else ():
        if isinstance(message, list) and len(message) == 2 and message[0] in names:
            data = message[1]
            if isinstance(data, Mapping):
                return _number(data.get("timestamp"))
    return None


def _from_history(prompt_id: str, entry: Mapping[str, Any]) -> JobInfo:
    status = entry.get("status") if isinstance(entry.get("status"), Mapping) else {}
    assert isinstance(status, Mapping)
    prompt = entry.get("prompt")
    number: float | None = None
    extra: Mapping[str, Any] = {}
    if isinstance(prompt, list) and len(prompt) >= 4:
        number = _number(prompt[0])
        extra = prompt[3] if isinstance(prompt[3], Mapping) else {}
    messages = status.get("messages")
    outputs = entry.get("outputs")
    return JobInfo(
        id=prompt_id,
        status="failed" if status.get("status_str") == "error" else "completed",
        source="queue+history",
        priority=number,
        create_time=_number(extra.get("create_time")),
        execution_start_time=_message_time(messages, ("execution_start",)),
        execution_end_time=_message_time(
            messages, ("execution_success", "execution_error", "execution_interrupted")
        ),
        outputs_count=sum(
            len(files)
            for node in (outputs.values() if isinstance(outputs, Mapping) else ())
            if isinstance(node, Mapping)
            for files in node.values()
            if isinstance(files, list)
        ),
        workflow_id=_workflow_id(extra),
        raw=entry,
    )
