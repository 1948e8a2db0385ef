"""Memory still held after a prompt's previews: 400 previews of 256 KiB (100 MiB) arrive,
the prompt settles, and nobody iterated its events.

    python benchmarks/bench_previews.py

Feeds real type-4 preview frames through the client's shared core (ClientBase,
the same code both clients run) and measures with tracemalloc: the peak while
the prompt runs, and what is still allocated once it settled.
"""

from __future__ import annotations

import gc
import json
import struct
import tracemalloc

from comfy_core.handles import PromptHandle
from comfy_core.models import PromptResponse
from comfy_core.progress import ProgressCounter
from comfy_core.session import Session

PROMPT = "bench-previews-0000-0000-000000000000"
COUNT, SIZE = 400, 256 * 1024
MIB = 2**20


def frame(size: int) -> bytes:
    meta = json.dumps({"prompt_id": PROMPT, "node_id": "3", "image_type": "image/png"}).encode()
    return struct.pack(">II", 4, len(meta)) + meta + b"\x89PNG\r\n\x1a\n" + bytes(size)


def message(kind: str, **data: object) -> str:
    return json.dumps({"type": kind, "data": {"prompt_id": PROMPT, **data}})


def drain(session: Session) -> None:
    while session.next_event() is not None:
        pass


def main() -> None:
    session = Session()
    handle = PromptHandle(PROMPT, ProgressCounter(PROMPT, 3))
    session.open(handle)
    session.tracker.register(PROMPT)
    session.tracker.accepted(PromptResponse(prompt_id=PROMPT, number=1))
    drain(session)
    gc.collect()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    session.receive(message("execution_start"))
    for _ in range(COUNT):
        session.receive(frame(SIZE))  # each frame is a fresh bytes object, as off the wire
        drain(session)
    session.receive(message("execution_success"))
    session.receive(message("executing", node=None))
    drain(session)
    session.resolved(handle)
    gc.collect()
    held, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"{COUNT} previews of {SIZE // 1024} KiB ({COUNT * SIZE / MIB:.0f} MiB) to one prompt")
    print(f"peak while running: {(peak - base) / MIB:6.1f} MiB above baseline")
    print(f"held after settling: {(held - base) / MIB:6.1f} MiB above baseline (target < 20)")


if __name__ == "__main__":
    main()
