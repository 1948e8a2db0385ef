"""Loading a workflow through a client: the ``/object_info`` it needs, fetched once.

:func:`load_workflow` is a core flow (see :mod:`comfy_core.flows`): it yields
the ``GET /object_info`` request only when a UI workflow must be converted and
the :class:`ObjectInfoCache` is empty, and once more when the conversion meets
a node type the cached copy lacks (a custom node may have been installed
since). Both clients keep one cache each.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from comfy_core.api import object_info_json
from comfy_core.errors import MissingNodeTypesError, WorkflowValidationError
from comfy_core.flows import Flow
from comfy_core.validation import validate_prompt
from comfy_core.workflows.model import (
    EmbeddedWorkflow,
    MissingNodes,
    Workflow,
    is_ui_workflow,
    read_source,
)

__all__ = [
    "ObjectInfoCache",
    "WorkflowSource",
    "check_workflow_flow",
    "load_workflow",
    "prepare_workflow",
]

WorkflowSource = Workflow | Mapping[str, Any] | str | bytes | os.PathLike[str]


class ObjectInfoCache:
    """The server's ``/object_info`` JSON once fetched (``data`` is None before)."""

    __slots__ = ("data",)

    def __init__(self, data: Mapping[str, Any] | None = None) -> None:
        self.data = data


def load_workflow(
    source: WorkflowSource, cache: ObjectInfoCache, *, missing_nodes: MissingNodes = "error"
) -> Flow[Workflow]:
    """A :class:`Workflow` from any source, converting UI workflows with the server's
    ``/object_info`` (cached in ``cache``; refreshed once on an unknown node type)."""
    if isinstance(source, Workflow):
        return source
    data = read_source(source)
    ui = data.ui if isinstance(data, EmbeddedWorkflow) else data if is_ui_workflow(data) else None
    if isinstance(data, EmbeddedWorkflow):
        if ui is None:
            assert data.prompt is not None
            return Workflow.from_api(data.prompt)
    elif ui is None:
        return Workflow.load(data)
    fetched = False
    if cache.data is None:
        cache.data = yield from object_info_json()
        fetched = True
    try:
        return Workflow.from_ui(ui, cache.data, missing_nodes=missing_nodes)
    except MissingNodeTypesError:
        if fetched:
            raise
    cache.data = yield from object_info_json()
    return Workflow.from_ui(ui, cache.data, missing_nodes=missing_nodes)


def prepare_workflow(
    workflow: WorkflowSource,
    cache: ObjectInfoCache,
    extra_data: Mapping[str, Any] | None = None,
) -> Flow[tuple[Mapping[str, Any], Mapping[str, Any] | None]]:
    """What ``submit_workflow`` sends: the API prompt and ``extra_data``.

    An API-format dict passes through untouched (the existing checks apply to
    it); a :class:`Workflow`, a UI workflow, a path, text or a saved image is
    loaded first, and its UI workflow goes into ``extra_pnginfo.workflow``.
    """
    if isinstance(workflow, Mapping) and not is_ui_workflow(workflow):
        return workflow, extra_data
    loaded = yield from load_workflow(workflow, cache)
    return loaded.to_api(), loaded.extra_data(extra_data)


def check_workflow_flow(prompt: Mapping[str, Any], cache: ObjectInfoCache) -> Flow[None]:
    """Refuse ``prompt`` before sending it where the server would answer 400.

    Checked with the cached ``/object_info`` (fetched when the cache is empty).
    A cached copy may be stale (a custom node installed, an image uploaded
    since: file names are combo choices), so a refusal from it is checked once
    more against a fresh copy before :class:`WorkflowValidationError` is raised.
    Node errors of outputs the server would skip are not refused: the server
    accepts such a prompt too.
    """
    fetched = False
    if cache.data is None:
        cache.data = yield from object_info_json()
        fetched = True
    try:
        validate_prompt(prompt, cache.data)
        return
    except WorkflowValidationError as exc:
        if fetched or exc.status is None:
            raise
    cache.data = yield from object_info_json()
    validate_prompt(prompt, cache.data)
