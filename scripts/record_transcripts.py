"""Re-record the committed transcripts in tests/transcripts/ from a live ComfyUI.

    python scripts/record_transcripts.py --url http://127.0.0.1:8188

Runs each scenario of tests/replay/scenarios.py through the async client with
the recorder on, and writes ``<name>.jsonl`` (the transcript) and
``<name>.json`` (what the scenario observed, which replays must reproduce).
Use a freshly started server: cached nodes change what a scenario sees.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.conformance.conftest import async_client  # noqa: E402
from tests.replay.scenarios import SCENARIOS  # noqa: E402

TARGET = ROOT / "tests" / "transcripts"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("names", nargs="*", default=list(SCENARIOS))
    args = parser.parse_args()
    TARGET.mkdir(parents=True, exist_ok=True)
    for name in args.names:
        with async_client(args.url, record=str(TARGET / f"{name}.jsonl")) as client:
            observed = SCENARIOS[name](client)
        (TARGET / f"{name}.json").write_text(json.dumps(observed, indent=1, sort_keys=True) + "\n")
        print(f"recorded {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
