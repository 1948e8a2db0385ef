"""Options every client takes the same way."""

from __future__ import annotations

from tests.conformance.conftest import Open
from tests.workflows import rgb, save_image


def test_plugins_none_means_no_extra_plugins(open_client: Open, fresh_color: int) -> None:
    with open_client(plugins=None) as client:
        names = {name for name, _ in client.hooks.pm.list_name_plugin()}
        result = client.run(save_image(fresh_color, prefix="sdk_none"), timeout=30)
    assert {"comfy.logs", "comfy.retry"} <= names
    assert result.output_images[0].image.convert("RGB").getpixel((0, 0)) == rgb(fresh_color)
