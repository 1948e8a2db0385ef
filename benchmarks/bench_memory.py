"""Memory per tracked prompt, and that settled prompts leave the tracker.

    python benchmarks/bench_memory.py [--prompts N]

Registers N accepted prompts in a PromptTracker and measures what they cost
with tracemalloc; as the baseline in the same run, a plain dict of the same N
prompt-id strings (the least any tracker must hold). Then settles every prompt
and measures what is left. Target: about 1 KiB per tracked prompt, 0 after.
"""

from __future__ import annotations

import argparse
import json
import tracemalloc
import uuid

from comfy_core import PromptResponse, PromptTracker


def measure(build: object) -> tuple[int, object]:
    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    kept = build()  # type: ignore[operator]
    after = tracemalloc.take_snapshot()
    tracemalloc.stop()
    size = sum(stat.size_diff for stat in after.compare_to(before, "filename"))
    return size, kept


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--prompts", type=int, default=10_000)
    n = parser.parse_args().prompts
    ids = [str(uuid.uuid4()) for _ in range(n)]

    baseline, _ = measure(lambda: {i: None for i in ids})

    def track() -> PromptTracker:
        tracker = PromptTracker()
        for prompt_id in ids:
            tracker.register(prompt_id)
            tracker.accepted(PromptResponse(prompt_id=prompt_id, number=1))
        while tracker.next_event() is not None:
            pass
        return tracker

    tracked, tracker = measure(track)
    assert isinstance(tracker, PromptTracker)
    for prompt_id in ids:  # every prompt finishes (a failure, to skip building results)
        stopped = {"prompt_id": prompt_id, "node_id": "1", "node_type": "X", "executed": []}
        for message in (
            {"type": "execution_interrupted", "data": stopped},
            {"type": "executing", "data": {"node": None, "prompt_id": prompt_id}},
        ):
            tracker.receive_text(json.dumps(message))
        while tracker.next_event() is not None:
            pass
    print(f"prompts: {n}")
    print(f"baseline (dict of ids): {baseline / n:8.0f} bytes/prompt")
    print(f"PromptTracker         : {tracked / n:8.0f} bytes/prompt")
    print(f"ratio (tracker / baseline): {tracked / baseline:.1f}x")
    print(f"prompts still tracked after all settled: {len(tracker.tracked)}")


if __name__ == "__main__":
    main()
