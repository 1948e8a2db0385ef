"""Test custom node ``SdkOnlyHere``: returns its image unchanged.

Only one server of the test pool loads it, so a prompt using it can run
there and is refused by the others.
"""

from __future__ import annotations

from typing import Any


class SdkOnlyHere:
    CATEGORY = "sdk_test"
    DESCRIPTION = "Returns the image unchanged; only one test server has it."
    RETURN_TYPES = ("IMAGE",)
    FUNCTION = "passthrough"

    @classmethod
    def INPUT_TYPES(cls) -> dict[str, Any]:
        return {"required": {"image": ("IMAGE",)}}

    def passthrough(self, image: Any) -> tuple[Any]:
        return (image,)


NODE_CLASS_MAPPINGS = {"SdkOnlyHere": SdkOnlyHere}
NODE_DISPLAY_NAME_MAPPINGS = {"SdkOnlyHere": "SDK test: only here"}
