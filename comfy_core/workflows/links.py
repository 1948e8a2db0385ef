"""Link resolution: which output (or promoted widget value) feeds an input.

This is the frontend's ``ExecutableNodeDTO`` logic (version 1.32.9): an input's
link is followed to its origin; a bypassed node (mode 4) passes one of its own
inputs through, picked by type (:func:`bypass_slot`); a virtual node (Reroute)
passes its input through; a subgraph instance is entered through its output
slot and left again through its input slots. A muted node (mode 2) still
resolves to itself, so the export's cleanup later deletes the consuming input.

Each node seen in a resolution is a :class:`Step`: a node plus the path of
subgraph instances it sits in, whose ``id`` is the execution id (``"12:5"``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from comfy_core.errors import WorkflowFormatError, WorkflowRecursionError
from comfy_core.workflows.live import SUBGRAPH_INPUT_ID, Graph, Link, Node

__all__ = ["Origin", "Step", "WidgetValue", "bypass_slot", "is_valid_connection", "resolve_input"]

BYPASS = 4


@dataclass(frozen=True, slots=True)
class Origin:
    """An input resolved to a real node's output: ``[id, slot]`` in the prompt."""

    id: str
    slot: int


@dataclass(frozen=True, slots=True)
class WidgetValue:
    """An input resolved to the value of a subgraph instance's promoted widget."""

    value: Any


@dataclass(eq=False, slots=True)
class Step:
    node: Node
    path: tuple[Any, ...]
    instance: Node | None  # the subgraph instance holding the node, if any
    steps: dict[str, Step] = field(repr=False, default_factory=dict)

    @property
    def id(self) -> str:
        return ":".join(str(p) for p in (*self.path, self.node.id))

    def error(self, message: str) -> WorkflowFormatError:
        return WorkflowFormatError(
            f"{self.node.describe()}: {message}",
            node_id=self.id,
            title=self.node.title,
            node_type=self.node.type,
        )


def is_valid_connection(a: Any, b: Any) -> bool:
    """LiteGraph's type check: ``*`` and ``""`` match anything, comma lists any member."""
    if a == "" or a == "*":
        a = 0
    if b == "" or b == "*":
        b = 0
    if not a or not b or a == b:
        return True
    sa, sb = _js_str(a).lower(), _js_str(b).lower()
    if "," not in sa and "," not in sb:
        return sa == sb
    return any(is_valid_connection(x, y) for x in sa.split(",") for y in sb.split(","))


def _js_str(value: Any) -> str:
    if isinstance(value, list):
        return ",".join(_js_str(v) for v in value)
    return str(value)


def bypass_slot(node: Node, slot: int, type: Any) -> int:
    """The input a bypassed node passes through to output ``slot`` (-1: none)."""
    inputs = node.inputs
    if type == "*" or type == "":
        return slot if len(inputs) > slot else 0
    if not 0 <= slot < len(node.outputs):
        raise WorkflowFormatError(
            f"{node.describe()}: output {slot} is linked but the node has no such output",
            node_id=str(node.id),
            title=node.title,
            node_type=node.type,
        )
    output_type = node.outputs[slot]
    if slot < len(inputs):
        opposite = inputs[slot].type
        if is_valid_connection(opposite, output_type) and is_valid_connection(opposite, type):
            return slot
    for index, item in enumerate(inputs):
        if item.type == type:
            return index
    for index, item in enumerate(inputs):
        if is_valid_connection(item.type, output_type) and is_valid_connection(item.type, type):
            return index
    return -1


def _link(graph: Graph, link_id: int) -> Link | None:
    return graph.links.get(link_id)


def _sub_id(step: Step) -> str:
    return (
        str(step.instance.subgraph.id) if step.instance and step.instance.subgraph else "undefined"
    )


def _visit(step: Step, kind: str, slot: int, visited: set[str]) -> None:
    """Mark (step, input or output ``slot``) resolved; seeing it twice is a cycle."""
    unique = f"{_sub_id(step)}:{step.node.id}[{kind[0].upper()}]{slot}"
    if unique in visited:
        raise WorkflowRecursionError(
            f"{step.node.describe()}: circular reference while resolving {kind} {slot}",
            node_id=step.id,
            title=step.node.title,
            node_type=step.node.type,
        )
    visited.add(unique)


def resolve_input(
    step: Step, slot: int, visited: set[str] | None = None, type: Any = None
) -> Origin | WidgetValue | None:
    """What feeds input ``slot`` of ``step``'s node (None: nothing)."""
    visited = set() if visited is None else visited
    _visit(step, "input", slot, visited)
    if not 0 <= slot < len(step.node.inputs):
        raise step.error(f"it has no input {slot}")
    item = step.node.inputs[slot]
    if item.link is None:
        return None
    graph = step.node.graph
    link = _link(graph, item.link)
    if link is None:
        raise step.error(f"input {item.name!r} names link {item.link}, which does not exist")
    instance = step.instance
    if instance is not None and link.origin_id == SUBGRAPH_INPUT_ID:
        if not 0 <= link.origin_slot < len(instance.inputs):
            raise step.error(f"subgraph input {link.origin_slot} does not exist")
        outer_input = instance.inputs[link.origin_slot]
        if outer_input.link is None:
            widget = instance.widget(outer_input.widget) if outer_input.widget else None
            return None if widget is None else WidgetValue(widget.value)
        outer = _link(instance.graph, outer_input.link)
        if outer is None:
            raise step.error(f"subgraph input {outer_input.name!r} names a missing link")
        instance_step = step.steps.get(":".join(str(p) for p in step.path))
        if instance_step is None:
            raise step.error("its subgraph instance is not part of the graph")
        return resolve_input(instance_step, outer.target_slot, visited)
    origin = graph.nodes.get(link.origin_id)
    if origin is None:
        raise step.error(
            f"input {item.name!r} is linked from node {link.origin_id}, which does not exist"
        )
    origin_step = step.steps.get(":".join(str(p) for p in (*step.path, origin.id)))
    if origin_step is None:
        raise step.error(f"node {link.origin_id} it is linked from is not part of the graph")
    return resolve_output(
        origin_step, link.origin_slot, item.type if type is None else type, visited
    )


def resolve_output(
    step: Step, slot: int, type: Any, visited: set[str]
) -> Origin | WidgetValue | None:
    """What output ``slot`` of ``step``'s node really is, for an input of ``type``."""
    _visit(step, "output", slot, visited)
    node = step.node
    if node.mode == BYPASS:
        index = bypass_slot(node, slot, type)
        if index == -1:
            return None
        return resolve_input(step, index, visited)
    if node.kind == "subgraph":
        sub = node.subgraph
        assert sub is not None
        if not 0 <= slot < len(node.outputs) or slot >= len(sub.outputs):
            raise step.error(f"it has no output {slot}")
        inner_links = [sub.links[i] for i in sub.outputs[slot][2] if i in sub.links]
        if not inner_links:
            return None
        inner_link = inner_links[0]
        inner = sub.nodes.get(inner_link.origin_id)
        if inner is None:
            raise step.error(
                f"subgraph output {sub.outputs[slot][0]!r} is not fed by a node inside it "
                "(an input wired straight to an output cannot be exported)"
            )
        inner_step = step.steps.get(":".join(str(p) for p in (*step.path, node.id, inner.id)))
        if inner_step is None:
            raise step.error(f"inner node {inner.id} is not part of the graph")
        return resolve_output(inner_step, inner_link.origin_slot, type, visited)
    if node.is_virtual:
        if not 0 <= slot < len(node.inputs) or node.inputs[slot].link is None:
            return None
        link = _link(node.graph, node.inputs[slot].link)  # type: ignore[arg-type]
        if link is None:
            return None
        target = node.graph.nodes.get(link.target_id)
        if target is None:
            raise step.error(f"link {link.id} into it points at a missing node")
        target_step = step.steps.get(":".join(str(p) for p in (*step.path, target.id)))
        if target_step is None:
            raise step.error(f"node {target.id} is not part of the graph")
        return resolve_input(target_step, link.target_slot, visited, type)
    return Origin(step.id, slot)
