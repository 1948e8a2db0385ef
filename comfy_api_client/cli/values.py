"""``--set NAME=VALUE`` and ``--seed``: values parsed by each parameter's declared type."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import click

from comfy_core.errors import InvalidArgument
from comfy_core.workflows import Template, Workflow, coerce

__all__ = [
    "batch",
    "is_template",
    "parse_assignments",
    "parse_value",
    "render_template",
    "seed_policy",
]

SEED_MODES = ("fixed", "increment", "decrement", "randomize")


def parse_value(text: str, kind: str) -> Any:
    """``text`` as a value of ``kind`` (INT, FLOAT, BOOLEAN; anything else stays a string)."""
    try:
        return coerce(text, kind)
    except InvalidArgument as exc:
        raise click.BadParameter(str(exc), param_hint="--set") from None


def parse_assignments(
    workflow: Workflow, assignments: tuple[str, ...], object_info: Mapping[str, Any]
) -> Workflow:
    """``workflow`` with each ``NAME=VALUE`` set; NAME is a parameter name
    (``Title.input``) or an address (``id.input``). The workflow's own errors name
    the node and its inputs when NAME matches nothing."""
    if not assignments:
        return workflow
    params = workflow.parameters(object_info)
    by_name = {p.name: p for p in params} | {p.address: p for p in params}
    values: dict[str, Any] = {}
    for assignment in assignments:
        name, sep, text = assignment.partition("=")
        if not sep or not name:
            raise click.BadParameter(f"{assignment!r} is not NAME=VALUE", param_hint="--set")
        param = by_name.get(name)
        if param is None:  # let the workflow's addressing explain what is there
            values[name] = _guess(text)
        else:
            values[name] = parse_value(text, param.type)
    return workflow.set(values, object_info=object_info)


def is_template(path: Path) -> bool:
    """A template manifest (``name.template.json``) rather than a workflow file."""
    return path.name.endswith(".template.json")


def render_template(
    path: Path, assignments: tuple[str, ...], object_info: Mapping[str, Any]
) -> tuple[Workflow, tuple[str, ...]]:
    """The template at ``path`` rendered with the ``--set`` values that name its
    parameters (the others keep their current value); the assignments left over,
    which name inputs as ``Title.input``."""
    template = Template.load(path, object_info)
    # A placeholder fills text; a declared parameter takes its first input's type.
    kinds = {
        name: "STRING" if name in template.placeholders else template.targets(name)[0].type
        for name in template.names
    }
    values: dict[str, Any] = template.defaults()
    rest = []
    for assignment in assignments:
        name, sep, text = assignment.partition("=")
        if sep and name in kinds:
            values[name] = parse_value(text, kinds[name])
        else:
            rest.append(assignment)
    return template.render(values), tuple(rest)


def _guess(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


def seed_policy(seed: str | None) -> tuple[str, int | None] | None:
    """``--seed``: None, a mode for every seed input, or a first seed to count up from."""
    if seed is None:
        return None
    if seed in SEED_MODES:
        return seed, None
    try:
        return "increment", int(seed, 0)
    except ValueError:
        modes = ", ".join(SEED_MODES)
        raise click.BadParameter(f"use {modes} or an integer", param_hint="--seed") from None


def batch(
    workflow: Workflow,
    count: int,
    policy: tuple[str, int | None] | None,
    object_info: Mapping[str, Any],
) -> list[Workflow]:
    """``count`` prompts whose seeds follow the UI's controls, or ``policy``."""
    if policy is None:
        return list(workflow.batch(count, object_info=object_info))
    mode, first = policy
    if first is not None:
        seeds = {p.name: first for p in workflow.parameters(object_info) if p.seed}
        if not seeds:
            raise click.BadParameter("the workflow has no seed input", param_hint="--seed")
        workflow = workflow.set(seeds, object_info=object_info)
    return list(workflow.batch(count, object_info=object_info, policy=mode))
