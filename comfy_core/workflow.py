"""Checks on a workflow before it is sent, so that bad input fails fast and clearly.

The server validates a prompt thoroughly (unknown classes, missing inputs,
ranges, links); we only check what the server would answer with a bare 500 or
a vague message, or would accept and then fail on: the workflow must be API
format, a mapping of node ids to ``{"class_type": str, "inputs": {...}}``. The
UI format (with ``nodes`` and ``links`` lists) is recognised and named;
:mod:`comfy_core.workflows` converts it, and the clients do so before this check.

Two shapes are refused because ComfyUI 0.3.75 accepts them whenever another
output is valid and its worker thread then dies (it reads them outside any
``try``), so the server runs nothing again until restarted:

* a node without ``inputs`` (``KeyError: 'inputs'`` in the cache key pass);
* a link to a node id the workflow does not have, in an input the node's
  class does not declare: such inputs are not validated, so the prompt is
  accepted even with one output, but the execution list follows the link
  (``NodeNotFoundError``). Without the node schemas we cannot tell a
  declared input from an undeclared one, so every dangling link is refused;
  the server's own answer to a declared one is a vague
  ``exception_during_validation`` naming only the missing id;
* an input value nested deeper than :data:`MAX_NESTING` lists or dicts
  (the cache key pass hashes values recursively: 900 levels gave
  ``RecursionError``; no widget value comes close to the limit).

:func:`comfy_core.validation.validate_prompt` predicts the server's full
verdict from ``/object_info``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from comfy_core.errors import InputError, NodeError, WorkflowValidationError

__all__ = ["MAX_NESTING", "check_workflow", "nesting_depth"]

MAX_NESTING = 100


def _invalid(message: str, node_errors: tuple[NodeError, ...] = ()) -> WorkflowValidationError:
    return WorkflowValidationError(
        error_type="invalid_workflow", message=message, node_errors=node_errors, status=None
    )


def _dangling_links(inputs: Mapping[Any, Any], workflow: Mapping[Any, Any]) -> list[InputError]:
    # What the server's execution follows as a link (graph_utils.is_link).
    errors = []
    for name, value in inputs.items():
        if (
            isinstance(value, (list, tuple))
            and len(value) == 2
            and isinstance(value[0], str)
            and isinstance(value[1], (int, float))
            and value[0] not in workflow
        ):
            errors.append(
                InputError(
                    type="dangling_link",
                    message=f"links to node {value[0]!r}, which the workflow does not have",
                    input_name=str(name),
                    extra_info={"input_name": str(name), "linked_node": list(value)},
                )
            )
    return errors


def nesting_depth(value: Any) -> int:
    """How many lists and dicts deep ``value`` goes (0 for a scalar), without recursion."""
    deepest = 0
    todo = [(value, 0)]
    while todo:
        item, depth = todo.pop()
        if isinstance(item, Mapping):
            children: Any = item.values()
        elif isinstance(item, (list, tuple)):
            children = item
        else:
            continue
        depth += 1
        deepest = max(deepest, depth)
        if depth > MAX_NESTING:
            break  # deep enough to refuse; do not walk a hostile value to the end
        todo += [(child, depth) for child in children]
    return deepest


def _too_deep(inputs: Mapping[Any, Any]) -> list[InputError]:
    return [
        InputError(
            type="value_too_deep",
            message=f"the value is nested more than {MAX_NESTING} levels deep",
            input_name=str(name),
            extra_info={"input_name": str(name)},
        )
        for name, value in inputs.items()
        if nesting_depth(value) > MAX_NESTING
    ]


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
            inputs = node.get("inputs")
            if "inputs" not in node:
                errors.append(
                    InputError(
                        type="missing_inputs",
                        message="'inputs' is missing (give {} for a node without inputs)",
                    )
                )
            elif not isinstance(inputs, Mapping):
                errors.append(InputError(type="invalid_inputs", message="'inputs' must be a dict"))
            else:
                errors += _dangling_links(inputs, workflow)
                errors += _too_deep(inputs)
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
