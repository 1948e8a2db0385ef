"""Uploads, downloads and user data against the real server (PROTOCOL.md §2.2, §2.4, §10, §11)."""

from __future__ import annotations

import io
import random
import uuid
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from comfy_api_client import (
    ClientClosedError,
    HTTPStatusError,
    ImageItem,
    OutputFile,
    create_client,
    hookimpl,
)
from comfy_core.errors import LocalProtocolError
from comfy_core.http import Request, Response
from comfy_core.uploads import UploadedFile
from tests.workflows import rgb, save_image


def unique(stem: str, ext: str = "png") -> str:
    return f"{stem}_{uuid.uuid4().hex}.{ext}"


def picture(size: tuple[int, int] = (16, 12), mode: str = "RGB") -> Image.Image:
    """An image of random pixels: no two tests upload the same content."""
    width, height = size
    channels = len(mode)
    data = random.Random(uuid.uuid4().int).randbytes(width * height * channels)
    return Image.frombytes(mode, size, data)


def encode(image: Image.Image, format: str = "PNG", **options: Any) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=format, **options)
    return buffer.getvalue()


def input_ref(up: UploadedFile) -> OutputFile:
    """The /view reference of an uploaded file."""
    return OutputFile(
        node_id="", kind="images", filename=up.name, subfolder=up.subfolder, type=up.type
    )


def decoded(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


class RequestLog:
    """Records every HTTP request the client sends (retries included) and every response."""

    def __init__(self) -> None:
        self.requests: list[Request] = []
        self.responses: list[tuple[str, str, int]] = []

    @hookimpl
    def comfy_request_headers(self, request: Request, attempt: int) -> None:
        self.requests.append(request)

    @hookimpl
    def comfy_response_received(self, request: Request, response: Response) -> None:
        self.responses.append((request.method, request.path, response.status))


# -- uploads ----------------------------------------------------------------------------


async def test_png_bytes_round_trip_unchanged(comfy_url: str) -> None:
    name = unique("sdk_png")
    data = encode(picture())
    async with create_client(comfy_url, start_state_tracker=None) as client:
        up = await client.upload_image(name, data)
        back = await client.download(
            OutputFile(
                node_id="",
                kind="images",
                filename=up.name,
                subfolder=up.subfolder,
                type="input",
            )
        )
    assert up == UploadedFile(name=name, subfolder="", type="input")
    assert back == data


async def test_jpeg_stays_jpeg(comfy_url: str) -> None:
    name = unique("sdk_jpeg", "jpg")
    data = encode(picture(), "JPEG", quality=70)
    assert data[:3] == b"\xff\xd8\xff"
    async with create_client(comfy_url, start_state_tracker=None) as client:
        up = await client.upload_image(name, data)
        back = await client.download(input_ref(up))
    assert up.name == name
    assert back == data  # not re-encoded to PNG
    assert decoded(back).format == "JPEG"


async def test_upload_from_a_path_and_from_a_file_object(comfy_url: str, tmp_path: Path) -> None:
    data = encode(picture())
    path = tmp_path / "local.png"
    path.write_bytes(data)
    by_path, by_file = unique("sdk_path"), unique("sdk_file")
    async with create_client(comfy_url, start_state_tracker=None) as client:
        from_path = await client.upload_image(by_path, path)
        from_str = await client.upload_image(by_path, str(path))  # a str path works too
        with path.open("rb") as stream:
            from_file = await client.upload_image(by_file, stream)
        back_path = await client.download(input_ref(from_path))
        back_file = await client.download(input_ref(from_file))
    assert (from_path.name, from_str.name, from_file.name) == (by_path, by_path, by_file)
    assert back_path == data
    assert back_file == data


async def test_upload_a_pil_image(comfy_url: str) -> None:
    image = picture((20, 10))
    name = unique("sdk_pil")
    async with create_client(comfy_url, start_state_tracker=None) as client:
        up = await client.upload_image(name, image)
        back = decoded(await client.download(input_ref(up)))
    assert up.name == name
    assert back.format == "PNG"  # chosen from the name: the image has no format of its own
    assert back.size == image.size
    assert back.convert("RGB").tobytes() == image.tobytes()


async def test_name_clash_without_overwrite(comfy_url: str) -> None:
    stem = f"sdk_clash_{uuid.uuid4().hex}"
    name = f"{stem}.png"
    first, second = encode(picture()), encode(picture())
    assert first != second
    async with create_client(comfy_url, start_state_tracker=None) as client:
        original = await client.upload_image(name, first, overwrite=False)
        same = await client.upload_image(name, first, overwrite=False)
        renamed = await client.upload_image(name, second, overwrite=False)
        kept = await client.download(input_ref(original))
        moved = await client.download(input_ref(renamed))
        replaced = await client.upload_image(name, second, overwrite=True)
        now = await client.download(input_ref(replaced))
    assert original.name == name
    assert same.name == name  # identical bytes: nothing written, the same name back
    assert renamed.name == f"{stem} (1).png"
    assert kept == first
    assert moved == second
    assert replaced.name == name
    assert now == second


async def test_subfolder_upload_and_load_name(comfy_url: str) -> None:
    name = unique("sdk_sub")
    data = encode(picture())
    async with create_client(comfy_url, start_state_tracker=None) as client:
        up = await client.upload_image(name, data, subfolder="sdk_sub")
        nested = await client.upload_image(name, data, subfolder="sdk_sub/deeper")
        back = await client.download(input_ref(nested))
        at_top = await client.retrieve_image(name, type="input")
    assert up == UploadedFile(name=name, subfolder="sdk_sub", type="input")
    assert up.load_name == f"sdk_sub/{name}"
    assert nested.load_name == f"sdk_sub/deeper/{name}"
    assert back == data
    assert at_top is None  # it went into the subfolder only


async def test_uploaded_image_feeds_a_workflow(comfy_url: str) -> None:
    source = picture((8, 8))
    async with create_client(comfy_url) as client:
        up = await client.upload_image(unique("sdk_invert"), source)
        workflow = {
            "1": {"class_type": "LoadImage", "inputs": {"image": up.load_name}},
            "2": {"class_type": "ImageInvert", "inputs": {"image": ["1", 0]}},
            "3": {
                "class_type": "SaveImage",
                "inputs": {"images": ["2", 0], "filename_prefix": "sdk_invert"},
            },
        }
        result = await client.run(workflow, timeout=60)
    (item,) = result.output_images
    out = item.image.convert("RGB")
    assert out.size == source.size
    # The server computes 255 * (1 - v / 255) in float32 and truncates: 255 - v, or one less.
    pairs = list(zip(source.tobytes(), out.tobytes(), strict=True))
    assert all(255 - v - 1 <= w <= 255 - v for v, w in pairs), pairs
    assert sum(w == 255 - v for v, w in pairs) > len(pairs) // 4


async def test_upload_mask_replaces_the_alpha_of_the_original(comfy_url: str) -> None:
    original_image = picture((12, 12), "RGB")
    mask_image = picture((12, 12), "RGBA")
    async with create_client(comfy_url, start_state_tracker=None) as client:
        original = await client.upload_image(unique("sdk_original"), original_image)
        mask_name = unique("sdk_mask")
        masked = await client.upload_mask(mask_name, mask_image, original_reference=original)
        result = decoded(await client.download(input_ref(masked)))
    assert masked == UploadedFile(name=mask_name, subfolder="", type="input")
    assert result.mode == "RGBA"
    assert result.convert("RGB").tobytes() == original_image.tobytes()
    assert result.getchannel("A").tobytes() == mask_image.getchannel("A").tobytes()


async def test_bad_upload_input_fails_before_any_request(comfy_url: str, tmp_path: Path) -> None:
    log = RequestLog()
    data = encode(picture((2, 2)))
    async with create_client(comfy_url, start_state_tracker=None, plugins=[log]) as client:
        before = len(log.requests)
        for bad_name in ("../x.png", "a/b.png", "a\\b.png", ""):
            with pytest.raises(LocalProtocolError):
                await client.upload_image(bad_name, data)
        with pytest.raises(LocalProtocolError):
            await client.upload_image(unique("sdk_bad"), data, type="nope")
        with pytest.raises(LocalProtocolError):
            await client.upload_image(unique("sdk_bad"), data, subfolder="../escape")
        with pytest.raises(FileNotFoundError):
            await client.upload_image(unique("sdk_bad"), tmp_path / "missing.png")
        with pytest.raises(TypeError):
            await client.upload_image(unique("sdk_bad"), 42)
        with (tmp_path / "text.txt").open("w+") as text, pytest.raises(TypeError, match="binary"):
            await client.upload_image(unique("sdk_bad"), text)
        assert log.requests[before:] == []
        # The log does see requests: a good upload is one request.
        await client.upload_image(unique("sdk_good"), data)
    assert [(r.method, r.path) for r in log.requests[before:]] == [("POST", "/api/upload/image")]


# -- reading files --------------------------------------------------------------------


async def test_retrieve_image(comfy_url: str) -> None:
    image = picture((9, 7))
    name = unique("sdk_retrieve")
    async with create_client(comfy_url, start_state_tracker=None) as client:
        missing = await client.retrieve_image(unique("sdk_missing"), type="input")
        up = await client.upload_image(name, image)
        item = await client.retrieve_image(up.name, up.subfolder, up.type)
    assert missing is None
    assert isinstance(item, ImageItem)
    assert (item.filename, item.format, item.type) == (name, "png", "input")
    assert item.image.size == (9, 7)
    assert item.image.convert("RGB").tobytes() == image.tobytes()


async def test_view_metadata_of_a_missing_model_is_none(comfy_url: str) -> None:
    async with create_client(comfy_url, start_state_tracker=None) as client:
        assert await client.view_metadata("checkpoints", "nothing.safetensors") is None
        assert await client.retrieve_metadata("checkpoints", "nothing.safetensors") is None


async def test_download_to_streams_into_a_new_folder(
    comfy_url: str, fresh_color: int, tmp_path: Path
) -> None:
    target = tmp_path / "deep" / "er" / "out.png"
    async with create_client(comfy_url) as client:
        result = await client.run(save_image(fresh_color, size=32, prefix="sdk_to"), timeout=60)
        (ref,) = result.image_files
        written = await client.download_to(ref, target)
        data = await client.download(ref)
        image = await client.download_image(ref)
    assert written == target
    assert target.read_bytes() == data
    assert data == result.output_images[0].data
    assert isinstance(image, Image.Image)
    assert image.size == (32, 32)
    assert image.convert("RGB").getpixel((0, 0)) == rgb(fresh_color)


async def test_download_to_a_missing_file_raises_and_leaves_nothing(
    comfy_url: str, tmp_path: Path
) -> None:
    target = tmp_path / "new" / "missing.png"
    ref = OutputFile(node_id="", kind="images", filename=unique("sdk_none"), type="output")
    async with create_client(comfy_url, start_state_tracker=None) as client:
        with pytest.raises(HTTPStatusError) as caught:
            await client.download_to(ref, target)
    assert (caught.value.status, caught.value.method, caught.value.route) == (
        404,
        "GET",
        "/api/view",
    )
    assert not target.exists()


async def test_download_to_goes_through_the_plugin_hooks(comfy_url: str, tmp_path: Path) -> None:
    # docs/plugins.md: comfy_request_headers runs "before every HTTP request" and
    # comfy_response_received sees "every HTTP response": a header plugin (auth behind a
    # proxy, tracing) must apply to streamed downloads as it does to client.download.
    log = RequestLog()
    data = encode(picture())
    async with create_client(comfy_url, start_state_tracker=None, plugins=[log]) as client:
        up = await client.upload_image(unique("sdk_hooks"), data)
        before = len(log.requests), len(log.responses)
        await client.download_to(input_ref(up), tmp_path / "hooked.png")
    assert (tmp_path / "hooked.png").read_bytes() == data
    assert [(r.method, r.path) for r in log.requests[before[0] :]] == [("GET", "/api/view")]
    assert log.responses[before[1] :] == [("GET", "/api/view", 200)]


async def test_download_to_on_a_closed_client_is_refused(comfy_url: str, tmp_path: Path) -> None:
    target = tmp_path / "closed" / "never.png"
    async with create_client(comfy_url, start_state_tracker=None) as client:
        up = await client.upload_image(unique("sdk_closed"), encode(picture()))
    with pytest.raises(ClientClosedError):
        await client.download(input_ref(up))
    with pytest.raises(ClientClosedError):  # an SDK error, as download() raises
        await client.download_to(input_ref(up), target)
    assert not target.exists()  # and no empty file left behind


# -- user data --------------------------------------------------------------------------


async def test_userdata_lifecycle(comfy_url: str) -> None:
    token = uuid.uuid4().hex
    file, moved = f"sdk_tests/{token}.json", f"sdk_tests/{token}_moved.json"
    body = b'{"hello": "world"}'
    async with create_client(comfy_url, start_state_tracker=None) as client:
        stored = await client.put_userdata(file, body)
        listed = await client.list_userdata("sdk_tests")
        read = await client.get_userdata(file)
        with pytest.raises(HTTPStatusError) as exists:
            await client.put_userdata(file, b"other", overwrite=False)
        unchanged = await client.get_userdata(file)
        await client.put_userdata(file, "replaced")  # str is sent as UTF-8
        replaced = await client.get_userdata(file)
        new_path = await client.move_userdata(file, moved)
        with pytest.raises(HTTPStatusError) as gone:
            await client.get_userdata(file)
        at_new = await client.get_userdata(moved)
        await client.delete_userdata(moved)
        with pytest.raises(HTTPStatusError) as deleted:
            await client.get_userdata(moved)
        after = await client.list_userdata("sdk_tests")
    assert stored == file
    assert f"{token}.json" in listed
    assert read == body
    assert (exists.value.status, exists.value.method) == (409, "POST")
    assert unchanged == body
    assert replaced == b"replaced"
    assert new_path == moved
    assert gone.value.status == 404
    assert at_new == b"replaced"
    assert deleted.value.status == 404
    assert f"{token}.json" not in after and f"{token}_moved.json" not in after


async def test_move_userdata_refuses_to_overwrite_unless_told(comfy_url: str) -> None:
    token = uuid.uuid4().hex
    first, second = f"sdk_tests/{token}_a.json", f"sdk_tests/{token}_b.json"
    async with create_client(comfy_url, start_state_tracker=None) as client:
        await client.put_userdata(first, b"a")
        await client.put_userdata(second, b"b")
        with pytest.raises(HTTPStatusError) as caught:
            await client.move_userdata(first, second)
        assert await client.get_userdata(second) == b"b"
        assert await client.move_userdata(first, second, overwrite=True) == second
        assert await client.get_userdata(second) == b"a"
        await client.delete_userdata(second)
    assert caught.value.status == 409


async def test_list_userdata_full_info(comfy_url: str) -> None:
    token = uuid.uuid4().hex
    file = f"sdk_tests/{token}.bin"
    body = bytes(range(256)) * 3
    async with create_client(comfy_url, start_state_tracker=None) as client:
        await client.put_userdata(file, body)
        try:
            infos = await client.list_userdata("sdk_tests", full_info=True)
        finally:
            await client.delete_userdata(file)
    assert all(isinstance(info, dict) and "path" in info and "size" in info for info in infos)
    (mine,) = [info for info in infos if info["path"] == f"{token}.bin"]
    assert mine["size"] == len(body)
