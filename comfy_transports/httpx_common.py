"""What the async and sync httpx transports share: building a request, reading the answer,
and httpx exceptions as the SDK's TransportError tree (messages name the method and path
only: never the query or credentials).

Bodies are read raw (``iter_raw``: httpx's own decoders inflate a whole network read
at once, a thousandfold for a gzip bomb) and decoded, bounded and counted by
:class:`~comfy_transports.bodies.BodyReader`. Redirects are never followed.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import httpcore
import httpx

from comfy_core.errors import ClientClosedError, ConnectError, NetworkError, TransportTimeout
from comfy_core.http import Request, Response
from comfy_core.urls import ServerURL

__all__ = ["build_request", "mapped_errors", "to_response"]


def build_request(
    client: httpx.Client | httpx.AsyncClient, url: ServerURL, request: Request
) -> httpx.Request:
    """``request`` as an httpx request on ``client``, with the base URL's prefix and query."""
    return client.build_request(
        request.method,
        url.http(request.path),
        params=[*url.params, *request.params],
        headers=list(request.headers),
        content=request.body or None,
    )


@contextmanager
def mapped_errors(
    request: Request, netloc: str, client: httpx.Client | httpx.AsyncClient | None = None
) -> Iterator[None]:
    # httpcore's exceptions reach here unmapped from the sync transport's own pool.
    what = f"{request.method} {request.path}"
    try:
        yield
    except RuntimeError as exc:  # httpx's word for a request on a client closed meanwhile
        if client is not None and client.is_closed:
            raise ClientClosedError(f"{what}: the transport was closed") from exc
        raise
    except (httpx.TimeoutException, httpcore.TimeoutException) as exc:
        raise TransportTimeout(f"{what} timed out ({type(exc).__name__})") from exc
    except (httpx.ConnectError, httpcore.ConnectError) as exc:
        raise ConnectError(f"{what}: cannot connect to {netloc}") from exc
    except (httpx.TransportError, httpx.StreamError, httpcore.NetworkError) as exc:
        raise NetworkError(f"{what} failed: {type(exc).__name__}") from exc
    except (httpcore.ProtocolError, httpcore.UnsupportedProtocol) as exc:
        raise NetworkError(f"{what} failed: {type(exc).__name__}") from exc


def to_response(answer: httpx.Response, body: bytes) -> Response:
    headers = tuple((k.lower(), v) for k, v in answer.headers.multi_items())
    return Response(status=answer.status_code, headers=headers, body=body)
