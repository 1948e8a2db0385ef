"""Seeds across a batch: n workflows whose seeds move as the UI's controls say.

Each seed input (see :mod:`~comfy_core.workflows.params`) follows a mode:
the caller's ``policy`` when it names one (a mode for every seed, or a mode
per parameter), else the ``control_after_generate`` mode the UI workflow had,
else ``"randomize"`` (what the frontend gives a new sampler node).

* ``fixed``: the current value in every item;
* ``increment`` / ``decrement``: the current value, then one ``step`` up or
  down per item, held at the input's ``max``/``min`` (as the frontend does);
* ``randomize``: a draw for every item, the first included, within the
  input's range capped to +-2**50 and on its ``step``, as the frontend draws.

The frontend applies a control after queueing, so its first prompt of a
randomized seed repeats the saved value; here the first item is drawn too,
because a value does not change between two batches, and a repeated prompt
is answered by the server's cache without running. Randomizing needs the
range, so it needs ``object_info``. ``rng`` (a :class:`random.Random` or an
int seed) makes a batch reproducible.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from comfy_core.errors import InvalidArgument, InvalidArgumentType, ParameterError
from comfy_core.workflows.addressing import resolve_input
from comfy_core.workflows.editing import declared_inputs, replaced
from comfy_core.workflows.params import Parameter, parameters

if TYPE_CHECKING:
    from comfy_core.workflows.model import Workflow

__all__ = ["SEED_MODES", "SeedPolicy", "batch"]

SEED_MODES = ("fixed", "increment", "decrement", "randomize")
FRONTEND_RANDOM_LIMIT = 1125899906842624  # 2**50: the frontend's cap on a random range
SeedPolicy = str | Mapping[str, str] | None


def _mode(mode: Any, where: str) -> str:
    if mode not in SEED_MODES:
        raise ParameterError(
            f"{where}: seed mode {mode!r} is not one of {', '.join(SEED_MODES)}",
            allowed=", ".join(SEED_MODES),
            parameter=where,
        )
    return str(mode)


def seed_modes(
    workflow: Workflow,
    object_info: Mapping[str, Any] | None,
    policy: SeedPolicy,
    aliases: Mapping[str, tuple[str, ...]] | None = None,
) -> list[tuple[Parameter, str]]:
    """Each input the batch varies, with its mode. ``aliases`` maps a name (a
    template parameter) to the addresses it stands for, for a per-name policy."""
    params = parameters(workflow, object_info)
    by_address = {(p.node_id, p.input): p for p in params}
    chosen: dict[tuple[str, str], str] = {}
    if isinstance(policy, str):
        chosen = {(p.node_id, p.input): _mode(policy, "policy") for p in params if p.seed}
    elif isinstance(policy, Mapping):
        api = workflow.to_api()
        names = {p.name: (p.node_id, p.input) for p in params}
        declared = declared_inputs(object_info)
        for key, mode in policy.items():
            addresses = list(aliases[key]) if aliases and key in aliases else [key]
            for address in addresses:
                if address in names:
                    target = names[address]
                else:
                    info, name = resolve_input(api, workflow.nodes, address, declared=declared)
                    target = (info.id, name)
                param = by_address.get(target)
                if param is None or param.type != "INT" or isinstance(param.value, bool):
                    raise ParameterError(
                        f"policy {key!r}: node {target[0]} input {target[1]!r} "
                        "does not hold an INT value, so it cannot be varied",
                        allowed="INT inputs",
                        node_id=target[0],
                        input_name=target[1],
                        parameter=key,
                    )
                chosen[target] = _mode(mode, f"policy {key!r}")
    elif policy is not None:
        raise InvalidArgumentType(
            f"policy is a mode, a mapping or None, not {type(policy).__name__}"
        )
    result = []
    for param in params:
        slot = (param.node_id, param.input)
        if slot in chosen:
            result.append((param, chosen[slot]))
        elif param.seed:
            mode = param.control if param.control is not None else "randomize"
            result.append((param, mode if mode in SEED_MODES else "fixed"))
    return result


def _step(param: Parameter) -> int:
    step = param.step
    return int(step) if isinstance(step, (int, float)) and step >= 1 else 1


def _draw(param: Parameter, rng: random.Random) -> int:
    if param.min is None or param.max is None:
        raise ParameterError(
            f"randomizing {param.name!r} (node {param.node_id}, input {param.input!r}) "
            "needs its range: pass object_info",
            allowed="a range from object_info",
            node_id=param.node_id,
            title=param.title,
            node_type=param.class_type,
            input_name=param.input,
            parameter=param.name,
        )
    low = max(int(param.min), -FRONTEND_RANDOM_LIMIT)
    high = min(int(param.max), FRONTEND_RANDOM_LIMIT)
    step = _step(param)
    count = max((high - low) // step, 1)
    return low + rng.randrange(count) * step


def _next(param: Parameter, mode: str, value: int, rng: random.Random) -> int:
    if mode == "increment":
        value += _step(param)
        return value if param.max is None else min(value, int(param.max))
    if mode == "decrement":
        value -= _step(param)
        return value if param.min is None else max(value, int(param.min))
    if mode == "randomize":
        return _draw(param, rng)
    return value


def batch(
    workflow: Workflow,
    n: int,
    *,
    object_info: Mapping[str, Any] | None = None,
    rng: random.Random | int | None = None,
    policy: SeedPolicy = None,
    aliases: Mapping[str, tuple[str, ...]] | None = None,
) -> Iterator[Workflow]:
    """``n`` workflows whose seeds follow their modes (see the module doc)."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise InvalidArgument(f"a batch size is an int >= 0, not {n!r}")
    if not isinstance(rng, random.Random):
        rng = random.Random(rng)
    modes = seed_modes(workflow, object_info, policy, aliases)
    for p, mode in modes:  # fail here, not in the middle of a batch
        if mode == "randomize":
            _draw(p, random.Random(0))
    return _items(workflow, n, modes, rng)


def _items(
    workflow: Workflow, n: int, modes: list[tuple[Parameter, str]], rng: random.Random
) -> Iterator[Workflow]:
    current = {(p.node_id, p.input): int(p.value) for p, _ in modes}
    for index in range(n):
        if index:
            for p, mode in modes:
                if mode in ("increment", "decrement"):
                    key = (p.node_id, p.input)
                    current[key] = _next(p, mode, current[key], rng)
        for p, mode in modes:
            if mode == "randomize":
                current[(p.node_id, p.input)] = _draw(p, rng)
        yield replaced(workflow, dict(current))
