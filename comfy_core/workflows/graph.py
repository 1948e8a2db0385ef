"""The live graph: a UI workflow configured the way the frontend configures it.

:func:`build_graph` turns the saved JSON into :class:`Node` objects holding
their live inputs (definition inputs merged with the saved ones by name,
saved extras appended), outputs, widgets with restored values, and mode;
links are kept by id per graph; subgraph definitions become :class:`Graph`
objects of their own whose instances point at them. Nothing is resolved yet:
that is :mod:`comfy_core.workflows.links`' job.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from comfy_core.errors import WorkflowFormatError
from comfy_core.workflows.live import (
    SUBGRAPH_INPUT_ID,
    SUBGRAPH_OUTPUT_ID,
    VIRTUAL_TYPES,
    Graph,
    Input,
    Link,
    Node,
    Widget,
)
from comfy_core.workflows.nodedefs import NodeLayout, WidgetSlot, node_layout
from comfy_core.workflows.subgraphs import configure_instance

__all__ = [
    "SUBGRAPH_INPUT_ID",
    "SUBGRAPH_OUTPUT_ID",
    "VIRTUAL_TYPES",
    "Builder",
    "Graph",
    "Node",
    "build_graph",
]


def _fail(message: str, node: Mapping[str, Any] | None = None) -> WorkflowFormatError:
    if node is None:
        return WorkflowFormatError(message)
    return WorkflowFormatError(
        message, node_id=str(node.get("id")), title=node.get("title"), node_type=node.get("type")
    )


def _int(value: Any, what: str, node: Mapping[str, Any] | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _fail(f"{what} must be a number, not {value!r}", node)
    return int(value)


def _read_links(raw: Any) -> dict[int, Link]:
    """Links in either saved form: arrays (root of a 0.4 file) or objects."""
    links: dict[int, Link] = {}
    if raw is None:
        return links
    if not isinstance(raw, list):
        raise _fail("'links' must be a list")
    for item in raw:
        if item is None:
            continue
        if isinstance(item, list):
            if len(item) < 5:
                raise _fail(f"link {item!r} needs [id, origin, slot, target, slot, type]")
            lid, origin, oslot, target, tslot = item[:5]
            kind = item[5] if len(item) > 5 else None
        elif isinstance(item, Mapping):
            lid, origin, oslot = item.get("id"), item.get("origin_id"), item.get("origin_slot")
            target, tslot, kind = item.get("target_id"), item.get("target_slot"), item.get("type")
        else:
            raise _fail(f"a link must be a list or an object, not {item!r}")
        link_id = _int(lid, "a link id")
        links[link_id] = Link(
            link_id, origin, _int(oslot, f"link {link_id}'s origin_slot"), target,
            _int(tslot, f"link {link_id}'s target_slot"), kind,
        )  # fmt: skip
    return links


def _io_slots(raw: Any) -> list[tuple[str, Any, list[int]]]:
    slots = []
    for slot in raw or []:
        if not isinstance(slot, Mapping):
            raise _fail(f"a subgraph input or output must be an object, not {slot!r}")
        ids = [i for i in slot.get("linkIds") or [] if isinstance(i, int)]
        slots.append((str(slot.get("name", "")), slot.get("type"), ids))
    return slots


class Builder:
    """Configures graphs against one ``/object_info``; layouts are cached per class."""

    def __init__(self, object_info: Mapping[str, Any]) -> None:
        self.object_info = object_info
        self._layouts: dict[str, NodeLayout | None] = {}
        self.definitions: dict[str, Mapping[str, Any]] = {}

    def layout(self, class_type: str) -> NodeLayout | None:
        if class_type not in self._layouts:
            info = self.object_info.get(class_type)
            self._layouts[class_type] = (
                node_layout(class_type, info) if isinstance(info, Mapping) else None
            )
        return self._layouts[class_type]

    # -- graphs -------------------------------------------------------------

    def build(self, data: Mapping[str, Any]) -> Graph:
        if not isinstance(data.get("nodes"), list):
            raise _fail("a UI workflow needs a 'nodes' list")
        root = Graph(id=None, raw=data)
        self._collect_definitions(data)
        subgraphs = {sid: Graph(id=sid, name=str(d.get("name", "")), raw=d)
                     for sid, d in self.definitions.items()}  # fmt: skip
        for graph in subgraphs.values():
            graph.subgraphs = subgraphs
            graph.inputs = _io_slots(graph.raw.get("inputs"))
            graph.outputs = _io_slots(graph.raw.get("outputs"))
        root.subgraphs = subgraphs
        for graph in subgraphs.values():
            self._configure(graph, graph.raw)
        self._configure(root, data)
        return root

    def _collect_definitions(self, data: Mapping[str, Any]) -> None:
        definitions = data.get("definitions")
        if definitions is None:
            return
        if not isinstance(definitions, Mapping):
            raise _fail("'definitions' must be an object")
        for sub in definitions.get("subgraphs") or []:
            if not isinstance(sub, Mapping) or not isinstance(sub.get("id"), str):
                raise _fail("a subgraph definition needs a string 'id'")
            # Nested definitions first: an instance inside a definition needs the
            # configured inner nodes of its own definition to promote widgets.
            self._collect_definitions(sub)
            self.definitions.setdefault(sub["id"], sub)

    def _configure(self, graph: Graph, data: Mapping[str, Any]) -> None:
        graph.links = _read_links(data.get("links"))
        nodes = data.get("nodes") or []
        if not isinstance(nodes, list):
            raise _fail(f"'nodes' of subgraph {graph.id} must be a list")
        for raw in nodes:
            if not isinstance(raw, Mapping):
                raise _fail(f"a node must be an object, not {raw!r}")
            node = self._create(graph, raw)
            if node.id in graph.nodes:
                raise _fail(f"node id {node.id} is used twice", raw)
            graph.nodes[node.id] = node
        for node in graph.nodes.values():
            self._configure_node(node)
        # fixLinkInputSlots: a link's target_slot is the live index of its input.
        for node in graph.nodes.values():
            for index, item in enumerate(node.inputs):
                link = graph.links.get(item.link) if item.link else None
                if link is not None:
                    link.target_slot = index

    # -- nodes --------------------------------------------------------------

    def _create(self, graph: Graph, raw: Mapping[str, Any]) -> Node:
        node_id = raw.get("id")
        if isinstance(node_id, bool) or not isinstance(node_id, (int, str)):
            raise _fail(f"a node id must be a number or a string, not {node_id!r}", raw)
        node_type = raw.get("type")
        if not isinstance(node_type, str):
            raise _fail("a node needs a string 'type'", raw)
        mode = raw.get("mode", 0)
        if isinstance(mode, bool) or not isinstance(mode, int):
            raise _fail(f"'mode' must be an int, not {mode!r}", raw)
        layout = self.layout(node_type)
        if node_type in graph.subgraphs:
            kind = "subgraph"
        elif node_type in VIRTUAL_TYPES:
            kind = "virtual"
        elif layout is not None:
            kind = "comfy"
        else:
            kind = "placeholder"
        title = raw.get("title")
        return Node(
            id=node_id,
            type=node_type,
            mode=mode,
            title=title if isinstance(title, str) else None,
            graph=graph,
            kind=kind,
            layout=layout if kind == "comfy" else None,
            subgraph=graph.subgraphs.get(node_type),
            saved=raw,
            properties=dict(raw.get("properties") or {}),
        )

    def _configure_node(self, node: Node) -> None:
        raw = node.saved
        saved_inputs = raw.get("inputs") or []
        saved_outputs = raw.get("outputs") or []
        if not isinstance(saved_inputs, list) or not isinstance(saved_outputs, list):
            raise _fail("'inputs' and 'outputs' must be lists", raw)
        inputs = []
        for item in saved_inputs:
            if not isinstance(item, Mapping):
                raise _fail(f"an input must be an object, not {item!r}", raw)
            link = item.get("link")
            widget = item.get("widget")
            inputs.append(
                Input(
                    name=str(item.get("name", "")),
                    type=item.get("type"),
                    link=link if isinstance(link, int) and not isinstance(link, bool) else None,
                    widget=str(widget.get("name")) if isinstance(widget, Mapping) else None,
                )
            )
        outputs = [o.get("type") if isinstance(o, Mapping) else None for o in saved_outputs]
        node.output_links = [
            [i for i in (o.get("links") or []) if isinstance(i, int)]
            if isinstance(o, Mapping)
            else []
            for o in saved_outputs
        ]
        values = raw.get("widgets_values")
        if node.kind == "comfy":
            assert node.layout is not None
            self._configure_comfy(node, inputs, outputs, values)
        elif node.kind == "subgraph":
            configure_instance(node, inputs, values)
        else:
            node.inputs = inputs
            node.outputs = outputs
            if node.kind == "placeholder":
                self._placeholder_widgets(node, values)
            elif node.type == "PrimitiveNode":
                value = values[0] if isinstance(values, list) and values else None
                node.widgets = [Widget(WidgetSlot("value", "*", None), value)]
        if not node.title:
            if node.kind == "comfy":
                assert node.layout is not None
                node.title = node.layout.title
            elif node.kind == "subgraph" and node.subgraph is not None:
                node.title = node.subgraph.name
            elif node.kind == "virtual":
                node.title = node.type
            else:
                node.title = None

    def _configure_comfy(
        self, node: Node, saved: list[Input], outputs: list[Any], values: Any
    ) -> None:
        layout = node.layout
        assert layout is not None
        by_name = {i.name: i for i in saved}
        defined = {i.name for i in layout.inputs}
        node.inputs = [
            Input(i.name, i.type, by_name[i.name].link if i.name in by_name else None, i.widget)
            for i in layout.inputs
        ] + [i for i in saved if i.name not in defined]
        node.outputs = list(layout.outputs) + outputs[len(layout.outputs) :]
        while len(node.output_links) < len(node.outputs):
            node.output_links.append([])
        node.widgets = [Widget(slot, slot.default) for slot in layout.widgets]
        if isinstance(values, list):
            values = _migrate_legacy(layout, values)
            persisted = [w for w in node.widgets if w.slot.persisted]
            for widget, value in zip(persisted, values, strict=False):
                widget.value = value
        elif values is not None and not isinstance(values, Mapping):
            raise _fail(f"'widgets_values' must be a list, not {values!r}", node.saved)
        if node.type in ("KSampler", "KSamplerAdvanced"):
            sampler = node.widget("sampler_name")
            if sampler and isinstance(sampler.value, str) and sampler.value.startswith("sample_"):
                sampler.value = sampler.value[7:]
            control = node.widget("control_after_generate")
            if control is not None and isinstance(control.value, bool):
                control.value = "randomize" if control.value else "fixed"

    def _placeholder_widgets(self, node: Node, values: Any) -> None:
        if not isinstance(values, list):
            return
        import json

        for value in values:
            if isinstance(value, (str, bool, int, float)):
                node.widgets.append(Widget(WidgetSlot("UNKNOWN", "placeholder", None), value))
            else:
                text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
                node.widgets.append(Widget(WidgetSlot("UNKNOWN", "placeholder", None), text))


def _migrate_legacy(layout: NodeLayout, values: list[Any]) -> list[Any]:
    """Drop the dummy values pre-1.16 files saved for forceInput inputs (the
    frontend's ``migrateWidgetsValues``, including its pairing by input index)."""
    if not any(force for _, force, _ in layout.legacy_slots):
        return values
    if sum(count for _, _, count in layout.legacy_slots) != len(values):
        return values
    kept = []
    for index, value in enumerate(values):
        force = layout.legacy_slots[index][1] if index < len(layout.legacy_slots) else False
        if not force:
            kept.append(value)
    return kept


def build_graph(data: Mapping[str, Any], object_info: Mapping[str, Any]) -> Graph:
    """Configure a UI workflow against ``object_info`` (see the module doc)."""
    return Builder(object_info).build(data)
