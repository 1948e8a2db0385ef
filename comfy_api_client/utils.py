"""Workflow helpers kept from the original package, with the same behaviour.

``read_json`` loads a workflow file; ``replace_dict_values`` sets a value at a
dotted key path wherever it occurs in a nested dict; ``replace_noise_seeds`` and
``randomize_noise_seeds`` set every sampler seed (``inputs.seed`` and
``inputs.noise_seed``) of a workflow; ``parse_url`` reads a server URL whose
scheme may be omitted.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any
from urllib.parse import ParseResult, urlparse

__all__ = [
    "NOISE_KEYS",
    "PathLike",
    "parse_url",
    "randomize_noise_seeds",
    "read_json",
    "replace_dict_values",
    "replace_noise_seeds",
]

PathLike = str | Path
NOISE_KEYS = ["seed", "noise_seed"]


def _replace_recursively(
    dictionary: Any, target_key: list[str], new_value: Any, start_at_root: bool, copy: bool
) -> Any:
    if not target_key:
        return new_value
    if not isinstance(dictionary, dict):
        return dictionary
    if copy:
        dictionary = dict(dictionary)
    for key in list(dictionary):
        if key == target_key[0]:
            dictionary[key] = _replace_recursively(
                dictionary[key], target_key[1:], new_value, start_at_root=True, copy=copy
            )
        elif not start_at_root:
            dictionary[key] = _replace_recursively(
                dictionary[key], target_key, new_value, start_at_root=start_at_root, copy=copy
            )
    return dictionary


def replace_dict_values(
    dictionary: dict[str, Any],
    key: str | list[str],
    new_value: Any,
    start_at_root: bool = False,
    copy: bool = False,
) -> dict[str, Any]:
    """Set ``new_value`` at the key path ``key`` ("a.b" or ["a", "b"]).

    With ``start_at_root`` False the path may start at any depth; with ``copy``
    the input is left untouched and changed dicts are copied.
    """
    path = key.split(".") if isinstance(key, str) else list(key)
    result: dict[str, Any] = _replace_recursively(
        dictionary, path, new_value, start_at_root=start_at_root, copy=copy
    )
    return result


def replace_noise_seeds(
    workflow: dict[str, Any], seed: int, noise_keys: list[str] | None = None
) -> dict[str, Any]:
    """A copy of ``workflow`` with every ``inputs.<noise key>`` set to ``seed``."""
    for noise_key in NOISE_KEYS if noise_keys is None else noise_keys:
        workflow = replace_dict_values(
            workflow, ["inputs", noise_key], seed, copy=True, start_at_root=False
        )
    return workflow


def randomize_noise_seeds(
    workflow: dict[str, Any], noise_keys: list[str] | None = None
) -> dict[str, Any]:
    """A copy of ``workflow`` with every noise seed set to one random 32-bit value."""
    seed = random.randint(0, 2**32 - 1)
    return replace_noise_seeds(workflow, seed, noise_keys=noise_keys)


def parse_url(url: str, default_scheme: str = "http") -> ParseResult:
    """``urlparse`` that reads ``host:port`` as ``<default_scheme>://host:port``."""
    parsed = urlparse(url)
    if not parsed.netloc:
        return parse_url(f"{default_scheme}://{url}")
    return parsed


def read_json(path: PathLike) -> Any:
    """The JSON document in the file at ``path``."""
    with Path(path).open("r", encoding="utf-8") as f:
        return json.load(f)
