"""Test custom node ``SdkSleep``: sleeps, then passes its image on unchanged.

It stands for a GPU server's wall time without using this machine's CPU, so
prompts on several local servers can show how they overlap. Loaded by a
``LocalServer`` given this package's parent folder in ``custom_nodes``.
"""

from __future__ import annotations

import time
from typing import Any


class SdkSleep:
    CATEGORY = "sdk_test"
    DESCRIPTION = "Sleeps `seconds`, then returns the image unchanged."
    RETURN_TYPES = ("IMAGE",)
    FUNCTION = "sleep"

    @classmethod
    def INPUT_TYPES(cls) -> dict[str, Any]:
        return {
            "required": {
                "image": ("IMAGE",),
                "seconds": ("FLOAT", {"default": 1.0, "min": 0.0, "max": 60.0, "step": 0.01}),
            }
        }

    def sleep(self, image: Any, seconds: float) -> tuple[Any]:
        time.sleep(seconds)
        return (image,)


NODE_CLASS_MAPPINGS = {"SdkSleep": SdkSleep}
NODE_DISPLAY_NAME_MAPPINGS = {"SdkSleep": "SDK test: sleep"}
