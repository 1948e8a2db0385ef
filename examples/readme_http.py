"""README: HTTP-based polling instead of the WebSocket.

python examples/readme_http.py [URL]
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
    async with create_client(comfyui_server, start_state_tracker="http") as client:
        # Submit and await results as before
        prompt = await client.submit_workflow(workflow)
        result = await prompt.future
        print(result.output_images[0].filename, result.output_images[0].image.size)


asyncio.run(main())
