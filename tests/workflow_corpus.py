"""Comparing API prompts with the frontend's exports, as WORKFLOW_FORMATS §10 says.

JSON equality after parsing, numbers compared as IEEE doubles (the frontend
rounds integers above 2**53), STRING inputs with ``dynamicPrompts`` masked when
they hold ``{``, ``//`` or ``/*`` (the frontend picks choices at random) and
``%date:...%`` results in ``filename_prefix`` masked. Differences are reported
class_type and key sets first, values after.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

CORPUS = Path(__file__).resolve().parent / "workflows" / "corpus"
MASK = "<masked>"


def object_info() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((CORPUS / "object_info.json").read_text(encoding="utf-8"))
    return data


def cases() -> list[str]:
    """Every corpus entry, as "templates/NAME" or "cases/NAME"."""
    names = []
    for folder in ("templates", "cases"):
        for path in sorted((CORPUS / folder).glob("*.ui.json")):
            names.append(f"{folder}/{path.name.removesuffix('.ui.json')}")
    return names


def read(name: str, kind: str) -> Any:
    return json.loads((CORPUS / f"{name}.{kind}.json").read_text(encoding="utf-8"))


def _number(value: Any) -> Any:
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, list):
        return [_number(v) for v in value]
    if isinstance(value, Mapping):
        return {k: _number(v) for k, v in value.items()}
    return value


def _spec_options(info: Mapping[str, Any], class_type: Any, name: str) -> Mapping[str, Any]:
    entry = info.get(class_type) if isinstance(class_type, str) else None
    sections = entry.get("input", {}) if isinstance(entry, Mapping) else {}
    for section in ("required", "optional"):
        spec = (sections.get(section) or {}).get(name)
        if isinstance(spec, list) and len(spec) > 1 and isinstance(spec[1], Mapping):
            return spec[1]
    return {}


def masked(prompt: Mapping[str, Any], info: Mapping[str, Any]) -> dict[str, Any]:
    """``prompt`` with the random and time-dependent values masked, numbers as floats."""
    out: dict[str, Any] = {}
    for key, entry in prompt.items():
        entry = json.loads(json.dumps(entry))
        inputs = entry.get("inputs") if isinstance(entry, dict) else None
        for name, value in list((inputs or {}).items()):
            if not isinstance(value, str):
                continue
            options = _spec_options(info, entry.get("class_type"), name)
            if (options.get("dynamicPrompts") and any(t in value for t in ("{", "//", "/*"))) or (
                name == "filename_prefix" and ("%date:" in value or _has_year(value))
            ):
                inputs[name] = MASK  # type: ignore[index]
        out[key] = _number(entry)
    return out


def _has_year(value: str) -> bool:
    return any(str(year) in value for year in range(2024, 2036))


def differences(expected: Any, got: Any, info: Mapping[str, Any]) -> list[str]:
    """What differs between two exports (empty: equal). Errors compare as errors."""
    if isinstance(expected, Mapping) and "__error__" in expected:
        if isinstance(got, Mapping) and "__error__" in got:
            return []
        return [f"the frontend failed ({expected['__error__']}) but the converter did not"]
    if isinstance(got, Mapping) and "__error__" in got:
        return [f"the converter failed: {got['__error__']}"]
    a, b = masked(expected, info), masked(got, info)
    found = []
    if set(a) != set(b):
        found.append(f"keys: missing {sorted(set(a) - set(b))}, extra {sorted(set(b) - set(a))}")
    for key in sorted(set(a) & set(b)):
        ea, eb = a[key], b[key]
        if ea.get("class_type") != eb.get("class_type"):
            found.append(f"{key}: class_type {ea.get('class_type')!r} != {eb.get('class_type')!r}")
        elif set(ea.get("inputs", {})) != set(eb.get("inputs", {})):
            found.append(f"{key}: input names {sorted(ea['inputs'])} != {sorted(eb['inputs'])}")
    for key in sorted(set(a) & set(b)):
        if a[key] != b[key] and not any(f.startswith(f"{key}:") for f in found):
            found.append(f"{key}: {json.dumps(a[key])[:300]} != {json.dumps(b[key])[:300]}")
    return found
