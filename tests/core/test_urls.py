"""comfy_core.urls.ServerURL: parsing the base URL and deriving HTTP and WebSocket URLs."""

from __future__ import annotations

import pytest

from comfy_core.urls import ServerURL


def test_bare_host_and_port_means_http() -> None:
    url = ServerURL.parse("localhost:8188")
    assert (url.scheme, url.host, url.port, url.prefix) == ("http", "localhost", 8188, "")
    assert url.base == "http://localhost:8188"
    assert url.http("/api/prompt") == "http://localhost:8188/api/prompt"
    assert url.ws("abc") == "ws://localhost:8188/ws?clientId=abc"
    assert (url.username, url.password) == (None, None)


def test_https_with_path_prefix() -> None:
    url = ServerURL.parse("https://host/comfy/")
    assert (url.scheme, url.host, url.port, url.prefix) == ("https", "host", None, "/comfy")
    assert url.base == "https://host/comfy"
    assert url.http("/api/prompt") == "https://host/comfy/api/prompt"
    assert url.ws("abc") == "wss://host/comfy/ws?clientId=abc"


def test_http_path_is_quoted() -> None:
    url = ServerURL.parse("http://host:8188")
    assert url.http("/api/userdata/my workflow.json") == (
        "http://host:8188/api/userdata/my%20workflow.json"
    )
    assert url.http("/api/userdata/a%2Fb.json") == "http://host:8188/api/userdata/a%2Fb.json"


def test_credentials_are_put_aside() -> None:
    url = ServerURL.parse("http://user:p%40ss@host:1/")
    assert (url.username, url.password) == ("user", "p@ss")
    assert (url.host, url.port, url.prefix) == ("host", 1, "")
    assert url.base == "http://host:1"
    for text in (repr(url), url.base, url.http("/api/prompt"), url.ws("abc")):
        assert "user" not in text
        assert "p@ss" not in text and "p%40ss" not in text


def test_scheme_is_case_insensitive_and_whitespace_is_trimmed() -> None:
    url = ServerURL.parse("  HTTPS://Example.org:8443/base  ")
    assert (url.scheme, url.port, url.prefix) == ("https", 8443, "/base")
    assert url.ws("x").startswith("wss://")


@pytest.mark.parametrize(
    "text",
    ["ftp://host/", "", "   ", "ws://host:8188", "http://", "http://host:99999", "http://host:x"],
)
def test_invalid_urls(text: str) -> None:
    with pytest.raises(ValueError):
        ServerURL.parse(text)


def test_non_string_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        ServerURL.parse(None)  # type: ignore[arg-type]


def test_ipv6() -> None:
    url = ServerURL.parse("http://[::1]:8188")
    assert (url.host, url.port) == ("::1", 8188)
    assert url.netloc == "[::1]:8188"
    assert url.base == "http://[::1]:8188"
    assert url.http("/api/queue") == "http://[::1]:8188/api/queue"
    assert url.ws("abc") == "ws://[::1]:8188/ws?clientId=abc"
    no_port = ServerURL.parse("https://[2001:db8::2]/comfy")
    assert no_port.base == "https://[2001:db8::2]/comfy"
