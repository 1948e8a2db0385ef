"""How much the core costs per WebSocket message, against plain ``json.loads``.

    python benchmarks/bench_core.py [--rounds N]

Feeds every recorded message of tests/recordings through a fresh PromptTracker
(parse, attribute, apply transitions, settle prompts) and, as the baseline in
the same run, through ``json.loads`` alone. Prints both rates and their ratio:
the ratio is what to watch, since absolute rates depend on the machine.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import json

from comfy_core import PromptResponse, PromptTracker
from tests import recorded

NAMES = ["success", "cached", "execution_error", "interrupted", "multi_output", "upload_then_load"]


def sessions() -> list[tuple[list[str], list[str | bytes]]]:
    return [(recorded.prompt_ids(n), recorded.ws_messages(n)) for n in NAMES]


def through_tracker(data: list[tuple[list[str], list[str | bytes]]]) -> int:
    count = 0
    for ids, messages in data:
        tracker = PromptTracker()
        for prompt_id in ids:
            tracker.register(prompt_id)
            tracker.accepted(PromptResponse(prompt_id=prompt_id, number=0))
        for message in messages:
            if isinstance(message, str):
                tracker.receive_text(message)
            else:
                tracker.receive_binary(message)
            while tracker.next_event() is not None:
                pass
            count += 1
    return count


def through_json(data: list[tuple[list[str], list[str | bytes]]]) -> int:
    count = 0
    for _, messages in data:
        for message in messages:
            if isinstance(message, str):
                json.loads(message)
            count += 1
    return count


def rate(
    fn: Callable[[list[tuple[list[str], list[str | bytes]]]], int],
    data: list[tuple[list[str], list[str | bytes]]],
    rounds: int,
) -> float:
    best = float("inf")
    count = 0
    for _ in range(rounds):
        start = time.perf_counter()
        count = fn(data)
        best = min(best, time.perf_counter() - start)
    return count / best


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=50)
    rounds = parser.parse_args().rounds
    data = sessions()
    baseline = rate(through_json, data, rounds)
    core = rate(through_tracker, data, rounds)
    print(f"json.loads only : {baseline:12,.0f} messages/s")
    print(f"PromptTracker   : {core:12,.0f} messages/s")
    print(f"ratio (tracker / json.loads time): {baseline / core:.2f}x")


if __name__ == "__main__":
    main()
