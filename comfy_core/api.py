"""Every ComfyUI route as a flow: the one list both clients wrap, method for method.

Each function builds its request(s), reads the answers into typed values and
raises typed errors; the async and sync clients only drive it. Routes use the
``/api`` mirror (PROTOCOL.md §1). Control routes answer 200 with an empty
body, which is never JSON-decoded here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from enum import Enum
from typing import Any
from urllib.parse import quote

from comfy_core import routes
from comfy_core.errors import LocalProtocolError, RemoteProtocolError
from comfy_core.flows import Flow, exchange
from comfy_core.http import Request, Response, json_request
from comfy_core.jobs import JobInfo, get_job, list_jobs
from comfy_core.routes import API
from comfy_core.schema import NodeSchema, parse_object_info

__all__ = [
    "CancelOutcome",
    "FileList",
    "JobInfo",
    "cancel",
    "clear_history",
    "clear_queue",
    "create_user",
    "delete_from_history",
    "delete_from_queue",
    "delete_userdata",
    "embeddings",
    "extensions",
    "features",
    "free",
    "get_job",
    "list_jobs",
    "get_setting",
    "get_userdata",
    "history",
    "interrupt",
    "list_userdata",
    "models",
    "move_userdata",
    "global_subgraph",
    "global_subgraphs",
    "node_info",
    "object_info",
    "object_info_json",
    "put_userdata",
    "queue_remaining",
    "set_setting",
    "set_settings",
    "settings",
    "users",
    "view",
    "view_metadata",
    "workflow_templates",
]


class FileList(list[str]):
    """A list of names (embeddings, extensions, model files), as the original package typed it."""


def _json(request: Request) -> Flow[Any]:
    response = yield from exchange(request)
    return routes.read_json(request, response)


def _empty(request: Request) -> Flow[None]:
    response = yield from exchange(request)
    routes.raise_for_status(request, response)


def _names(request: Request) -> Flow[FileList]:
    data = yield from _json(request)
    if not isinstance(data, list):
        raise RemoteProtocolError(f"{request.path} should answer a list")
    return FileList(str(item) for item in data)


def _get(path: str, params: Iterable[tuple[str, str]] = ()) -> Request:
    return Request(method="GET", path=f"{API}{path}", params=tuple(params))


def _ids(prompt_ids: Iterable[str]) -> list[str]:
    if isinstance(prompt_ids, str):
        raise LocalProtocolError("expected a list of prompt ids, not one string")
    ids = [str(p) for p in prompt_ids]
    return ids


# -- queue, history, execution ----------------------------------------------------


def queue_remaining() -> Flow[int]:
    """``GET /prompt``: how many prompts are pending or running."""
    data = yield from _json(_get("/prompt"))
    try:
        return int(data["exec_info"]["queue_remaining"])
    except (KeyError, TypeError, ValueError) as exc:
        raise RemoteProtocolError("GET /prompt should give exec_info.queue_remaining") from exc


def delete_from_queue(prompt_ids: Iterable[str]) -> Flow[None]:
    """``POST /queue {"delete": ids}``: drop pending prompts (unknown ids are ignored)."""
    yield from _empty(json_request("POST", f"{API}/queue", {"delete": _ids(prompt_ids)}))


def clear_queue() -> Flow[None]:
    """``POST /queue {"clear": true}``: drop every pending prompt (everyone's)."""
    yield from _empty(json_request("POST", f"{API}/queue", {"clear": True}))


def interrupt(prompt_id: str | None = None) -> Flow[None]:
    """``POST /interrupt``: stop ``prompt_id`` if it is running, or whatever runs when None.

    Without an id this stops anyone's prompt. Servers before 0.3.57 ignore the
    id; :func:`cancel` checks that the prompt is the running one first.
    """
    body: dict[str, Any] = {} if prompt_id is None else {"prompt_id": prompt_id}
    yield from _empty(json_request("POST", f"{API}/interrupt", body))


def free(unload_models: bool = False, free_memory: bool = False) -> Flow[None]:
    """``POST /free``: unload models and/or free memory (and the node cache) when idle."""
    body = {"unload_models": bool(unload_models), "free_memory": bool(free_memory)}
    yield from _empty(json_request("POST", f"{API}/free", body))


def history(
    prompt_id: str | None = None, max_items: int | None = None, offset: int | None = None
) -> Flow[dict[str, Any]]:
    """The raw history: one prompt's entry (``{}`` if none), or a page, oldest first."""
    if prompt_id is not None:
        request = routes.get_history(prompt_id)
    else:
        params = []
        for name, value in (("max_items", max_items), ("offset", offset)):
            if value is not None:
                if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                    raise LocalProtocolError(f"{name} must be a non-negative int, not {value!r}")
                params.append((name, str(value)))
        request = _get("/history", params)
    data = yield from _json(request)
    if not isinstance(data, dict):
        raise RemoteProtocolError("history should be a JSON object")
    return data


def delete_from_history(prompt_ids: Iterable[str]) -> Flow[None]:
    """``POST /history {"delete": ids}``."""
    yield from _empty(json_request("POST", f"{API}/history", {"delete": _ids(prompt_ids)}))


def clear_history() -> Flow[None]:
    """``POST /history {"clear": true}`` (everyone's history)."""
    yield from _empty(json_request("POST", f"{API}/history", {"clear": True}))


class CancelOutcome(str, Enum):
    """What :func:`cancel` did."""

    DELETED = "deleted"  # it was pending and is gone; it never runs
    INTERRUPTED = "interrupted"  # it was running; the interrupt takes effect at the next node
    FINISHED = "already finished"  # it is in the history
    UNKNOWN = "unknown"  # neither queued nor in the history


def cancel(prompt_id: str) -> Flow[CancelOutcome]:
    """Cancel one prompt, whatever its state, without touching anyone else's.

    Pending: deleted from the queue. Running: interrupted by id (only after
    checking it is the running one, so older servers that ignore the id do
    not stop another prompt). Otherwise: reports whether it already finished.
    """
    for _ in range(3):  # the queue moves under us: look again after acting
        queue = routes.read_queue(routes.get_queue(), (yield from exchange(routes.get_queue())))
        if any(e.prompt_id == prompt_id for e in queue.running):
            yield from interrupt(prompt_id)
            return CancelOutcome.INTERRUPTED
        if any(e.prompt_id == prompt_id for e in queue.pending):
            yield from delete_from_queue([prompt_id])
            after = routes.read_queue(routes.get_queue(), (yield from exchange(routes.get_queue())))
            if prompt_id not in after.prompt_ids:
                return CancelOutcome.DELETED
            continue  # it started meanwhile: interrupt it on the next pass
        done = yield from history(prompt_id)
        return CancelOutcome.FINISHED if prompt_id in done else CancelOutcome.UNKNOWN
    yield from interrupt(prompt_id)
    return CancelOutcome.INTERRUPTED


# -- files ------------------------------------------------------------------------


def view(
    filename: str, subfolder: str = "", type: str | None = None, *, missing_ok: bool = False
) -> Flow[Response | None]:
    """``GET /view`` of one file: the response (bytes in ``body``).

    With ``missing_ok`` a 404 gives None instead of an error.
    """
    request = routes.view(filename, subfolder, type)
    response = yield from exchange(request)
    if missing_ok and response.status == 404:
        return None
    routes.raise_for_status(request, response)
    return response


def view_metadata(folder_name: str, filename: str) -> Flow[dict[str, Any] | None]:
    """``GET /view_metadata/{folder}``: a safetensors file's metadata, or None (404)."""
    routes.check_file_name(filename)
    request = _get(f"/view_metadata/{quote(folder_name, safe='')}", [("filename", filename)])
    response = yield from exchange(request)
    if response.status == 404:
        return None
    data = routes.read_json(request, response)
    return data if isinstance(data, dict) else {"metadata": data}


# -- introspection --------------------------------------------------------------------


def features() -> Flow[dict[str, Any]]:
    """``GET /features``: the server's feature flags (``{}`` before 0.3.45, which lacks it)."""
    request = _get("/features")
    response = yield from exchange(request)
    if response.status == 404:
        return {}
    data = routes.read_json(request, response)
    return data if isinstance(data, dict) else {}


def object_info() -> Flow[dict[str, NodeSchema]]:
    """``GET /object_info``: every node class, typed (large: prefer :func:`node_info`)."""
    data = yield from _json(_get("/object_info"))
    if not isinstance(data, dict):
        raise RemoteProtocolError("object_info should be a JSON object")
    return parse_object_info(data)


def object_info_json() -> Flow[dict[str, Any]]:
    """``GET /object_info`` as the server sends it (what workflow conversion reads)."""
    data = yield from _json(_get("/object_info"))
    if not isinstance(data, dict):
        raise RemoteProtocolError("object_info should be a JSON object")
    return data


def workflow_templates() -> Flow[dict[str, list[str]]]:
    """``GET /workflow_templates``: custom node pack → names of its example workflows."""
    data = yield from _json(_get("/workflow_templates"))
    if not isinstance(data, dict):
        raise RemoteProtocolError("workflow_templates should be a JSON object")
    return {str(k): [str(n) for n in v] for k, v in data.items() if isinstance(v, list)}


def global_subgraphs() -> Flow[dict[str, Any]]:
    """``GET /global_subgraphs``: the subgraph blueprints custom nodes ship, by id (no data)."""
    data = yield from _json(_get("/global_subgraphs"))
    if not isinstance(data, dict):
        raise RemoteProtocolError("global_subgraphs should be a JSON object")
    return data


def global_subgraph(subgraph_id: str) -> Flow[dict[str, Any] | None]:
    """``GET /global_subgraphs/{id}``: one blueprint with its data, or None if unknown."""
    data = yield from _json(_get(f"/global_subgraphs/{quote(subgraph_id, safe='')}"))
    if data is None:
        return None
    if not isinstance(data, dict):
        raise RemoteProtocolError("a global subgraph should be a JSON object")
    return data


def node_info(node_class: str) -> Flow[NodeSchema | None]:
    """``GET /object_info/{class}``: one node class, or None when the server has no such class."""
    data = yield from _json(_get(f"/object_info/{quote(node_class, safe='')}"))
    if not isinstance(data, dict):
        raise RemoteProtocolError("object_info should be a JSON object")
    return parse_object_info(data).get(node_class)


def embeddings() -> Flow[FileList]:
    return (yield from _names(_get("/embeddings")))


def extensions() -> Flow[FileList]:
    return (yield from _names(_get("/extensions")))


def models(folder: str | None = None) -> Flow[FileList]:
    """``GET /models``: model folder names; with ``folder``, the files in it (404 if unknown)."""
    if folder is None:
        return (yield from _names(_get("/models")))
    return (yield from _names(_get(f"/models/{quote(folder, safe='')}")))


# -- users, settings, user data -------------------------------------------------------


def users() -> Flow[dict[str, Any]]:
    data = yield from _json(_get("/users"))
    return data if isinstance(data, dict) else {}


def create_user(username: str) -> Flow[str]:
    """``POST /users``: the new user's id (multi-user servers)."""
    data = yield from _json(json_request("POST", f"{API}/users", {"username": username}))
    return str(data)


def settings() -> Flow[dict[str, Any]]:
    data = yield from _json(_get("/settings"))
    return data if isinstance(data, dict) else {}


def get_setting(setting_id: str) -> Flow[Any]:
    """One setting's value (None when unset)."""
    return (yield from _json(_get(f"/settings/{quote(setting_id, safe='')}")))


def set_setting(setting_id: str, value: Any) -> Flow[None]:
    yield from _empty(json_request("POST", f"{API}/settings/{quote(setting_id, safe='')}", value))


def set_settings(values: Mapping[str, Any]) -> Flow[None]:
    """Merge ``values`` into the settings (a shallow merge)."""
    yield from _empty(json_request("POST", f"{API}/settings", dict(values)))


def _userdata_path(file: str) -> str:
    routes.check_file_name(file, "user data path")
    # One path segment on the server: a slash must travel as %2F.
    return f"{API}/userdata/{quote(file, safe='')}"


def list_userdata(
    directory: str, *, recurse: bool = False, full_info: bool = False, split: bool = False
) -> Flow[list[Any]]:
    """``GET /userdata?dir=``: paths in a user-data folder (dicts with ``full_info``)."""
    routes.check_file_name(directory, "directory")
    params = [("dir", directory)]
    params += [
        (n, "true")
        for n, on in (("recurse", recurse), ("full_info", full_info), ("split", split))
        if on
    ]
    data = yield from _json(_get("/userdata", params))
    if not isinstance(data, list):
        raise RemoteProtocolError("userdata listing should be a list")
    return data


def get_userdata(file: str) -> Flow[bytes]:
    request = Request(method="GET", path=_userdata_path(file))
    response = yield from exchange(request)
    routes.raise_for_status(request, response)
    return response.body


def put_userdata(file: str, data: bytes | str, *, overwrite: bool = True) -> Flow[str]:
    """``POST /userdata/{file}``: store ``data`` and return its path.

    A 409 ``HTTPStatusError`` when the file exists and ``overwrite`` is False.
    """
    body = data.encode() if isinstance(data, str) else bytes(data)
    request = Request(
        method="POST",
        path=_userdata_path(file),
        params=(("overwrite", "true" if overwrite else "false"),),
        headers=(("content-type", "application/octet-stream"),),
        body=body,
    )
    answer = yield from _json(request)
    return str(answer)


def delete_userdata(file: str) -> Flow[None]:
    yield from _empty(Request(method="DELETE", path=_userdata_path(file)))


def move_userdata(file: str, destination: str, *, overwrite: bool = False) -> Flow[str]:
    """``POST /userdata/{file}/move/{dest}``: move a file and return its new path.

    A 409 ``HTTPStatusError`` when ``destination`` exists and ``overwrite`` is False.
    """
    target = _userdata_path(destination).removeprefix(f"{API}/userdata/")
    request = Request(
        method="POST",
        path=f"{_userdata_path(file)}/move/{target}",
        params=(("overwrite", "true" if overwrite else "false"),),
    )
    answer = yield from _json(request)
    return str(answer)
