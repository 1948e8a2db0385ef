"""Request builders and response readers for the ComfyUI routes.

Each route has a builder that returns a :class:`Request` and a reader that
turns the :class:`Response` into a typed value or raises a typed error. Paths
use the ``/api`` mirror the official frontend uses (PROTOCOL.md §1), except the
frontend page ``/`` which has no mirror. Readers never JSON-decode the empty
200 bodies ComfyUI sends for control routes.
"""

from __future__ import annotations

import json
import posixpath
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any
from urllib.parse import quote

from comfy_core.errors import (
    HTTPStatusError,
    InputError,
    LocalProtocolError,
    NodeError,
    RemoteProtocolError,
    WorkflowValidationError,
)
from comfy_core.http import Request, Response, json_request
from comfy_core.models import PromptResponse, QueueState, SystemStats
from comfy_core.outputs import OutputFile

__all__ = [
    "API",
    "check_file_name",
    "get_history",
    "get_job",
    "get_index",
    "get_queue",
    "get_system_stats",
    "post_prompt",
    "raise_for_status",
    "read_history_entry",
    "read_job_entry",
    "read_json",
    "read_prompt_response",
    "read_queue",
    "read_system_stats",
    "validation_error",
    "view",
    "view_file",
]

API = "/api"


def raise_for_status(request: Request, response: Response) -> None:
    """Raise :class:`HTTPStatusError` for a 4xx/5xx, with the server's message if any."""
    if response.status < 400:
        return
    message = ""
    if response.body:
        try:
            body = json.loads(response.body)
        except ValueError:
            message = response.text.strip()[:500]
        else:
            error = body.get("error") if isinstance(body, dict) else None
            if isinstance(error, dict):
                error = error.get("message")
            message = str(error if error is not None else body)[:500]
    raise HTTPStatusError(
        status=response.status, method=request.method, route=request.path, message=message
    )


def read_json(request: Request, response: Response) -> Any:
    """The JSON body of a successful response; typed errors otherwise."""
    raise_for_status(request, response)
    return response.json()


# -- introspection --------------------------------------------------------------


def get_index() -> Request:
    return Request(method="GET", path="/")


def get_system_stats() -> Request:
    return Request(method="GET", path=f"{API}/system_stats")


def read_system_stats(request: Request, response: Response) -> SystemStats:
    data = read_json(request, response)
    if not isinstance(data, dict):
        raise RemoteProtocolError("system_stats should be a JSON object")
    return SystemStats.from_json(data)


# -- prompts --------------------------------------------------------------------


def post_prompt(
    workflow: Mapping[str, Any],
    *,
    prompt_id: str,
    client_id: str | None,
    number: float | None = None,
    front: bool = False,
    extra_data: Mapping[str, Any] | None = None,
    partial_execution_targets: Sequence[str] | None = None,
) -> Request:
    """``POST /prompt`` for an API-format ``workflow`` under a client-minted ``prompt_id``.

    ``client_id`` routes the prompt's WebSocket events to the socket of that id.
    Always send one: without it no socket hears of the prompt, and ComfyUI
    0.3.75 also leaves the outputs of cached nodes out of its history entry.
    """
    body: dict[str, Any] = {"prompt": workflow, "prompt_id": prompt_id}
    if client_id is not None:
        body["client_id"] = client_id
    if number is not None:
        body["number"] = number
    if front:
        body["front"] = True
    if extra_data:
        body["extra_data"] = dict(extra_data)
    if partial_execution_targets is not None:
        body["partial_execution_targets"] = [str(t) for t in partial_execution_targets]
    return json_request("POST", f"{API}/prompt", body)


def _input_error(raw: Any) -> InputError:
    raw = raw if isinstance(raw, Mapping) else {}
    extra = raw.get("extra_info") if isinstance(raw.get("extra_info"), Mapping) else {}
    assert isinstance(extra, Mapping)
    name = extra.get("input_name")
    return InputError(
        type=str(raw.get("type", "")),
        message=str(raw.get("message", "")),
        details=str(raw.get("details", "")),
        input_name=name if isinstance(name, str) else None,
        extra_info=extra,
    )


def read_node_errors(node_errors: Any) -> tuple[NodeError, ...]:
    """Read ``node_errors`` ({node_id: {errors, dependent_outputs, class_type}})."""
    if not isinstance(node_errors, Mapping):
        return ()
    nodes = []
    for node_id, info in node_errors.items():
        info = info if isinstance(info, Mapping) else {}
        class_type = info.get("class_type")
        nodes.append(
            NodeError(
                node_id=str(node_id),
                class_type=class_type if isinstance(class_type, str) else None,
                errors=tuple(_input_error(e) for e in info.get("errors") or ()),
                dependent_outputs=tuple(str(o) for o in info.get("dependent_outputs") or ()),
            )
        )
    return tuple(nodes)


def _node_from_details(details: str) -> str | None:
    # invalid_prompt names its node only in details: "Node ID '#1'".
    if details.startswith("Node ID '#") and details.endswith("'"):
        return details[len("Node ID '#") : -1]
    return None


def validation_error(body: Mapping[str, Any]) -> WorkflowValidationError:
    """The error for a 400 body of ``POST /prompt`` (``{"error": ..., "node_errors": ...}``).

    Also used by :mod:`comfy_core.validation` on the body it predicts, so a local
    and a server verdict are built alike and compare field by field.
    """
    error = body.get("error") if isinstance(body.get("error"), Mapping) else {}
    assert isinstance(error, Mapping)
    nodes = read_node_errors(body.get("node_errors"))
    details = str(error.get("details", ""))
    message = str(error.get("message", "prompt rejected"))
    node_id = _node_from_details(details)
    if not nodes and node_id is not None:
        # Point at the node the top-level error names (unknown class and the like).
        nodes = (NodeError(node_id=node_id, class_type=None, errors=()),)
    return WorkflowValidationError(
        error_type=str(error.get("type", "")),
        message=message,
        details=details,
        node_errors=nodes,
        raw=body,
    )


def read_prompt_response(request: Request, response: Response) -> PromptResponse:
    """The receipt of ``POST /prompt``; a 400 raises :class:`WorkflowValidationError`."""
    if response.status == 400:
        body = response.json()
        if not isinstance(body, dict):
            raise RemoteProtocolError("a 400 from /prompt should be a JSON object")
        raise validation_error(body)
    data = read_json(request, response)
    if not isinstance(data, dict) or not isinstance(data.get("prompt_id"), str):
        raise RemoteProtocolError("a 200 from /prompt should carry a prompt_id")
    number = data.get("number", 0)
    node_errors = data.get("node_errors")
    return PromptResponse(
        prompt_id=data["prompt_id"],
        number=number if isinstance(number, (int, float)) else 0,
        node_errors=node_errors if isinstance(node_errors, dict) else {},
    )


def get_history(prompt_id: str) -> Request:
    return Request(method="GET", path=f"{API}/history/{prompt_id}")


def read_history_entry(
    request: Request, response: Response, prompt_id: str
) -> Mapping[str, Any] | None:
    """The history entry of ``prompt_id``, or None while the server has none (``{}``)."""
    data = read_json(request, response)
    if not isinstance(data, dict):
        raise RemoteProtocolError("history should be a JSON object")
    entry = data.get(prompt_id)
    if entry is None:
        return None
    if not isinstance(entry, dict):
        raise RemoteProtocolError(f"history entry for {prompt_id} should be an object")
    return entry


def get_job(prompt_id: str) -> Request:
    return Request(method="GET", path=f"{API}/jobs/{quote(prompt_id, safe='')}")


def read_job_entry(
    request: Request, response: Response, prompt_id: str
) -> Mapping[str, Any] | None:
    """A finished job from ``/api/jobs/{id}`` in the shape of its history entry (``outputs``
    and ``status``), or None while there is none to settle from: an unknown job, or
    one the server still has as pending or running."""
    if response.status == 404:
        return None
    data = read_json(request, response)
    if not isinstance(data, dict):
        raise RemoteProtocolError(f"job {prompt_id} should be a JSON object")
    if data.get("status") not in ("completed", "failed"):
        return None
    outputs = data.get("outputs")
    status = data.get("execution_status")
    if not isinstance(outputs, dict) or not isinstance(status, dict):
        raise RemoteProtocolError(f"finished job {prompt_id} lacks outputs or execution_status")
    return {"outputs": outputs, "status": status}


def get_queue() -> Request:
    return Request(method="GET", path=f"{API}/queue")


def read_queue(request: Request, response: Response) -> QueueState:
    data = read_json(request, response)
    if not isinstance(data, dict):
        raise RemoteProtocolError("queue should be a JSON object")
    return QueueState.from_json(data)


# -- files ----------------------------------------------------------------------


def check_file_name(name: str, what: str = "filename") -> None:
    """Refuse a name with ``..``, a backslash, a NUL or a leading ``/`` before any request."""
    if "\0" in name:
        raise LocalProtocolError(f"{what} {name!r} must not contain a NUL character")
    parts = name.replace("\\", "/").split("/")
    if name.startswith(("/", "\\")) or ".." in parts or posixpath.isabs(name):
        raise LocalProtocolError(f"{what} {name!r} must be relative and must not contain '..'")


def view(filename: str, subfolder: str = "", type: str | None = None) -> Request:
    """``GET /view`` of one file; ``subfolder`` is passed apart, as the server wants."""
    check_file_name(filename)
    if subfolder:
        check_file_name(subfolder, "subfolder")
    params = [("filename", filename)]
    if subfolder:
        params.append(("subfolder", subfolder))
    if type:
        params.append(("type", type))
    return Request(method="GET", path=f"{API}/view", params=tuple(params))


def view_file(ref: OutputFile, max_body: int | None = None) -> Request:
    """``GET /view`` of an output item, exactly as the server listed it.

    Outputs are compressed files already, so it asks for them as they are
    (``Accept-Encoding: identity``); ``max_body`` bounds an in-memory download.
    """
    plain = view(ref.filename, ref.subfolder, ref.type)
    return replace(plain, headers=(("accept-encoding", "identity"),), max_body=max_body)
