"""The core against ``json.loads``: what the tracker costs per WebSocket message.

Every recorded WebSocket message of tests/recordings (each socket of each file,
every server version) goes through a fresh :class:`PromptTracker` (the file's
accepted prompts registered first; parse, attribute, apply transitions, settle),
and, as the baseline of the same round, through ``json.loads`` alone. No server
is needed.

With orjson installed, two more variants: ``orjson.loads`` alone, and the
tracker with its parser decoding through ``orjson.loads`` (the core itself stays
standard-library only: this measures whether handing it a faster decoder would
pay, by swapping the decoder the parser module uses for the duration of a pass).
"""

from __future__ import annotations

import base64
import gc
import importlib
import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import ModuleType
from typing import Any

from benchmarks.suite import ROOT, Context, Row, interleaved, ratios
from comfy_core import PromptResponse, PromptTracker, messages

RECORDINGS = ROOT / "tests" / "recordings"
TARGET = "<= 1.50"  # tracker time against json.loads time

# One recorded socket: the file's accepted prompt ids, and what the server sent on it.
Recorded = tuple[list[str], list[str | bytes]]
Loads = Callable[[Any], Any]


def sessions() -> list[Recorded]:
    """Every recorded socket of every file: (accepted prompt ids, messages in order)."""
    found: list[Recorded] = []
    for path in sorted(RECORDINGS.glob("*/*.jsonl")):
        records = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
        ids = [
            r["json"]["prompt_id"]
            for r in records
            if r["kind"] == "http" and r["method"] == "POST" and r["path"].endswith("/prompt")
            and r["status"] == 200 and isinstance(r.get("json"), dict)
        ]  # fmt: skip
        sockets: dict[str, list[str | bytes]] = {}
        for record in records:
            if record["kind"] == "ws_text":
                sockets.setdefault(record["ws"], []).append(json.dumps(record["data"]))
            elif record["kind"] == "ws_binary":
                sockets.setdefault(record["ws"], []).append(base64.b64decode(record["b64"]))
        found += [(ids, sent) for sent in sockets.values()]
    return found


def through_tracker(data: list[Recorded]) -> int:
    """Every message through a fresh tracker per socket, every event pulled."""
    count = 0
    for ids, sent in data:
        tracker = PromptTracker()
        for prompt_id in ids:
            tracker.register(prompt_id)
            tracker.accepted(PromptResponse(prompt_id=prompt_id, number=0))
        while tracker.next_event() is not None:
            pass
        for message in sent:
            if isinstance(message, str):
                tracker.receive_text(message)
            else:
                tracker.receive_binary(message)
            while tracker.next_event() is not None:
                pass
            count += 1
    return count


def through_json(data: list[Recorded], loads: Loads = json.loads) -> int:
    """The baseline: ``loads`` of every text message, nothing else."""
    count = 0
    for _, sent in data:
        for message in sent:
            if isinstance(message, str):
                loads(message)
            count += 1
    return count


@contextmanager
def parser_decoding_with(loads: Loads) -> Iterator[None]:
    """The core's message parser decodes with ``loads`` meanwhile (a local experiment): its
    scanner, through which every text message of the recordings goes."""

    def scan_once(text: str, index: int) -> tuple[Any, int]:
        return loads(text), len(text)  # the whole message, as parse_text asks at index 0

    original = getattr(messages, "_scan_once")  # noqa: B009
    setattr(messages, "_scan_once", scan_once)  # noqa: B010
    try:
        yield
    finally:
        setattr(messages, "_scan_once", original)  # noqa: B010


def orjson_module() -> ModuleType | None:
    try:
        return importlib.import_module("orjson")
    except ImportError:
        return None


def timed(run: Callable[[], object], passes: int) -> float:
    """Seconds per pass, over ``passes`` passes in a row."""
    gc.collect()
    start = time.perf_counter()
    for _ in range(passes):
        run()
    return (time.perf_counter() - start) / passes


def variants(data: list[Recorded], passes: int) -> dict[str, Callable[[], float]]:
    found: dict[str, Callable[[], float]] = {
        "json": lambda: timed(lambda: through_json(data), passes),
        "tracker": lambda: timed(lambda: through_tracker(data), passes),
    }
    orjson = orjson_module()
    if orjson is not None:
        fast: Loads = orjson.loads

        def tracker_orjson() -> float:
            with parser_decoding_with(fast):
                return timed(lambda: through_tracker(data), passes)

        found["orjson"] = lambda: timed(lambda: through_json(data, fast), passes)
        found["tracker orjson"] = tracker_orjson
    return found


def section(ctx: Context) -> list[Row]:
    data = sessions()
    count = through_tracker(data)
    rounds, passes = ctx.pick(9, 21), ctx.pick(50, 100)
    for run in variants(data, 1).values():  # warm up
        run()
    results = interleaved(rounds, variants(data, passes), lambda r: None)
    base, tracker = results["json"], results["tracker"]
    us = 1e6 / count
    note = (
        f"{count} messages x {passes} passes x {rounds} rounds; per message"
        f" json.loads {min(base) * us:.1f} us, tracker {min(tracker) * us:.1f} us"
    )
    rows = [Row("core: tracker cost", ratios(tracker, base), TARGET, note=note)]
    if "orjson" in results:
        fast, both = results["orjson"], results["tracker orjson"]
        rows += [
            Row("core: orjson.loads / json.loads", ratios(fast, base),
                note=f"orjson.loads {min(fast) * us:.1f} us per message"),
            Row("core: tracker with orjson / without", ratios(both, tracker),
                note=f"tracker with orjson {min(both) * us:.1f} us per message"),
            Row("core: tracker with orjson / json.loads", ratios(both, base),
                note="were the SDK to hand the core orjson.loads"),
            Row("core: tracker with orjson / orjson.loads", ratios(both, fast)),
        ]  # fmt: skip
    else:
        rows[0].note += "; orjson not installed: no orjson rows"
    return rows
