"""httpx exceptions as the SDK's TransportError tree (shared by the async and sync httpx
transports). Messages name the method and path only: never the query or credentials."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import httpx

from comfy_core.errors import ConnectError, NetworkError, TransportTimeout
from comfy_core.http import Request, Response

__all__ = ["mapped_errors", "to_response"]


@contextmanager
def mapped_errors(request: Request, netloc: str) -> Iterator[None]:
    what = f"{request.method} {request.path}"
    try:
        yield
    except httpx.TimeoutException as exc:
        raise TransportTimeout(f"{what} timed out ({type(exc).__name__})") from exc
    except httpx.ConnectError as exc:
        raise ConnectError(f"{what}: cannot connect to {netloc}") from exc
    except httpx.TransportError as exc:
        raise NetworkError(f"{what} failed: {type(exc).__name__}") from exc


def to_response(answer: httpx.Response, body: bytes) -> Response:
    headers = tuple((k.lower(), v) for k, v in answer.headers.multi_items())
    return Response(status=answer.status_code, headers=headers, body=body)
