"""A PNG carrying text chunks, as ComfyUI's SaveImage writes them (for tests)."""

from __future__ import annotations

import io
import json
from collections.abc import Mapping
from typing import Any

from PIL import Image
from PIL.PngImagePlugin import PngInfo


def png_with(texts: Mapping[str, Any]) -> bytes:
    info = PngInfo()
    for key, value in texts.items():
        info.add_text(key, value if isinstance(value, str) else json.dumps(value))
    out = io.BytesIO()
    Image.new("RGB", (4, 4)).save(out, "PNG", pnginfo=info)
    return out.getvalue()
