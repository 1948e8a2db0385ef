"""A tiny piece of "user code" that drives ComfyUI: render a colour swatch, report its colour."""

from __future__ import annotations

from comfy_api_client import ComfyAPIClient


async def make_swatch(client: ComfyAPIClient, color: int, size: int = 32) -> tuple[int, int, int]:
    """Render a ``size``-pixel square of ``color`` on the server; the RGB it came back with."""
    workflow = {
        "1": {
            "class_type": "EmptyImage",
            "inputs": {"width": size, "height": size, "batch_size": 1, "color": color},
        },
        "2": {
            "class_type": "SaveImage",
            "inputs": {"images": ["1", 0], "filename_prefix": "swatch"},
        },
    }
    result = await client.run(workflow, timeout=60)
    pixel = result.output_images[0].image.convert("RGB").getpixel((0, 0))
    assert isinstance(pixel, tuple)
    red, green, blue = pixel
    return int(red), int(green), int(blue)
