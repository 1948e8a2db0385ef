"""Take credentials out of what gets logged, recorded or shown in an error.

Credentials reach a ComfyUI server in four places (PROTOCOL.md §14):
headers (``Authorization``, ``X-API-Key``, cookies), Basic auth, query
parameters such as ``?token=`` and userinfo in a URL. These helpers replace
each with ``REDACTED`` and keep everything else, so logs stay useful.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable
from urllib.parse import parse_qsl, quote, quote_plus, urlencode, urlsplit, urlunsplit

__all__ = [
    "REDACTED",
    "redact_text",
    "is_secret_header",
    "is_secret_param",
    "redact_headers",
    "redact_params",
    "redact_secrets",
    "redact_url",
    "client_secrets",
    "scrub_error",
    "secret_forms",
]

REDACTED = "REDACTED"
_SECRET_HEADERS = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "cookie",
        "set-cookie",
        "x-api-key",
        "api-key",
        "x-auth-token",
        "x-access-token",
    }
)
_SECRET_PARAM_WORDS = ("token", "key", "secret", "password", "passwd", "auth", "signature")


def is_secret_header(name: str) -> bool:
    lowered = name.lower()
    return lowered in _SECRET_HEADERS or "token" in lowered or "secret" in lowered


def is_secret_param(name: str) -> bool:
    lowered = name.lower()
    return any(word in lowered for word in _SECRET_PARAM_WORDS)


def redact_headers(headers: Iterable[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
    return tuple((k, REDACTED if is_secret_header(k) else v) for k, v in headers)


def redact_params(params: Iterable[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
    return tuple((k, REDACTED if is_secret_param(k) else v) for k, v in params)


def redact_url(url: str) -> str:
    """``url`` without userinfo and with secret query values replaced."""
    parts = urlsplit(url)
    netloc = parts.netloc.rsplit("@", 1)[-1]
    if "@" in parts.netloc:
        netloc = f"{REDACTED}@{netloc}"
    query = urlencode(redact_params(parse_qsl(parts.query, keep_blank_values=True)))
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


_USERINFO = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)[^/@\s\"']+@")
_QUERY_VALUE = re.compile(r"(?P<name>[?&;][^=&\s\"']+)=(?P<value>[^&#\s\"']*)")
_HEADER_LINE = re.compile(r"(?m)^(?P<prefix>[<>]? ?)(?P<name>[A-Za-z0-9-]+): (?P<value>.*)$")


def redact_text(text: str) -> str:
    """``text`` (a log line, a URL, a dump of headers) with credentials replaced.

    Catches userinfo in URLs, secret-looking query parameters and
    ``Name: value`` header lines with a secret-looking name. Values under other
    names cannot be recognised in free text: keep them out of messages.
    """
    text = _USERINFO.sub(lambda m: f"{m['scheme']}{REDACTED}@", text)
    text = _QUERY_VALUE.sub(
        lambda m: f"{m['name']}={REDACTED}" if is_secret_param(m["name"][1:]) else m[0], text
    )
    return _HEADER_LINE.sub(
        lambda m: f"{m['prefix']}{m['name']}: {REDACTED}" if is_secret_header(m["name"]) else m[0],
        text,
    )


def secret_forms(value: str) -> tuple[str, ...]:
    """``value`` as it may appear in text: raw, URL-encoded (both ways) and base64."""
    if not value:
        return ()
    forms = {
        value,
        quote(value, safe=""),
        quote(value),
        quote_plus(value),
        base64.b64encode(value.encode()).decode(),
    }
    return tuple(sorted(forms, key=len, reverse=True))


def redact_secrets(text: str, secrets: Iterable[str]) -> str:
    """``text`` through :func:`redact_text`, then with each of ``secrets`` (literal
    strings, e.g. a transport's ``secrets``) replaced wherever it occurs.

    The literal pass catches what no pattern can: a custom header's value echoed
    in a body, a password inside a base64 blob. Give it every form of each secret
    (:func:`secret_forms`); longer ones are replaced first.
    """
    text = redact_text(text)
    for secret in sorted(set(secrets), key=len, reverse=True):
        if secret and secret in text:
            text = text.replace(secret, REDACTED)
    return text


_MIN_SECRET = 3  # shorter values would blank out ordinary words


def client_secrets(transport: object, url: object) -> frozenset[str]:
    """Every credential a client sends, in every form: the transport's own list
    (``ConfiguredTransport.secrets``) and, for a transport without one, the URL's
    password and query values."""
    values = set(getattr(transport, "secrets", ()) or ())
    for _, value in getattr(url, "params", ()) or ():
        values.update(secret_forms(value))
    password = getattr(url, "password", None)
    if password:
        values.update(secret_forms(password))
    return frozenset(v for v in values if len(v) >= _MIN_SECRET)


def scrub_error(error: BaseException, secrets: Iterable[str]) -> BaseException:
    """``error`` with every credential taken out of its message, its text attributes and
    the exceptions chained to it, in place; returns it.

    Servers and proxies echo requests in error pages (the URL, the headers): the
    SDK's errors quote server text, so they are cleaned before they reach anyone.
    """
    secrets = tuple(secrets)

    def clean(text: str) -> str:
        return redact_secrets(text, secrets)

    seen: set[int] = set()
    pending: list[BaseException] = [error]
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        current.args = tuple(clean(a) if isinstance(a, str) else a for a in current.args)
        for name, value in list(getattr(current, "__dict__", {}).items()):
            if isinstance(value, str):
                setattr(current, name, clean(value))
            elif isinstance(value, tuple) and value and all(isinstance(v, str) for v in value):
                setattr(current, name, tuple(clean(v) for v in value))
        pending.extend(c for c in (current.__cause__, current.__context__) if c is not None)
    return error
