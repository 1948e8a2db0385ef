"""README: no tracker; submit without a future and fetch the results yourself.

python examples/readme_manual.py [URL]
"""

import asyncio
import os
import sys
from pathlib import Path

from comfy_api_client import PromptNotFinishedError, create_client, utils

comfyui_server = (
    sys.argv[1] if len(sys.argv) > 1 else os.environ.get("COMFYUI_URL", "localhost:8188")
)
workflow = utils.read_json(Path(__file__).parent / "workflow.json")


async def main() -> None:
    async with create_client(comfyui_server, start_state_tracker=None) as client:
        prompt = await client.submit_workflow(workflow, return_future=False)

        # Will be None; the status needs to be checked manually
        assert prompt.future is None

        while True:  # ask until it is done; fetch_results says when it is not
            try:
                result = await client.fetch_results(prompt)
                break
            except PromptNotFinishedError:
                await asyncio.sleep(0.2)

        image_items = result.output_images
        image = image_items[0].image
        print(image_items[0].filename, image.size)


asyncio.run(main())
