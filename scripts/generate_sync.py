"""Generate the sync twins of the async endpoints and pool API (comfy_api_client/sync/).

    python scripts/generate_sync.py          # write them
    python scripts/generate_sync.py --check  # exit 1 if a committed twin is out of date

The async endpoints are thin wrappers around comfy_core flows, and the pool's
methods leave every wait to their driver, so each sync twin is the same text
without ``async``/``await``. tests/sync/test_parity.py runs the check in CI, so
the two cannot drift apart.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "comfy_api_client"

HEADER = '''"""{title}

GENERATED from comfy_api_client/{source} by scripts/generate_sync.py: do not
edit; change the async file and run the script.
"""'''

COMMON = [
    (r"\basync def ", "def "),
    (r"\basync for ", "for "),
    (r"\bawait ", ""),
    (r"\bAsyncIterator\b", "Iterator"),
]

# (async source, sync target, the target's docstring title, replacements of its own)
PAIRS = [
    (
        "endpoints.py",
        "sync/endpoints.py",
        "The sync client's route methods: one ``comfy_core.api`` flow each.",
        [
            (r"\bAsyncEndpoints\b", "SyncEndpoints"),
            (r"\bAsyncTransport\b", "SyncTransport"),
            (r"\.stream_async_request\(", ".stream_request("),
            # Keep the import sorted once AsyncIterator became Iterator.
            (r"import Iterator, Callable, Iterable,", "import Callable, Iterable, Iterator,"),
        ],
    ),
    (
        "pool_api.py",
        "sync/pool_api.py",
        "The sync pool's methods: routing, failover and batches over one client per server.",
        [
            (r"\bAsyncPoolAPI\b", "SyncPoolAPI"),
            (
                r"from comfy_api_client\.endpoints import AsyncEndpoints as Endpoints",
                "from comfy_api_client.sync.endpoints import SyncEndpoints as Endpoints",
            ),
            (r"import Iterator, Callable, Iterable,", "import Callable, Iterable, Iterator,"),
        ],
    ),
]


def generate(source: str, title: str, replacements: list[tuple[str, str]]) -> str:
    text = (PACKAGE / source).read_text()
    # Replace the module docstring (the first triple-quoted block).
    end = text.index('"""', 3) + 3
    text = HEADER.format(title=title, source=source) + text[end:]
    for pattern, replacement in [*COMMON, *replacements]:
        text = re.sub(pattern, replacement, text)
    return text


def main(argv: list[str]) -> int:
    stale = 0
    for source, target, title, replacements in PAIRS:
        generated = generate(source, title, replacements)
        path = PACKAGE / target
        if "--check" in argv:
            if not path.exists() or path.read_text() != generated:
                print(f"{path} is out of date: run python scripts/generate_sync.py")
                stale += 1
        else:
            path.write_text(generated)
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
