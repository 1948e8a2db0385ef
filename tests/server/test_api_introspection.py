"""Introspection, users and settings routes against the real server (PROTOCOL.md §2.3, §2.4)."""

from __future__ import annotations

import uuid

import pytest

from comfy_api_client import HTTPStatusError, SystemStats, create_client
from comfy_core import routes
from comfy_core.api import FileList
from comfy_core.http import Request
from comfy_core.schema import NodeSchema


async def test_index_is_the_frontend_page(comfy_url: str) -> None:
    async with create_client(comfy_url, start_state_tracker=None) as client:
        index = await client.get_index()
    assert isinstance(index, str)
    assert "<html" in index.lower()
    assert "ComfyUI" in index


async def test_system_stats_name_the_server_version(comfy_url: str) -> None:
    async with create_client(comfy_url, start_state_tracker=None) as client:
        stats = await client.get_system_stats()
    assert isinstance(stats, SystemStats)
    assert stats.system.comfyui_version == "0.3.75"
    assert stats.raw["system"]["comfyui_version"] == "0.3.75"
    assert stats.system.python_version
    assert stats.devices and stats.devices[0].type


async def test_features_are_read_as_a_dict(comfy_url: str) -> None:
    async with create_client(comfy_url, start_state_tracker=None) as client:
        features = await client.get_features()
    assert features["supports_preview_metadata"] is True
    size = features["max_upload_size"]
    assert isinstance(size, (int, float)) and not isinstance(size, bool)
    assert size > 0


async def test_object_info_is_typed(comfy_url: str) -> None:
    async with create_client(comfy_url, start_state_tracker=None) as client:
        info = await client.get_object_info()
    assert len(info) > 300
    assert all(isinstance(schema, NodeSchema) for schema in info.values())

    empty = info["EmptyImage"]
    assert empty.name == "EmptyImage"
    assert empty.category == "image"
    assert empty.output_node is False
    assert [(i.name, i.section) for i in empty.required_inputs] == [
        ("width", "required"),
        ("height", "required"),
        ("batch_size", "required"),
        ("color", "required"),
    ]
    width = empty.input("width")
    assert (width.type, width.min, width.max, width.default) == ("INT", 1, 16384, 512)
    assert width.required and width.choices is None
    assert [o.type for o in empty.outputs] == ["IMAGE"]
    with pytest.raises(KeyError, match="EmptyImage has no input 'nope'"):
        empty.input("nope")

    method = info["ImageScale"].input("upscale_method")
    assert method.type == "COMBO"
    assert method.choices is not None
    assert {"bilinear", "lanczos"} <= set(method.choices)

    assert info["SaveImage"].output_node is True
    load = info["LoadImage"]
    assert [(o.index, o.type, o.name) for o in load.outputs] == [
        (0, "IMAGE", "IMAGE"),
        (1, "MASK", "MASK"),
    ]
    assert load.input("image").type == "COMBO"  # the legacy combo shape, the list of files


async def test_node_info_matches_object_info_and_is_none_when_unknown(comfy_url: str) -> None:
    async with create_client(comfy_url, start_state_tracker=None) as client:
        everything = await client.get_object_info()
        one = await client.get_node_info("EmptyImage")
        missing = await client.get_node_info("NoSuchNode")
    assert one is not None
    assert one == everything["EmptyImage"]
    assert one.raw == everything["EmptyImage"].raw
    assert missing is None


async def test_embeddings_and_extensions_are_file_lists(comfy_url: str) -> None:
    async with create_client(comfy_url, start_state_tracker=None) as client:
        embeddings = await client.get_embeddings()
        extensions = await client.get_extensions()
    assert isinstance(embeddings, FileList) and isinstance(embeddings, list)
    assert embeddings == []
    assert isinstance(extensions, FileList)
    assert extensions
    assert all(isinstance(path, str) and path.startswith("/extensions/") for path in extensions)


async def test_models_lists_folders_and_files(comfy_url: str) -> None:
    async with create_client(comfy_url, start_state_tracker=None) as client:
        folders = await client.get_models()
        checkpoints = await client.get_models("checkpoints")
        with pytest.raises(HTTPStatusError) as caught:
            await client.get_models("no_such_folder")
    assert isinstance(folders, FileList)
    assert "checkpoints" in folders
    assert "loras" in folders
    assert isinstance(checkpoints, FileList)
    assert checkpoints == []
    error = caught.value
    assert (error.status, error.method, error.route) == (404, "GET", "/api/models/no_such_folder")
    assert "404" in str(error)


async def test_users_on_a_single_user_server(comfy_url: str) -> None:
    async with create_client(comfy_url, start_state_tracker=None) as client:
        users = await client.get_users()
    assert users["storage"] == "server"
    assert "users" not in users


async def test_setting_round_trip(comfy_url: str) -> None:
    setting = f"sdk.test.{uuid.uuid4().hex}"
    value = {"answer": 42, "list": [1, "two"], "text": "héllo"}
    async with create_client(comfy_url, start_state_tracker=None) as client:
        assert await client.get_setting(setting) is None
        await client.set_setting(setting, value)
        assert await client.get_setting(setting) == value
        await client.set_setting(setting, "replaced")
        assert await client.get_setting(setting) == "replaced"


async def test_set_settings_merges(comfy_url: str) -> None:
    token = uuid.uuid4().hex
    first, second = f"sdk.test.{token}.a", f"sdk.test.{token}.b"
    async with create_client(comfy_url, start_state_tracker=None) as client:
        await client.set_setting(first, 1)
        await client.set_settings({second: [2, 3]})
        everything = await client.get_settings()
        assert await client.get_setting(second) == [2, 3]
    assert everything[first] == 1  # kept: the merge is shallow, not a replace
    assert everything[second] == [2, 3]


async def test_unknown_setting_is_none(comfy_url: str) -> None:
    async with create_client(comfy_url, start_state_tracker=None) as client:
        assert await client.get_setting(f"sdk.test.unknown.{uuid.uuid4().hex}") is None


async def test_a_real_plain_text_500_is_a_typed_error(comfy_url: str) -> None:
    request = Request(
        method="POST",
        path="/api/prompt",
        body=b"not json",
        headers=(("content-type", "application/json"),),
    )
    async with create_client(comfy_url, start_state_tracker=None) as client:
        response = await client.send(request)
    assert response.status == 500
    assert (response.header("content-type") or "").startswith("text/plain")
    with pytest.raises(HTTPStatusError) as caught:
        routes.read_json(request, response)
    error = caught.value
    assert (error.status, error.method, error.route) == (500, "POST", "/api/prompt")
    assert "Internal Server Error" in error.message
    assert "Internal Server Error" in str(error)
