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
from dataclasses import dataclass, field
from typing import Any

from comfy_core.errors import WorkflowFormatError
from comfy_core.workflows.nodedefs import NodeLayout, WidgetSlot, node_layout

__all__ = ["VIRTUAL_TYPES", "Graph", "Input", "Link", "Node", "Widget", "build_graph"]

# Node types the frontend implements in JavaScript only: they never reach the
# prompt. Reroute/PrimitiveNode/Note/MarkdownNote are core; SetNode/GetNode come
# from KJNodes, rgthree's Reroute from rgthree.
VIRTUAL_TYPES = frozenset({"Reroute", "PrimitiveNode", "Note", "MarkdownNote"})
SET_GET_TYPES = frozenset({"SetNode", "GetNode"})
SUBGRAPH_INPUT_ID = -10
SUBGRAPH_OUTPUT_ID = -20


@dataclass(slots=True)
class Link:
    id: int
    origin_id: Any
    origin_slot: int
    target_id: Any
    target_slot: int
    type: Any


@dataclass(slots=True)
class Input:
    name: str
    type: Any
    link: int | None = None
    widget: str | None = None


@dataclass(slots=True)
class Widget:
    slot: WidgetSlot
    value: Any

    @property
    def name(self) -> str:
        return self.slot.name


@dataclass(slots=True, eq=False)
class Node:
    """One configured node of a graph (root or subgraph definition)."""

    id: Any
    type: str
    mode: int
    title: str | None
    graph: Graph
    kind: str  # "comfy", "virtual", "subgraph", "placeholder"
    inputs: list[Input] = field(default_factory=list)
    outputs: list[Any] = field(default_factory=list)
    output_links: list[list[int]] = field(default_factory=list)
    widgets: list[Widget] = field(default_factory=list)
    properties: dict[str, Any] = field(default_factory=dict)
    layout: NodeLayout | None = None
    subgraph: Graph | None = None
    saved: Mapping[str, Any] = field(default_factory=dict)

    @property
    def is_virtual(self) -> bool:
        return self.kind in ("virtual", "subgraph")

    @property
    def class_type(self) -> str | None:
        return self.layout.class_type if self.layout is not None else None

    def widget(self, name: str) -> Widget | None:
        for widget in self.widgets:
            if widget.name == name:
                return widget
        return None

    def describe(self) -> str:
        title = f" ({self.title})" if self.title else ""
        where = f" in subgraph {self.graph.name or self.graph.id}" if self.graph.id else ""
        return f"node {self.id}{title} of type {self.type!r}{where}"


@dataclass(slots=True, eq=False)
class Graph:
    """The root graph (``id`` None) or one subgraph definition."""

    id: str | None
    name: str = ""
    nodes: dict[Any, Node] = field(default_factory=dict)
    links: dict[int, Link] = field(default_factory=dict)
    # Subgraph IO: (name, type, link ids) per slot.
    inputs: list[tuple[str, Any, list[int]]] = field(default_factory=list)
    outputs: list[tuple[str, Any, list[int]]] = field(default_factory=list)
    subgraphs: dict[str, Graph] = field(default_factory=dict)
    raw: Mapping[str, Any] = field(default_factory=dict)


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


def _read_links(raw: Any, *, arrays: bool) -> dict[int, Link]:
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
    del arrays
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
        is_root = graph.id is None
        graph.links = _read_links(data.get("links"), arrays=is_root)
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
            self._configure_instance(node, inputs, outputs, values)
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

    def _configure_instance(
        self, node: Node, saved: list[Input], outputs: list[Any], values: Any
    ) -> None:
        sub = node.subgraph
        assert sub is not None
        # The definition's slots, each bound to the saved input of its name; extras after.
        by_name = {i.name: i for i in saved}
        defined = {name for name, _, _ in sub.inputs}
        node.inputs = [
            Input(name, kind, by_name[name].link if name in by_name else None,
                  by_name[name].widget if name in by_name else None)
            for name, kind, _ in sub.inputs
        ] + [i for i in saved if i.name not in defined]  # fmt: skip
        node.outputs = [kind for _, kind, _ in sub.outputs]
        # Promoted widgets: for each instance input, the first inner widget its slot feeds.
        for index, item in enumerate(node.inputs):
            slot = next((s for s in sub.inputs if s[0] == item.name), None)
            if slot is None:
                continue
            for link_id in slot[2]:
                link = sub.links.get(link_id)
                target = sub.nodes.get(link.target_id) if link else None
                if link is None or target is None:
                    continue
                target_input = (
                    target.inputs[link.target_slot]
                    if 0 <= link.target_slot < len(target.inputs)
                    else None
                )
                if target_input is None or target_input.widget is None:
                    continue
                inner = target.widget(target_input.widget)
                if inner is None:
                    continue
                node.widgets.append(Widget(inner.slot, inner.value))
                item.widget = item.name
                node.widgets[-1] = Widget(_renamed(inner.slot, item.name), inner.value)
                break
            del index
        if isinstance(values, list):
            persisted = [w for w in node.widgets if w.slot.persisted]
            for widget, value in zip(persisted, values, strict=False):
                widget.value = value
        proxies = node.properties.get("proxyWidgets")
        if isinstance(proxies, list) and isinstance(values, list):
            for index, entry in enumerate(proxies):
                if not (isinstance(entry, list) and len(entry) == 2 and str(entry[0]) == "-1"):
                    continue
                if index < len(values) and values[index] is not None:
                    promoted = node.widget(str(entry[1]))
                    if promoted is not None:
                        promoted.value = values[index]
            names = {str(e[1]) for e in proxies if isinstance(e, list) and len(e) == 2}
            minus_one = {
                str(e[1])
                for e in proxies
                if isinstance(e, list) and len(e) == 2 and str(e[0]) == "-1"
            }
            node.widgets = [w for w in node.widgets if w.name not in names or w.name in minus_one]


def _renamed(slot: WidgetSlot, name: str) -> WidgetSlot:
    return WidgetSlot(
        name,
        slot.type,
        slot.default,
        persisted=slot.persisted,
        in_prompt=slot.in_prompt,
        control_of=slot.control_of,
        dynamic_prompts=slot.dynamic_prompts,
        text_replacements=slot.text_replacements,
        options=slot.options,
    )


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
