"""Model-free workflows (API format) for tests against the real server."""

from __future__ import annotations

from typing import Any

Workflow = dict[str, Any]


def save_image(color: int, *, size: int = 64, prefix: str = "sdk_test", batch: int = 1) -> Workflow:
    """EmptyImage of one colour -> SaveImage."""
    return {
        "1": {
            "class_type": "EmptyImage",
            "inputs": {"width": size, "height": size, "batch_size": batch, "color": color},
        },
        "2": {"class_type": "SaveImage", "inputs": {"images": ["1", 0], "filename_prefix": prefix}},
    }


def execution_error() -> Workflow:
    """Passes validation, then ImageScaleBy fails at run time (PROTOCOL.md §6)."""
    return {
        "1": {
            "class_type": "EmptyImage",
            "inputs": {"width": 1, "height": 1, "batch_size": 1, "color": 0},
        },
        "2": {
            "class_type": "ImageScaleBy",
            "inputs": {"image": ["1", 0], "upscale_method": "nearest-exact", "scale_by": 0.01},
        },
        "3": {
            "class_type": "SaveImage",
            "inputs": {"images": ["2", 0], "filename_prefix": "sdk_err"},
        },
    }


def slow(color: int, blurs: int = 3, size: int = 1536) -> Workflow:
    """EmptyImage -> ImageBlur(31, 10) x blurs -> PreviewImage: seconds per node on a CPU."""
    workflow: Workflow = {
        "1": {
            "class_type": "EmptyImage",
            "inputs": {"width": size, "height": size, "batch_size": 1, "color": color},
        }
    }
    previous = "1"
    for i in range(blurs):
        node = str(10 + i)
        workflow[node] = {
            "class_type": "ImageBlur",
            "inputs": {"image": [previous, 0], "blur_radius": 31, "sigma": 10.0},
        }
        previous = node
    workflow["9"] = {"class_type": "PreviewImage", "inputs": {"images": [previous, 0]}}
    return workflow


def multi_output(color: int, folder: str) -> Workflow:
    """Every file kind the bundled nodes make: a saved batch of 2 in ``folder``, two
    previews (``temp``), and a latent (node 5)."""
    workflow = save_image(color, prefix=f"{folder}/batch", batch=2)
    workflow["3"] = {"class_type": "PreviewImage", "inputs": {"images": ["1", 0]}}
    workflow["4"] = {
        "class_type": "EmptyLatentImage",
        "inputs": {"width": 64, "height": 64, "batch_size": 1},
    }
    workflow["5"] = {
        "class_type": "SaveLatent",
        "inputs": {"samples": ["4", 0], "filename_prefix": f"{folder}/latent_{color}"},
    }
    return workflow


def sleepy(color: int, seconds: float, prefix: str, *, only_here: bool = False) -> Workflow:
    """EmptyImage(8x8) -> SdkSleep(seconds) [-> SdkOnlyHere] -> SaveImage: wall time, no CPU.

    Needs the test custom nodes of tests/pool (``SdkOnlyHere`` only the pool's third
    server has). Give each prompt its own ``color``, or ComfyUI's cache skips the sleep.
    """
    workflow: Workflow = {
        "1": {
            "class_type": "EmptyImage",
            "inputs": {"width": 8, "height": 8, "batch_size": 1, "color": color},
        },
        "2": {"class_type": "SdkSleep", "inputs": {"image": ["1", 0], "seconds": seconds}},
    }
    last = "2"
    if only_here:
        workflow["3"] = {"class_type": "SdkOnlyHere", "inputs": {"image": ["2", 0]}}
        last = "3"
    workflow["9"] = {
        "class_type": "SaveImage",
        "inputs": {"images": [last, 0], "filename_prefix": prefix},
    }
    return workflow


def rgb(color: int) -> tuple[int, int, int]:
    return (color >> 16) & 0xFF, (color >> 8) & 0xFF, color & 0xFF
