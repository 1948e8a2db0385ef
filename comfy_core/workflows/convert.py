"""UI workflow → API prompt, as the frontend's ``graphToPrompt`` (1.32.9) does it.

1. PrimitiveNodes push their value into the widgets they are linked to.
2. Every root node, and every node inside a subgraph instance (recursively,
   whatever the instance's mode), becomes a :class:`~comfy_core.workflows.links.Step`
   keyed by its execution id.
3. Each step that is neither virtual, muted (2) nor bypassed (4) is emitted:
   its prompt widgets in widget order, then its linked inputs resolved through
   bypasses, reroutes and subgraph boundaries.
4. Inputs linked to a node that was not emitted are deleted.

Nodes of types the server lacks are emitted the way the frontend does it (no
``class_type``, their saved values under ``UNKNOWN``), unless the caller asks
for them to be dropped or refused (:func:`graph_to_prompt`'s ``missing``).
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from typing import Any

from comfy_core.errors import MissingNode, MissingNodeTypesError, WorkflowRecursionError
from comfy_core.workflows.links import Origin, Step, WidgetValue, resolve_input
from comfy_core.workflows.live import Graph, Node, Widget
from comfy_core.workflows.nodedefs import CONTROL_MODES
from comfy_core.workflows.text import apply_text_replacements, process_dynamic_prompt

__all__ = ["Emitted", "execution_order", "graph_to_prompt", "missing_nodes", "order_keys"]

MUTED, BYPASS = 2, 4
_INDEX = re.compile(r"^(0|[1-9][0-9]*)$")


class Emitted:
    """One emitted prompt entry and the node it came from."""

    __slots__ = ("entry", "node", "step_id")

    def __init__(self, step_id: str, node: Node, entry: dict[str, Any]) -> None:
        self.step_id = step_id
        self.node = node
        self.entry = entry


def _all_nodes(graph: Graph) -> Iterator[Node]:
    yield from graph.nodes.values()
    for sub in graph.subgraphs.values():
        yield from sub.nodes.values()


def missing_nodes(graph: Graph) -> tuple[MissingNode, ...]:
    """Every node, in the root graph or any subgraph, whose type the server lacks."""
    found = []
    for node in _all_nodes(graph):
        if node.kind == "placeholder":
            prefix = f"{node.graph.name or node.graph.id} / " if node.graph.id else ""
            found.append(
                MissingNode(
                    node_id=f"{prefix}{node.id}", node_type=node.type, title=node.saved.get("title")
                )
            )
    return tuple(found)


def _apply_primitives(steps: Mapping[str, Step], root: Graph) -> None:
    """Each PrimitiveNode writes its value into the widgets it is linked to."""
    done: set[int] = set()
    for step in steps.values():
        node = step.node
        if node.type != "PrimitiveNode" or not node.widgets or id(node) in done:
            continue
        done.add(id(node))  # definition nodes are shared by every instance
        if not node.output_links or not node.output_links[0]:
            continue
        value = node.widgets[0].value
        saved = node.saved.get("widgets_values")
        control = saved[1] if isinstance(saved, list) and len(saved) > 1 else None
        if value and node.properties.get("Run widget replace on values") and isinstance(value, str):
            value = apply_text_replacements(value, _replacement_table(root))
        for link_id in node.output_links[0]:
            # The frontend looks the link up in the root graph, whatever graph the node is in.
            link = root.links.get(link_id)
            if link is None:
                continue
            target = node.graph.nodes.get(link.target_id)
            if target is None or not 0 <= link.target_slot < len(target.inputs):
                continue
            name = target.inputs[link.target_slot].widget
            widget = target.widget(name) if name else None
            if widget is not None:
                widget.value = value
                if isinstance(control, str) and control in CONTROL_MODES and name:
                    target.fed_controls[name] = control


def execution_order(graph: Graph) -> list[Node]:
    """LiteGraph's ``computeExecutionOrder``: Kahn's algorithm over the node list,
    following output links in saved order; nodes left in cycles come last, in
    JavaScript key order (integer ids ascending)."""
    pending: dict[Any, Node] = dict(graph.nodes)
    remaining: dict[Any, float] = {}
    ready: list[Node] = []
    for node in graph.nodes.values():
        count = sum(1 for item in node.inputs if item.link is not None)
        if count == 0:
            ready.append(node)
        else:
            remaining[node.id] = count
    order: list[Node] = []
    seen_links: set[int] = set()
    while ready:
        node = ready.pop(0)
        order.append(node)
        pending.pop(node.id, None)
        for links in node.output_links:
            for link_id in links:
                link = graph.links.get(link_id)
                if link is None or link.id in seen_links:
                    continue
                seen_links.add(link.id)
                target = graph.nodes.get(link.target_id)
                if target is None or target.id not in remaining:
                    continue  # a node without linked inputs: JavaScript's NaN never reaches 0
                remaining[target.id] -= 1
                if remaining[target.id] == 0:
                    ready.append(target)
    order += order_keys({str(k): v for k, v in pending.items()}).values()
    return order


def _steps(root: Graph) -> dict[str, Step]:
    steps: dict[str, Step] = {}

    def expand(instance: Node, path: tuple[Any, ...], seen: frozenset[int]) -> None:
        if id(instance) in seen:
            raise WorkflowRecursionError(
                f"{instance.describe()}: the subgraph contains itself",
                node_id=":".join(str(p) for p in (*path, instance.id)),
                title=instance.title,
                node_type=instance.type,
            )
        seen = seen | {id(instance)}
        parent = None
        if path:
            parent = steps[":".join(str(p) for p in path)].node
        own = Step(instance, path, parent, steps)
        steps[own.id] = own
        assert instance.subgraph is not None
        inner_path = (*path, instance.id)
        for inner in instance.subgraph.nodes.values():
            if inner.kind == "subgraph":
                expand(inner, inner_path, seen)
            else:
                step = Step(inner, inner_path, instance, steps)
                steps[step.id] = step

    for node in execution_order(root):
        if node.kind == "subgraph":
            expand(node, (), frozenset())
        else:
            step = Step(node, (), None, steps)
            steps[step.id] = step
    return steps


def _replacement_table(
    root: Graph,
) -> list[tuple[str | None, Any, Callable[[str], Any]]]:
    table: list[tuple[str | None, Any, Callable[[str], Any]]] = []
    for node in _all_nodes(root):

        def lookup(name: str, node: Node = node) -> Any:
            widget = node.widget(name)
            if widget is None:
                raise KeyError(name)
            return widget.value

        table.append((node.title, node.properties.get("Node name for S&R"), lookup))
    return table


def _widget_value(
    widget: Widget, root: Graph, rng: random.Random | None, now: datetime | None
) -> Any:
    value = widget.value
    if widget.slot.dynamic_prompts and isinstance(value, str):
        return process_dynamic_prompt(value, rng)
    if widget.slot.text_replacements and isinstance(value, str):
        return apply_text_replacements(value, _replacement_table(root), now)
    return value


def _wrap(value: Any) -> Any:
    return {"__value__": value} if isinstance(value, list) else value


def graph_to_prompt(
    root: Graph,
    *,
    missing: str = "error",
    rng: random.Random | None = None,
    now: datetime | None = None,
) -> list[Emitted]:
    """The API prompt of a configured graph, entry by entry, in the frontend's order.

    ``missing``: ``"error"`` raises :class:`MissingNodeTypesError` listing every
    node of an unknown type; ``"keep"`` emits them as the frontend does (no
    ``class_type``); ``"drop"`` leaves them out, with the inputs linked to them.
    """
    if missing == "error":
        absent = missing_nodes(root)
        if absent:
            raise MissingNodeTypesError(absent)
    steps = _steps(root)
    _apply_primitives(steps, root)
    emitted: list[Emitted] = []
    for step in list(steps.values()):
        node = step.node
        if node.is_virtual or node.mode in (MUTED, BYPASS):
            continue
        if node.kind == "placeholder" and missing == "drop":
            continue
        inputs: dict[str, Any] = {}
        for widget in node.widgets:
            if not widget.name or not widget.slot.in_prompt:
                continue
            inputs[widget.name] = _wrap(_widget_value(widget, root, rng, now))
        for index, item in enumerate(node.inputs):
            resolved = resolve_input(step, index)
            if resolved is None:
                continue
            if isinstance(resolved, WidgetValue):
                inputs[item.name] = _wrap(resolved.value)
            else:
                assert isinstance(resolved, Origin)
                inputs[item.name] = [resolved.id, resolved.slot]
        entry: dict[str, Any] = {"inputs": inputs}
        if node.class_type is not None:
            entry["class_type"] = node.class_type
        entry["_meta"] = {"title": node.title} if node.title is not None else {}
        emitted.append(Emitted(step.id, node, entry))
    ids = {e.step_id for e in emitted}
    for item_ in emitted:
        inputs = item_.entry["inputs"]
        for name in [
            n for n, v in inputs.items() if isinstance(v, list) and len(v) == 2 and v[0] not in ids
        ]:
            del inputs[name]
    return emitted


def order_keys(entries: Mapping[str, Any]) -> dict[str, Any]:
    """``entries`` in JavaScript object key order: integer-like keys first, ascending."""
    numeric = sorted((k for k in entries if _INDEX.match(k)), key=int)
    return {
        **{k: entries[k] for k in numeric},
        **{k: v for k, v in entries.items() if not _INDEX.match(k)},
    }
