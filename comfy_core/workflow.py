"""Checks on a workflow before it is sent, so that bad input fails fast and clearly.

The server validates a prompt thoroughly (unknown classes, missing inputs,
ranges, links); we only check what the server would answer with a bare 500 or
a vague message: the workflow must be API format, a mapping of node ids to
``{"class_type": str, "inputs": {...}}``. The UI format (with ``nodes`` and
``links`` lists) is recognised and named; :mod:`comfy_core.workflows` converts it,
and the clients do so before this check.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from comfy_core.errors import InputError, NodeError, WorkflowValidationError

__all__ = ["check_workflow"]


def _invalid(message: str, node_errors: tuple[NodeError, ...] = ()) -> WorkflowValidationError:
    return WorkflowValidationError(
        error_type="invalid_workflow", message=message, node_errors=node_errors, status=None
    )


def check_workflow(workflow: Any) -> None:
    """Raise :class:`WorkflowValidationError` (status None) unless ``workflow`` is API format."""
    if not isinstance(workflow, Mapping):
        raise _invalid(f"a workflow must be a dict of nodes, not {type(workflow).__name__}")
    if isinstance(workflow.get("nodes"), list) and "links" in workflow:
        raise _invalid(
            "this is a UI-format workflow (it has 'nodes' and 'links'): convert it with "
            "Workflow.from_ui(workflow, object_info) or client.load_workflow(workflow)"
        )
    if not workflow:
        raise _invalid("the workflow has no nodes")
    problems = []
    for node_id, node in workflow.items():
        errors = []
        class_type = node.get("class_type") if isinstance(node, Mapping) else None
        if not isinstance(node, Mapping):
            errors.append(InputError(type="invalid_node", message="a node must be a dict"))
        else:
            if not isinstance(class_type, str) or not class_type:
                errors.append(
                    InputError(type="missing_class_type", message="'class_type' is missing")
                )
            if not isinstance(node.get("inputs", {}), Mapping):
                errors.append(InputError(type="invalid_inputs", message="'inputs' must be a dict"))
        if not isinstance(node_id, str):
            errors.append(InputError(type="invalid_node_id", message="node ids must be strings"))
        if errors:
            problems.append(
                NodeError(
                    node_id=str(node_id),
                    class_type=class_type if isinstance(class_type, str) else None,
                    errors=tuple(errors),
                )
            )
    if problems:
        raise _invalid("the workflow is not in API format", tuple(problems))
