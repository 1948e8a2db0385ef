"""Setting input values: a new :class:`Workflow` each time, the original untouched.

:func:`set_values` resolves every address first (see
:mod:`~comfy_core.workflows.addressing`) and changes nothing unless all
resolve: an input that holds a link keeps it unless the caller says
``replace_links=True``, because silently cutting a wire changes what the
graph computes. The result keeps the UI workflow and the
:class:`~comfy_core.workflows.NodeInfo` records; the UI workflow is the one it
came from, not updated with the new values (the server stores it as sent, in
``extra_pnginfo``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from comfy_core.errors import LinkedInputError
from comfy_core.workflows.addressing import describe_node, resolve_input
from comfy_core.workflows.model import raw_object_info
from comfy_core.workflows.params import _is_link

if TYPE_CHECKING:
    from comfy_core.workflows.model import Workflow

__all__ = ["declared_inputs", "replaced", "set_values"]


def declared_inputs(object_info: Mapping[str, Any] | None) -> dict[str, tuple[str, ...]] | None:
    """Required and optional input names by class, from ``object_info``."""
    if object_info is None:
        return None
    names: dict[str, tuple[str, ...]] = {}
    for class_type, info in raw_object_info(object_info).items():
        sections = info.get("input") if isinstance(info, Mapping) else None
        found: list[str] = []
        if isinstance(sections, Mapping):
            for section in ("required", "optional"):
                entries = sections.get(section)
                if isinstance(entries, Mapping):
                    found += [str(k) for k in entries]
        names[str(class_type)] = tuple(found)
    return names


def set_values(
    workflow: Workflow,
    values: Mapping[str, Any],
    *,
    replace_links: bool = False,
    object_info: Mapping[str, Any] | None = None,
) -> Workflow:
    """``workflow`` with each ``"<node>.<input>"`` of ``values`` set (see the module doc)."""
    api = workflow.to_api()
    declared = declared_inputs(object_info)
    changes: dict[tuple[str, str], Any] = {}
    for address, value in values.items():
        info, name = resolve_input(api, workflow.nodes, address, declared=declared)
        current = (api[info.id].get("inputs") or {}).get(name)
        if _is_link(current) and not replace_links:
            raise LinkedInputError(
                f"{describe_node(info)} input {name!r} is linked to node {current[0]} "
                f"(output {current[1]}); pass replace_links=True to cut the link and set a value",
                node_id=info.id,
                title=info.title,
                node_type=info.class_type,
                input_name=name,
                parameter=address,
            )
        changes[(info.id, name)] = value
    return replaced(workflow, changes, api=api)


def replaced(
    workflow: Workflow,
    changes: Mapping[tuple[str, str], Any],
    *,
    api: dict[str, Any] | None = None,
) -> Workflow:
    """``workflow`` with the input ``(node id, name)`` of each change set, nothing checked."""
    api = workflow.to_api() if api is None else api
    for (node_id, name), value in changes.items():
        entry = api[node_id]
        inputs = entry.get("inputs")
        if not isinstance(inputs, dict):
            inputs = entry["inputs"] = {}
        inputs[name] = value
    return workflow._with_api(api)
