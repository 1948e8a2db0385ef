"""Generate comfy_api_client/sync/endpoints.py from the async comfy_api_client/endpoints.py.

    python scripts/generate_sync.py          # write it
    python scripts/generate_sync.py --check  # exit 1 if the committed file is out of date

The async endpoints are thin wrappers around comfy_core flows, so the sync twin
is the same text without ``async``/``await``. tests/sync/test_generated.py runs
the check in CI, so the two clients cannot drift apart.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "comfy_api_client" / "endpoints.py"
TARGET = ROOT / "comfy_api_client" / "sync" / "endpoints.py"

HEADER = '''"""The sync client's route methods: one ``comfy_core.api`` flow each.

GENERATED from comfy_api_client/endpoints.py by scripts/generate_sync.py: do not
edit; change the async file and run the script.
"""'''

REPLACEMENTS = [
    (r"\basync def ", "def "),
    (r"\bawait ", ""),
    (r"\bAsyncEndpoints\b", "SyncEndpoints"),
    (r"\bAsyncTransport\b", "SyncTransport"),
    (r"\.stream_async_request\(", ".stream_request("),
    (r"\bAsyncIterator\b", "Iterator"),
    # Keep the import sorted once AsyncIterator became Iterator.
    (r"import Iterator, Callable, Iterable,", "import Callable, Iterable, Iterator,"),
]


def generate() -> str:
    text = SOURCE.read_text()
    # Replace the module docstring (the first triple-quoted block).
    end = text.index('"""', 3) + 3
    text = HEADER + text[end:]
    for pattern, replacement in REPLACEMENTS:
        text = re.sub(pattern, replacement, text)
    return text


def main(argv: list[str]) -> int:
    generated = generate()
    if "--check" in argv:
        if TARGET.read_text() != generated:
            print(f"{TARGET} is out of date: run python scripts/generate_sync.py")
            return 1
        return 0
    TARGET.write_text(generated)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
