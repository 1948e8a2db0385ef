"""The router on a real server's /object_info: capability, least load, round-robin, limits."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from comfy_core.errors import InvalidArgument, NameNotFound
from comfy_core.routing import NoCapableServer, Router, missing_on
from comfy_core.schema import NodeSchema, parse_object_info

SNAPSHOT = Path(__file__).parent.parent / "data" / "object_info-0.3.75.json"
A, B, C = "http://a:1", "http://b:2", "http://c:3"


@pytest.fixture(scope="module")
def info() -> dict[str, NodeSchema]:
    return parse_object_info(json.loads(SNAPSHOT.read_text()))


def load_image(name: str, method: str = "bilinear") -> dict[str, Any]:
    """LoadImage (its choices: the files in the server's input folder) -> ImageScale."""
    return {
        "4": {"class_type": "LoadImage", "inputs": {"image": name}},
        "5": {"class_type": "ImageScale",
              "inputs": {"image": ["4", 0], "upscale_method": method, "width": 64,
                         "height": 64, "crop": "disabled"}},
    }  # fmt: skip


def up_router(info: dict[str, NodeSchema], *names: str, limit: int | None = None) -> Router:
    router = Router(names, limit=limit)
    for name in names:
        router.back(name, info)
    return router


def test_missing_names_node_classes_and_combo_values(info: dict[str, NodeSchema]) -> None:
    prompt = load_image("photo.png", method="sharpest")
    prompt["6"] = {"class_type": "NoSuchNode", "inputs": {"x": ["5", 0]}}
    assert missing_on(prompt, info) == [
        "image='photo.png' for node 4 (LoadImage)",
        "upscale_method='sharpest' for node 5 (ImageScale)",
        "node class NoSuchNode (node 6)",
    ]
    # A file the pool uploads first is in no list yet: it is exempt.
    assert missing_on(load_image("up.png"), info, exempt={"up.png"}) == []


def test_capable_servers_and_what_lacks_where(info: dict[str, NodeSchema]) -> None:
    router = up_router(info, A, B)
    with_node = dict(info)
    with_node["SdkOnlyHere"] = info["EmptyImage"]
    router.back(B, with_node)
    only_b = {"1": {"class_type": "SdkOnlyHere", "inputs": {}}}
    assert router.capable(only_b) == [B]
    with pytest.raises(NoCapableServer) as caught:
        router.capable(load_image("photo.png"))
    assert set(caught.value.missing) == {A, B}
    assert f"{A}: image='photo.png' for node 4 (LoadImage)" in str(caught.value)


def test_least_loaded_counts_the_queue_and_what_the_pool_sent(
    info: dict[str, NodeSchema],
) -> None:
    router = up_router(info, A, B, C)
    router.status(A, 5)  # someone else's prompts
    router.sent(B)
    assert router.pick([A, B, C]) == C
    router.sent(C)
    router.sent(C)
    assert router.pick([A, B, C]) == B  # B: 1, C: 2, A: 5
    router.settled(C, 1.5)
    router.settled(C, failed=True)
    server = router.server(C)
    assert (server.in_flight, server.done, server.failed, server.seconds) == (0, 1, 1, 1.5)


def test_ties_take_turns(info: dict[str, NodeSchema]) -> None:
    router = up_router(info, A, B, C)
    picks = [router.pick([A, B, C]) for _ in range(6)]  # nothing sent: always tied
    assert picks == [A, B, C, A, B, C]
    assert router.pick([B, C], exclude=[B]) == C
    assert router.pick([B], exclude=[B]) == B  # excluded only while others are free


def test_limits_and_down_servers(info: dict[str, NodeSchema]) -> None:
    router = up_router(info, A, B, limit=1)
    router.sent(A)
    assert router.pick([A, B]) == B
    router.sent(B)
    assert router.pick([A, B]) is None and not router.available([A, B])
    assert router.down(A) and not router.down(A)
    assert router.server(A).in_flight == 0
    router.settled(B)
    assert router.pick([A, B]) == B  # A is down
    router.back(A, info)
    assert router.available([A])


def test_bad_router_arguments() -> None:
    with pytest.raises(InvalidArgument):
        Router([])
    with pytest.raises(InvalidArgument):
        Router([A], limit=0)
    with pytest.raises(NameNotFound):
        Router([A]).server(B)
