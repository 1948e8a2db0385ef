"""Write a ``/object_info`` snapshot for the offline validation tests.

    python scripts/fetch_object_info.py            # start a local ComfyUI
    python scripts/fetch_object_info.py --url http://127.0.0.1:8188

Keeps only the node classes tests/core/test_validation.py uses (``--all``
keeps every class) and writes tests/data/object_info-<version>.json, sorted
so that a re-fetch shows as a small diff. Use a freshly started server: the
file lists of loader nodes (LoadImage's combo) are part of the snapshot.
"""

from __future__ import annotations

import argparse
import json
import sys
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from comfy_api_client.local_server import COMFYUI_VERSION, LocalServer, provision  # noqa: E402

# Model-free nodes of every shape the validator must read: legacy and V3
# nodes, legacy and new combos, INT/FLOAT/STRING/BOOLEAN widgets, custom
# validation (loaders), optional inputs and several output nodes.
CLASSES = (
    "EmptyImage",
    "EmptyLatentImage",
    "ImageBlur",
    "ImageCompositeMasked",
    "ImageInvert",
    "ImageScale",
    "ImageScaleBy",
    "ImageSharpen",
    "LatentUpscale",
    "LoadImage",
    "LoadImageMask",
    "LoadLatent",
    "MaskToImage",
    "PreviewImage",
    "SaveImage",
    "SaveLatent",
    "SolidMask",
    "ImageToMask",
    "PrimitiveInt",
    "PrimitiveString",
    "PrimitiveBoolean",
    "PrimitiveFloat",
    "StringConcatenate",
    "ImageBlend",
    "ImageQuantize",
    "CaseConverter",
    "PreviewAny",
    "SaveImageWebsocket",
)


def fetch(url: str) -> dict[str, object]:
    with urllib.request.urlopen(f"{url.rstrip('/')}/api/object_info", timeout=60) as answer:
        data = json.loads(answer.read())
    assert isinstance(data, dict)
    return data


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", help="a running server (default: start one)")
    parser.add_argument("--all", action="store_true", help="keep every node class")
    args = parser.parse_args()
    if args.url:
        data = fetch(args.url)
    else:
        with LocalServer(provision()) as server:
            data = fetch(server.url)
    if not args.all:
        missing = [name for name in CLASSES if name not in data]
        if missing:
            print(f"the server has no {missing}", file=sys.stderr)
            return 1
        data = {name: data[name] for name in CLASSES}
    target = ROOT / "tests" / "data" / f"object_info-{COMFYUI_VERSION}.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
    print(f"wrote {len(data)} classes to {target.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
