"""README: submit a workflow and await its result (WebSocket tracking, the default).

python examples/readme_websocket.py [URL]
"""

import asyncio
import os
import sys
from pathlib import Path

from comfy_api_client import create_client, utils

comfyui_server = (
    sys.argv[1] if len(sys.argv) > 1 else os.environ.get("COMFYUI_URL", "localhost:8188")
)
workflow = utils.read_json(Path(__file__).parent / "workflow.json")


async def main() -> None:
    async with create_client(comfyui_server) as client:
        print(await client.get_system_stats())

        prompt = await client.submit_workflow(workflow)

        result = await prompt.future
        image_items = result.output_images
        image = image_items[0].image
        print(image_items[0].filename, image.size)


asyncio.run(main())
