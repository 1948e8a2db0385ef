"""Subgraph instances: how an instance binds to its definition.

An instance's inputs are its definition's input slots, each bound by name to
the saved input (so its outer link); its outputs are the definition's output
slots. An input whose slot feeds a widget input inside gets a *promoted*
widget: a copy of that inner widget, whose value the instance's
``widgets_values`` override by position and legacy ``properties.proxyWidgets``
``["-1", name]`` entries by name. Inner widgets that are not promoted are
shared by every instance. Frontend 1.32.9 does no id renumbering: inner ids
only need to be unique within their definition, execution ids ``"5:3"`` keep
them as they are.
"""

from __future__ import annotations

from typing import Any

from comfy_core.workflows.live import Input, Node, Widget
from comfy_core.workflows.nodedefs import WidgetSlot

__all__ = ["configure_instance"]


def configure_instance(node: Node, saved: list[Input], values: Any) -> None:
    """Bind a subgraph instance: its inputs (the definition's slots, matched to the
    saved inputs by name), its outputs, and its promoted widgets with their values
    (by position, then the legacy ``proxyWidgets`` entries by name)."""
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
    for item in node.inputs:
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
            # The copy takes the instance input's name and the inner widget's value.
            node.widgets.append(Widget(_renamed(inner.slot, item.name), inner.value))
            item.widget = item.name
            break
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
            str(e[1]) for e in proxies if isinstance(e, list) and len(e) == 2 and str(e[0]) == "-1"
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
