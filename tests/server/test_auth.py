"""Auth and deployment end to end: a reverse proxy in front of the real server demands
each credential kind on HTTP and on the WebSocket upgrade; TLS with a CA of the test's own."""

from __future__ import annotations

import base64
import datetime
import ipaddress
import ssl
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from comfy_api_client import HTTPStatusError, create_client
from comfy_core.errors import ConnectError
from tests.fault_proxy import FaultProxy
from tests.workflows import rgb, save_image

SECRET = "open-sesame"
Check = Callable[[str, str, dict[str, str]], bool]


def query_token(target: str) -> str | None:
    values = parse_qs(urlsplit(target).query).get("token")
    return values[0] if values else None


KINDS: dict[str, tuple[Check, Callable[[str], tuple[str, dict[str, Any]]]]] = {
    "basic": (
        lambda m, t, h: (
            h.get("authorization")
            == "Basic " + base64.b64encode(f"comfy:{SECRET}".encode()).decode()
        ),
        lambda url: (url, {"auth": ("comfy", SECRET)}),
    ),
    "basic in url": (
        lambda m, t, h: (
            h.get("authorization")
            == "Basic " + base64.b64encode(f"comfy:{SECRET}".encode()).decode()
        ),
        lambda url: (url.replace("http://", f"http://comfy:{SECRET}@"), {}),
    ),
    "bearer": (
        lambda m, t, h: h.get("authorization") == f"Bearer {SECRET}",
        lambda url: (url, {"token": SECRET}),
    ),
    "api key header": (
        lambda m, t, h: h.get("x-api-key") == SECRET,
        lambda url: (url, {"headers": {"X-API-Key": SECRET}}),
    ),
    "query token": (
        lambda m, t, h: query_token(t) == SECRET,
        lambda url: (f"{url}/?token={SECRET}", {}),
    ),
}


def upstream(comfy_url: str) -> tuple[str, int]:
    parts = urlsplit(comfy_url)
    assert parts.hostname and parts.port
    return parts.hostname, parts.port


@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.parametrize("tracker", ["websocket", "http"])
async def test_each_credential_reaches_http_and_websocket(
    comfy_url: str, fresh_color: int, kind: str, tracker: Any
) -> None:
    check, configure = KINDS[kind]
    async with FaultProxy(upstream(comfy_url), require=check) as proxy:
        url, options = configure(proxy.url)
        async with create_client(url, start_state_tracker=tracker, **options) as client:
            result = await client.run(save_image(fresh_color, prefix="sdk_auth"), timeout=30)
            image = await client.download_image(result.image_files[0])
        with pytest.raises(HTTPStatusError) as refused:
            async with create_client(proxy.url, start_state_tracker=tracker):
                pass
    assert image.convert("RGB").getpixel((0, 0)) == rgb(fresh_color)
    assert refused.value.status == 401 and refused.value.route == "/api/system_stats"
    # Every request of the session passed the check; only the bare attempt was refused.
    refusals = [s.path for s in proxy.log if s.fault == "refused"]
    assert refusals == ["/api/system_stats"]
    accepted = [s for s in proxy.log if s.fault != "refused"]
    assert not any(s.headers.get("origin") for s in proxy.log)  # never an Origin header
    if tracker == "websocket":
        assert any(s.upstream_status == 101 for s in accepted), "the WebSocket did not get through"


async def test_websocket_refused_without_credentials_fails_clearly(comfy_url: str) -> None:
    # HTTP passes, the upgrade is refused: create_client says so instead of hanging.
    def check(method: str, target: str, headers: dict[str, str]) -> bool:
        return "upgrade" not in headers

    async with FaultProxy(upstream(comfy_url), require=check) as proxy:
        with pytest.raises(ConnectError, match="refused the upgrade with 401"):
            async with create_client(proxy.url):
                pass


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, ssl.SSLContext]:
    """A throwaway CA and a certificate for 127.0.0.1 signed by it."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    folder = tmp_path_factory.mktemp("tls")
    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "comfy test CA")])
    ca = (
        x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
        .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )  # fmt: skip
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )  # fmt: skip
    ca_path = folder / "ca.pem"
    ca_path.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    (folder / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (folder / "key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(folder / "cert.pem", folder / "key.pem")
    return ca_path, server


@pytest.mark.parametrize("tracker", ["websocket", "http"])
async def test_https_and_wss_with_verification(
    comfy_url: str, fresh_color: int, tls_files: tuple[Path, ssl.SSLContext], tracker: Any
) -> None:
    ca_path, server_context = tls_files
    async with FaultProxy(upstream(comfy_url), tls=server_context) as proxy:
        assert proxy.url.startswith("https://")
        with pytest.raises(ConnectError):  # verification is on by default: unknown CA
            async with create_client(proxy.url, start_state_tracker=tracker):
                pass
        async with create_client(
            proxy.url, start_state_tracker=tracker, verify=str(ca_path)
        ) as client:
            result = await client.run(save_image(fresh_color, prefix="sdk_tls"), timeout=30)
        async with create_client(proxy.url, start_state_tracker=tracker, verify=False) as client:
            await client.get_system_stats()
    assert result.output_images[0].image.convert("RGB").getpixel((0, 0)) == rgb(fresh_color)
    if tracker == "websocket":
        assert any(s.upstream_status == 101 for s in proxy.log), "wss did not get through"
