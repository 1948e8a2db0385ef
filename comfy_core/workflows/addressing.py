"""Finding nodes and inputs of a workflow by id, title or class_type.

A reference is tried, in order, as a prompt key (an execution id such as
``"12:5"`` inside subgraphs), as a title (the UI title or ``_meta.title``), and
as a ``class_type``. The first kind that matches decides: one match is the
node, several raise :class:`~comfy_core.errors.AmbiguousNodeError` listing
them; none raises :class:`~comfy_core.errors.NodeNotFoundError` with the close
matches :mod:`difflib` finds among ids, titles and class types.

An input address is ``"<node reference>.<input>"``. Titles and input names
may both hold dots (``"SD 1.5 Loader"``, an autogrow input ``"group.text1"``),
so every split is tried, left to right, and the first whose node part
resolves and whose input part the node has wins.
"""

from __future__ import annotations

import difflib
from collections.abc import Collection, Iterable, Mapping
from typing import Any

from comfy_core.errors import (
    AmbiguousNodeError,
    InputNotFoundError,
    InvalidArgumentType,
    NodeNotFoundError,
)
from comfy_core.workflows.model import NodeInfo

__all__ = ["describe_node", "find_node", "match_nodes", "resolve_input"]


def _titles(info: NodeInfo, entry: Any) -> set[str]:
    titles = {info.title} if info.title else set()
    meta = entry.get("_meta") if isinstance(entry, Mapping) else None
    title = meta.get("title") if isinstance(meta, Mapping) else None
    if isinstance(title, str):
        titles.add(title)
    return titles


def describe_node(info: NodeInfo) -> str:
    """``node 3 'KSampler' (KSampler)``: id, title and class_type, for messages."""
    title = f" {info.title!r}" if info.title else ""
    kind = f" ({info.class_type})" if info.class_type and info.class_type != info.title else ""
    return f"node {info.id}{title}{kind}"


def match_nodes(
    api: Mapping[str, Any],
    nodes: Mapping[str, NodeInfo],
    *,
    class_type: str | None = None,
    title: str | None = None,
) -> tuple[NodeInfo, ...]:
    """The nodes whose class_type and title (UI or ``_meta``) are those given, in prompt order."""
    return tuple(
        info
        for key, info in nodes.items()
        if (class_type is None or info.class_type == class_type)
        and (title is None or title in _titles(info, api.get(key)))
    )


def _candidates(found: Iterable[NodeInfo]) -> tuple[tuple[str, str | None, str | None], ...]:
    return tuple((n.id, n.title, n.class_type) for n in found)


def find_node(api: Mapping[str, Any], nodes: Mapping[str, NodeInfo], ref: str) -> NodeInfo:
    """The one node ``ref`` names (see the module doc)."""
    if not isinstance(ref, str):
        raise InvalidArgumentType(f"a node reference is a str, not {type(ref).__name__}")
    if ref in nodes:
        return nodes[ref]
    for kind, found in (
        ("title", match_nodes(api, nodes, title=ref)),
        ("class_type", match_nodes(api, nodes, class_type=ref)),
    ):
        if len(found) == 1:
            return found[0]
        if found:
            listed = "; ".join(describe_node(n) for n in found)
            raise AmbiguousNodeError(
                f"{len(found)} nodes have the {kind} {ref!r}: {listed}; "
                "use a node id, or give one of them a title of its own",
                reference=ref,
                candidates=_candidates(found),
            )
    known: dict[str, None] = dict.fromkeys(nodes)
    for key, info in nodes.items():
        known.update(dict.fromkeys(sorted(_titles(info, api.get(key)))))
        if info.class_type:
            known[info.class_type] = None
    close = tuple(difflib.get_close_matches(ref, list(known), n=5, cutoff=0.6))
    hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
    raise NodeNotFoundError(
        f"no node has the id, title or class_type {ref!r}{hint}",
        reference=ref,
        suggestions=close,
    )


def _try(api: Mapping[str, Any], nodes: Mapping[str, NodeInfo], ref: str) -> NodeInfo | None:
    try:
        return find_node(api, nodes, ref)
    except NodeNotFoundError:
        return None


def resolve_input(
    api: Mapping[str, Any],
    nodes: Mapping[str, NodeInfo],
    address: str,
    *,
    declared: Mapping[str, Collection[str]] | None = None,
) -> tuple[NodeInfo, str]:
    """The node and input an address ``"<node>.<input>"`` names.

    An input exists when the node's prompt entry has it, or when ``declared``
    (input names by class_type, from ``object_info``) lists it for the node's class.
    """
    if not isinstance(address, str) or "." not in address:
        raise NodeNotFoundError(
            f"an input address is '<node id, title or class_type>.<input>', not {address!r}",
            reference=str(address),
            suggestions=(),
        )
    splits = [i for i, c in enumerate(address) if c == "."]
    resolved: list[tuple[NodeInfo, str]] = []
    ambiguous: AmbiguousNodeError | None = None
    for i in splits:
        ref, name = address[:i], address[i + 1 :]
        try:
            info = _try(api, nodes, ref)
        except AmbiguousNodeError as exc:
            ambiguous = ambiguous or exc
            continue
        if info is None:
            continue
        if name in input_names(api, info, declared):
            return info, name
        resolved.append((info, name))
    if resolved:
        info, name = resolved[-1]  # the longest node reference: "KSampler.sed" -> KSampler
        have = input_names(api, info, declared)
        close = difflib.get_close_matches(name, list(have), n=3, cutoff=0.6)
        hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        raise InputNotFoundError(
            f"{describe_node(info)} has no input {name!r}{hint} "
            f"(its inputs: {', '.join(have) or 'none'})",
            inputs=tuple(have),
            node_id=info.id,
            title=info.title,
            node_type=info.class_type,
            input_name=name,
            parameter=address,
        )
    if ambiguous is not None:
        raise ambiguous
    find_node(api, nodes, address[: splits[-1]])  # raises NodeNotFoundError with suggestions
    raise AssertionError("unreachable")  # pragma: no cover


def input_names(
    api: Mapping[str, Any], info: NodeInfo, declared: Mapping[str, Collection[str]] | None
) -> tuple[str, ...]:
    """The node's inputs: those of its prompt entry, then those its class declares."""
    entry = api.get(info.id)
    inputs = entry.get("inputs") if isinstance(entry, Mapping) else None
    names = dict.fromkeys(str(k) for k in inputs) if isinstance(inputs, Mapping) else {}
    if declared is not None and info.class_type is not None and info.class_type in declared:
        names.update(dict.fromkeys(declared[info.class_type]))
    return tuple(names)
