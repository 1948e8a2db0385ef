"""A plugin that raises while a prompt is finished fails that prompt, and only that prompt.

Storage backends (s3fs, a user's own) can raise anything; before this was fixed
a ``RuntimeError`` from ``comfy_store_output`` left the future pending for ever.
"""

from __future__ import annotations

import pytest

from comfy_api_client import ComfyError, PluginError, hookimpl
from comfy_api_client.plugins import make_plugin_manager
from tests.conformance.conftest import Open
from tests.workflows import rgb, save_image


class FailsFirst:
    """Raises ``error`` from ``hook`` for the first prompt it sees, then behaves."""

    def __init__(self, hook: str, error: Exception) -> None:
        self.hook, self.error = hook, error
        self.victim: str | None = None

    def _maybe_raise(self, prompt_id: str) -> None:
        if self.victim in (None, prompt_id):
            self.victim = prompt_id
            raise self.error

    @hookimpl
    def comfy_store_output(self, prompt_id: str) -> str | None:
        if self.hook == "comfy_store_output":
            self._maybe_raise(prompt_id)
        return None

    @hookimpl
    def comfy_prompt_finished(self, result: object) -> None:
        if self.hook == "comfy_prompt_finished":
            self._maybe_raise(getattr(result, "prompt_id", ""))


CASES = [
    ("comfy_store_output", RuntimeError("bucket unavailable")),
    ("comfy_store_output", KeyError("no such bucket")),
    ("comfy_prompt_finished", RuntimeError("webhook down")),
]


@pytest.mark.parametrize(("hook", "error"), CASES, ids=["store-runtime", "store-key", "finished"])
def test_a_raising_plugin_fails_its_prompt_and_the_client_goes_on(
    open_client: Open, fresh_color: int, hook: str, error: Exception
) -> None:
    plugin = FailsFirst(hook, error)
    with open_client(plugins=[plugin]) as client:
        first = client.submit_workflow(save_image(fresh_color, prefix="sdk_fail_store"))
        events = list(client.events(first))  # ends when the server says the prompt is done
        assert type(events[-1]).__name__ == "PromptSucceeded"
        # Finishing fails at once then (well within a second on an idle machine; the bound
        # leaves room for a loaded one): before the fix, the future never failed.
        with pytest.raises(PluginError) as caught:
            client.wait(first, timeout=10.0)
        second = client.run(save_image(fresh_color + 1, prefix="sdk_fail_store"), timeout=30)
    failure = caught.value
    assert isinstance(failure, ComfyError)
    assert failure.__cause__ is error
    assert failure.hook == hook and failure.prompt_id == first.prompt_id
    assert failure.plugin == make_plugin_manager([plugin]).get_name(plugin)
    assert str(error) in str(failure) and hook in str(failure)
    assert plugin.victim == first.prompt_id
    (item,) = second.output_images
    assert item.image.convert("RGB").getpixel((0, 0)) == rgb(fresh_color + 1)
