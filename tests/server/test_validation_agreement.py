"""validate_prompt() against the real server's POST /prompt verdict, case by case.

Model-free workflows and systematic mutations of them (every required input
dropped, numbers just past their bounds, wrong value types, combo values not
in the list, broken and mistyped links, unknown classes, extra inputs, no
output, outputs broken one at a time) go to the server through the SDK's own
request builder and reader (``routes.post_prompt`` / ``read_prompt_response``,
so check_workflow is bypassed on purpose), and the verdict is compared with
the local one: refused or not, the top-level type, the set of (node, input,
error type), and every error's message, details and extra_info but the
server's traceback. ``dependent_outputs`` is only reported: the server's
list depends on its hash seed (see comfy_core.validation).

Never sent: nodes without ``inputs``, dangling links in undeclared inputs
and deeply nested values (all stop the 0.3.75 worker for good; see
comfy_core.workflow). Accepted
prompts are tiny, are deleted from the queue at once, and their history
entries are removed at the end. ``-s`` prints agreement per error type.
"""

from __future__ import annotations

import asyncio
import copy
import io
import json
import math
import uuid
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from PIL import Image

from comfy_api_client import create_client
from comfy_core import routes
from comfy_core.errors import HTTPStatusError, NodeError, WorkflowValidationError
from comfy_core.http import Request
from comfy_core.validation import validate_prompt
from comfy_core.workflow import MAX_NESTING, nesting_depth

Prompt = dict[str, Any]
CLIENT_ID = uuid.uuid4().hex  # no socket listens: the server drops the prompts' events
IMAGE_NAME = f"agree_{uuid.uuid4().hex[:12]}.png"


def node(class_type: str, **inputs: Any) -> dict[str, Any]:
    return {"class_type": class_type, "inputs": inputs}


def base_graphs(image: str) -> dict[str, Prompt]:
    """Valid graphs, each node with one consumer (so a failing node's report is deterministic)."""
    return {
        "image_chain": {
            "1": node("EmptyImage", width=8, height=8, batch_size=1, color=0),
            "2": node("ImageInvert", image=["1", 0]),
            "3": node(
                "ImageScale",
                image=["2", 0],
                upscale_method="nearest-exact",
                width=8,
                height=8,
                crop="disabled",
            ),
            "4": node("ImageScaleBy", image=["3", 0], upscale_method="bilinear", scale_by=0.5),
            "5": node("ImageBlur", image=["4", 0], blur_radius=1, sigma=0.5),
            "6": node("SaveImage", images=["5", 0], filename_prefix="agree"),
        },
        "mask": {
            "1": node("SolidMask", value=0.5, width=8, height=8),
            "2": node("MaskToImage", mask=["1", 0]),
            "3": node("PreviewImage", images=["2", 0]),
        },
        "latent": {
            "1": node("EmptyLatentImage", width=16, height=16, batch_size=1),
            "2": node(
                "LatentUpscale",
                samples=["1", 0],
                upscale_method="nearest-exact",
                width=16,
                height=16,
                crop="disabled",
            ),
            "3": node("SaveLatent", samples=["2", 0], filename_prefix="agree/latent"),
        },
        "load": {
            "1": node("LoadImage", image=image),
            "2": node("ImageToMask", image=["1", 0], channel="red"),
            "3": node("MaskToImage", mask=["2", 0]),
            "4": node("PreviewImage", images=["3", 0]),
        },
        "load_mask": {
            "1": node("LoadImageMask", image=image, channel="alpha"),
            "2": node("MaskToImage", mask=["1", 0]),
            "3": node("PreviewImage", images=["2", 0]),
        },
        "v3": {
            "1": node("EmptyImage", width=8, height=8, batch_size=1, color=255),
            "2": node("EmptyImage", width=8, height=8, batch_size=1, color=65280),
            "3": node(
                "ImageBlend",
                image1=["1", 0],
                image2=["2", 0],
                blend_factor=0.5,
                blend_mode="normal",
            ),
            "4": node("ImageSharpen", image=["3", 0], sharpen_radius=1, sigma=0.5, alpha=0.5),
            "5": node("ImageQuantize", image=["4", 0], colors=8, dither="none"),
            "6": node("PreviewImage", images=["5", 0]),
        },
        "primitives": {
            "1": node("PrimitiveInt", value=8),
            "2": node("PrimitiveFloat", value=0.5),
            "3": node("SolidMask", value=["2", 0], width=["1", 0], height=8),
            "4": node("MaskToImage", mask=["3", 0]),
            "5": node("PreviewImage", images=["4", 0]),
            "6": node("PrimitiveString", value="a"),
            "7": node("StringConcatenate", string_a=["6", 0], string_b="b", delimiter="-"),
            "8": node("CaseConverter", string=["7", 0], mode="UPPERCASE"),
            "9": node("PreviewAny", source=["8", 0]),
        },
        "composite": {
            "1": node("EmptyImage", width=8, height=8, batch_size=1, color=0),
            "2": node("EmptyImage", width=4, height=4, batch_size=1, color=16777215),
            "3": node("SolidMask", value=1.0, width=4, height=4),
            "4": node("PrimitiveBoolean", value=False),
            "5": node(
                "ImageCompositeMasked",
                destination=["1", 0],
                source=["2", 0],
                x=0,
                y=0,
                resize_source=["4", 0],
                mask=["3", 0],
            ),
            "6": node("SaveImage", images=["5", 0], filename_prefix="agree"),
        },
        "two_outputs": {
            "1": node("EmptyImage", width=8, height=8, batch_size=1, color=0),
            "2": node("SaveImage", images=["1", 0], filename_prefix="agree"),
            "3": node("SolidMask", value=0.5, width=8, height=8),
            "4": node("MaskToImage", mask=["3", 0]),
            "5": node("PreviewImage", images=["4", 0]),
            "6": node("EmptyLatentImage", width=16, height=16, batch_size=1),
            "7": node("SaveLatent", samples=["6", 0], filename_prefix="agree/latent"),
        },
    }


@dataclass
class Case:
    name: str
    prompt: Prompt
    targets: Sequence[str] | None = None


def _spec(info: Mapping[str, Any], name: str) -> tuple[Any, Mapping[str, Any]]:
    for section in ("required", "optional"):
        entries = info["input"].get(section) or {}
        if name in entries:
            spec = entries[name]
            return spec[0], (spec[1] if len(spec) > 1 else {})
    raise KeyError(name)


def _small(kind: str, options: Mapping[str, Any]) -> Any:
    """A cheap valid value: accepted mutations really run."""
    lo, hi = options.get("min", -math.inf), options.get("max", math.inf)
    value = 8 if kind == "INT" else 0.5
    return min(max(value, lo), hi)


def value_mutations(kind: Any, options: Mapping[str, Any]) -> Iterator[tuple[str, Any]]:
    if kind in ("INT", "FLOAT"):
        step = 1 if kind == "INT" else 0.001
        if "min" in options:
            yield "below_min", options["min"] - step
        if "max" in options:
            yield "above_max", options["max"] + step
        small = _small(kind, options)
        yield "string", "wide"
        yield "numeric_string", str(small)
        yield "null", None
        yield "bool", True
        yield "dict", {"a": 1}
        yield "wrapped", {"__value__": small}
        yield "wrapped_list", {"__value__": [1, 2]}
        yield "list1", [small]
        yield "list3", [1, 2, 3]
        yield "nan", math.nan
        if kind == "INT":
            yield "float", small + 0.5
            yield "inf", math.inf
            yield "float_string", "8.5"
    elif kind == "STRING":
        yield "int", 5
        yield "null", None
    elif kind == "BOOLEAN":
        yield "string", "false"
        yield "null", None
    elif isinstance(kind, list) or kind == "COMBO":
        yield "not_in_list", "nope"
        yield "int", 0
        yield "null", None
        yield "wrapped", {"__value__": "nope"}


def link_mutations(producer: str, prompt: Prompt) -> Iterator[tuple[str, Any]]:
    yield "missing_node", ["999", 0]
    yield "slot_out_of_range", [producer, 5]
    yield "negative_slot", [producer, -1]
    yield "string_slot", [producer, "0"]
    yield "float_slot", [producer, 0.0]
    yield "bool_slot", [producer, True]
    yield "null_slot", [producer, None]
    yield "int_id", [int(producer) if producer.isdigit() else 1, 0]
    yield "list_id", [[producer], 0]
    yield "short", [producer]
    yield "long", [producer, 0, 0]


def mutations(graph: str, base: Prompt, info: Mapping[str, Any]) -> Iterator[Case]:
    for nid, n in base.items():
        cls = info[n["class_type"]]
        declared = [
            (section, name)
            for section in ("required", "optional")
            for name in (cls["input"].get(section) or {})
        ]
        for section, name in declared:
            if name in n["inputs"]:
                p = copy.deepcopy(base)
                del p[nid]["inputs"][name]
                yield Case(f"{graph}/{nid}.{name}/dropped({section})", p)
            kind, options = _spec(cls, name)
            value = n["inputs"].get(name)
            if isinstance(value, list):  # a link
                for label, bad in link_mutations(value[0], base):
                    p = copy.deepcopy(base)
                    p[nid]["inputs"][name] = bad
                    yield Case(f"{graph}/{nid}.{name}/link_{label}", p)
                # A link from a node of another type: the first other producer.
                for other_id, other in base.items():
                    outs = info[other["class_type"]]["output"]
                    if other_id not in (nid, value[0]) and outs and outs[0] != kind:
                        p = copy.deepcopy(base)
                        p[nid]["inputs"][name] = [other_id, 0]
                        yield Case(f"{graph}/{nid}.{name}/link_wrong_type", p)
                        break
                continue
            for label, bad in value_mutations(kind, options):
                p = copy.deepcopy(base)
                p[nid]["inputs"][name] = bad
                yield Case(f"{graph}/{nid}.{name}/{label}", p)
            if kind in ("INT", "FLOAT", "STRING") or isinstance(kind, list):
                # A widget fed by a link: from an IMAGE/MASK producer (mismatch).
                for other_id, other in base.items():
                    outs = info[other["class_type"]]["output"]
                    if other_id != nid and outs and outs[0] not in (kind, "*"):
                        p = copy.deepcopy(base)
                        p[nid]["inputs"][name] = [other_id, 0]
                        yield Case(f"{graph}/{nid}.{name}/widget_linked", p)
                        break
        for label, class_type in (("unknown", "NoSuchNode"), ("null", None), ("int", 5)):
            p = copy.deepcopy(base)
            p[nid]["class_type"] = class_type
            yield Case(f"{graph}/{nid}/class_{label}", p)
        p = copy.deepcopy(base)
        del p[nid]["class_type"]
        yield Case(f"{graph}/{nid}/class_missing", p)
        p = copy.deepcopy(base)
        p[nid]["inputs"]["extra"] = 5
        yield Case(f"{graph}/{nid}/extra_value", p)
        others = [o for o in base if o != nid]
        if others:
            p = copy.deepcopy(base)
            p[nid]["inputs"]["extra_link"] = [others[0], 0]  # an existing node: safe
            yield Case(f"{graph}/{nid}/extra_link", p)
    outputs = [nid for nid, n in base.items() if info[n["class_type"]]["output_node"]]
    p = {nid: n for nid, n in copy.deepcopy(base).items() if nid not in outputs}
    yield Case(f"{graph}/no_output", p)
    yield Case(f"{graph}/valid", copy.deepcopy(base))
    yield Case(f"{graph}/targets_first_output", copy.deepcopy(base), [outputs[0]])
    yield Case(f"{graph}/targets_no_output", copy.deepcopy(base), ["1"])


# Names whose existence object_info cannot tell (comfy_core.validation): the
# local verdict accepts them, the server checks the disk.
UNKNOWABLE = {
    "load/1.image/file_missing_in_subfolder",
    "load/1.image/file_missing_annotated",
}


def special_cases(image: str, in_subfolder: str) -> Iterator[Case]:
    yield Case("empty_prompt", {})
    load = base_graphs(image)["load"]
    for label, value in (
        ("missing_file", "nope.png"),
        ("int", 5),
        ("null", None),
        ("empty_name", ""),
        ("in_subfolder", in_subfolder),
        ("annotated", f"{image} [input]"),
        ("missing_in_subfolder", "sub/nope.png"),
        ("missing_annotated", "nope.png [output]"),
    ):
        p = copy.deepcopy(load)
        p["1"]["inputs"]["image"] = value
        yield Case(f"load/1.image/file_{label}", p)
    for label, value in (("missing_file", "nope.latent"), ("int", 3), ("empty_name", "")):
        p = {
            "1": node("LoadLatent", latent=value),
            "2": node("SaveLatent", samples=["1", 0], filename_prefix="agree/latent"),
        }
        yield Case(f"load_latent/1.latent/file_{label}", p)
    for label, value in (("missing_file", "nope.png"), ("in_subfolder", in_subfolder)):
        p = copy.deepcopy(base_graphs(image)["load_mask"])
        p["1"]["inputs"]["image"] = value
        yield Case(f"load_mask/1.image/file_{label}", p)
    # Only some outputs broken: each output of two_outputs broken alone, and all.
    two = base_graphs(image)["two_outputs"]
    breaks: dict[str, tuple[str, Any]] = {
        "1": ("width", 0),
        "3": ("value", 2.0),
        "6": ("height", 8),
    }
    for nids in (["1"], ["3"], ["6"], ["1", "3"], ["1", "3", "6"]):
        p = copy.deepcopy(two)
        for nid in nids:
            name, broken = breaks[nid]
            p[nid]["inputs"][name] = broken
        yield Case(f"two_outputs/broken_{'+'.join(nids)}", p)
        yield Case(f"two_outputs/broken_{'+'.join(nids)}/targets_5", copy.deepcopy(p), ["5"])
    # An upstream failure: downstream nodes are not listed.
    p = copy.deepcopy(base_graphs(image)["image_chain"])
    p["1"]["inputs"]["width"] = -1
    p["4"]["inputs"]["scale_by"] = 100
    yield Case("image_chain/two_broken_nodes", p)
    # Cycles: the server recurses into RecursionError and reports nothing of
    # the cycle's own; a cycle node keeps its own errors.
    cycle = copy.deepcopy(base_graphs(image)["image_chain"])
    cycle["2"]["inputs"]["image"] = ["5", 0]
    yield Case("image_chain/cycle", cycle)
    p = copy.deepcopy(cycle)
    p["3"]["inputs"]["width"] = -1
    yield Case("image_chain/cycle_with_error", p)
    p = copy.deepcopy(base_graphs(image)["two_outputs"])
    p["4"]["inputs"]["mask"] = ["8", 0]
    p["8"] = node("ImageToMask", image=["4", 0], channel="red")
    yield Case("two_outputs/cycle_in_one_output", p)
    # Several errors in one node, and an exception that drowns them.
    p = copy.deepcopy(base_graphs(image)["image_chain"])
    p["1"]["inputs"] = {"width": "w", "height": 0, "color": -1}
    yield Case("image_chain/1/many_errors", p)
    p = copy.deepcopy(base_graphs(image)["image_chain"])
    p["3"]["inputs"].update(width="w", image=["999", 0])
    yield Case("image_chain/3/exception_drowns_errors", p)


def all_cases(info: Mapping[str, Any], image: str, in_subfolder: str) -> list[Case]:
    cases: list[Case] = []
    for graph, base in base_graphs(image).items():
        cases.extend(mutations(graph, base, info))
    cases.extend(special_cases(image, in_subfolder))
    return cases


def wedges_server(prompt: Prompt, info: Mapping[str, Any]) -> bool:
    """A prompt that would stop the 0.3.75 worker if accepted: never sent."""
    for n in prompt.values():
        if not isinstance(n.get("inputs"), dict):
            return True
        cls = info.get(n.get("class_type")) if isinstance(n.get("class_type"), str) else None
        declared = set()
        if cls is not None:
            for section in ("required", "optional"):
                declared |= set(cls["input"].get(section) or {})
        for name, value in n["inputs"].items():
            link = (
                isinstance(value, list)
                and len(value) == 2
                and isinstance(value[0], str)
                and isinstance(value[1], (int, float))
            )
            if link and name not in declared and value[0] not in prompt:
                return True
            if nesting_depth(value) > MAX_NESTING:
                return True
    return False


# -- verdicts ---------------------------------------------------------------------------


def _error_fields(extra: Mapping[str, Any]) -> str:
    return json.dumps({k: v for k, v in extra.items() if k != "traceback"}, sort_keys=True)


@dataclass(frozen=True)
class Verdict:
    refused: bool
    error_type: str | None
    triples: frozenset[tuple[str, str | None, str]]
    details: frozenset[tuple[Any, ...]] = frozenset()
    dependents: frozenset[tuple[str, frozenset[str]]] = frozenset()
    top: tuple[str, frozenset[str]] | None = None
    status: int | None = None

    @classmethod
    def of(cls, nodes: Sequence[NodeError], error: WorkflowValidationError | None) -> Verdict:
        triples = frozenset(
            (n.node_id, e.input_name, e.type) for n in nodes for e in n.errors
        ) or frozenset((n.node_id, None, "") for n in nodes)
        details = frozenset(
            (
                n.node_id,
                n.class_type,
                e.type,
                e.message,
                e.details,
                e.input_name,
                _error_fields(e.extra_info),
            )
            for n in nodes
            for e in n.errors
        )
        dependents = frozenset((n.node_id, frozenset(n.dependent_outputs)) for n in nodes)
        top = None
        if error is not None:
            top = (error.message, frozenset(error.details.split("\n")))
        return cls(
            refused=error is not None,
            error_type=error.error_type if error is not None else None,
            triples=triples,
            details=details,
            dependents=dependents,
            top=top,
            status=error.status if error is not None else 200,
        )

    def key(self) -> tuple[Any, ...]:
        return (self.refused, self.error_type, self.triples)

    def categories(self) -> set[str]:
        found = {t for _, _, t in self.triples if t}
        if self.error_type:
            found.add(self.error_type)
        elif not self.triples:
            found.add("accepted")
        else:
            found.add("accepted_with_node_errors")
        return found


def local_verdict(case: Case, info: Mapping[str, Any]) -> Verdict:
    try:
        nodes = validate_prompt(case.prompt, info, partial_execution_targets=case.targets)
    except WorkflowValidationError as error:
        return Verdict.of(error.node_errors, error)
    return Verdict.of(nodes, None)


@dataclass
class Run:
    accepted: list[str] = field(default_factory=list)


async def server_verdict(client: Any, case: Case, run: Run) -> Verdict:
    request = routes.post_prompt(
        case.prompt,
        prompt_id=str(uuid.uuid4()),
        client_id=CLIENT_ID,
        partial_execution_targets=case.targets,
    )
    response = await client.send(request)
    try:
        receipt = routes.read_prompt_response(request, response)
    except WorkflowValidationError as error:
        return Verdict.of(error.node_errors, error)
    except HTTPStatusError as error:
        return Verdict(refused=True, error_type=f"http_{error.status}", triples=frozenset())
    run.accepted.append(receipt.prompt_id)
    return Verdict.of(routes.read_node_errors(receipt.node_errors), None)


def tiny_png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (4, 4), (200, 10, 10)).save(buffer, format="PNG")
    return buffer.getvalue()


async def test_local_validation_agrees_with_the_server(comfy_url: str) -> None:
    async with create_client(comfy_url, start_state_tracker=None) as client:
        uploaded = await client.upload_image(IMAGE_NAME, tiny_png())
        nested = await client.upload_image(IMAGE_NAME, tiny_png(), subfolder="agree")
        request = Request(method="GET", path=f"{routes.API}/object_info")
        info = routes.read_json(request, await client.send(request))
        cases = all_cases(info, uploaded.name, f"{nested.subfolder}/{nested.name}")
        safe = [c for c in cases if not wedges_server(c.prompt, info)]
        assert len(safe) == len(cases), "the generator made a prompt that wedges the server"
        assert len(cases) >= 500

        run = Run()
        server: list[Verdict] = []
        for start in range(0, len(cases), 16):
            batch = cases[start : start + 16]
            before = len(run.accepted)
            server += await asyncio.gather(*(server_verdict(client, c, run) for c in batch))
            if len(run.accepted) > before:  # keep the queue short: they need not run
                await client.delete_from_queue(run.accepted[before:])

        disagreements = []
        unknowable = []
        detail_diffs = []
        dependent_diffs = 0
        per_type: Counter[str] = Counter()
        agreed: Counter[str] = Counter()
        for case, remote in zip(cases, server, strict=True):
            local = local_verdict(case, info)
            ok = local.key() == remote.key() and local.status == remote.status
            if case.name in UNKNOWABLE:
                unknowable.append((case.name, remote, local))
                continue
            for category in remote.categories() | local.categories():
                per_type[category] += 1
                agreed[category] += ok
            if not ok:
                disagreements.append((case.name, remote, local))
            elif local.details != remote.details or local.top != remote.top:
                detail_diffs.append((case.name, remote, local))
            elif local.dependents != remote.dependents:
                dependent_diffs += 1

        print(f"\n{len(cases)} cases, {len(run.accepted)} accepted by the server")
        for category in sorted(per_type):
            print(f"  {category:40} {agreed[category]:4} / {per_type[category]:4} agree")
        print(f"  dependent_outputs differ (server order) in {dependent_diffs} agreeing cases")
        print(f"  file names object_info cannot check: {len(unknowable)} cases, not counted above")
        for name, remote, local in disagreements + detail_diffs:
            print(f"DIFF {name}\n  server: {remote}\n  local:  {local}")

        # Leave nothing behind: wait for whatever the worker took, drop the history.
        for _ in range(300):
            if await client.get_queue_remaining() == 0:
                break
            await asyncio.sleep(0.1)
        await client.remove_from_history(run.accepted)

        assert not disagreements, [name for name, _, _ in disagreements]
        assert sorted((name, r.triples, loc.triples) for name, r, loc in unknowable) == [
            (name, frozenset({("1", "image", "custom_validation_failed")}), frozenset())
            for name in sorted(UNKNOWABLE)
        ]
        assert not detail_diffs, [name for name, _, _ in detail_diffs]
