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
    "redact_url",
    "credential_values",
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


_MIN_SECRET = 3  # shorter values would blank out ordinary words


def secret_forms(values: Iterable[str]) -> frozenset[str]:
    """Every form in which ``values`` (tokens, passwords, ``user:pass``, header values)
    may show up in text a server echoes: raw, URL-encoded, and base64 (Basic auth)."""
    forms: set[str] = set()
    for value in values:
        if len(value) < _MIN_SECRET:
            continue
        encoded = base64.b64encode(value.encode()).decode()
        forms.update({value, quote(value, safe=""), quote_plus(value), encoded})
        forms.add(encoded.rstrip("="))
    return frozenset(f for f in forms if len(f) >= _MIN_SECRET)


def credential_values(transport: object, url: object) -> list[str]:
    """The credentials a transport sends: its header values (Basic decoded to
    ``user:pass`` and the password), bearer tokens, the URL's query values and
    password. Reads ``transport.secrets`` when a transport lists its own."""
    values = [str(v) for v in getattr(transport, "secrets", ()) or ()]
    settings = getattr(transport, "settings", None)
    # Every extra header: custom ones may carry keys under any name.
    for value in dict(getattr(settings, "headers", {}) or {}).values():
        scheme, _, rest = value.partition(" ")
        values.append(value)
        if scheme.lower() == "bearer":
            values.append(rest)
        elif scheme.lower() == "basic":
            try:
                pair = base64.b64decode(rest, validate=True).decode()
            except ValueError:
                continue
            values.extend([rest, pair, pair.partition(":")[2]])
    for source in (getattr(settings, "url", None), url):
        values.extend(v for _, v in getattr(source, "params", ()) or ())
        password = getattr(source, "password", None)
        if password:
            values.append(password)
    return values


def _clean(text: str, secrets: frozenset[str]) -> str:
    for secret in sorted(secrets, key=len, reverse=True):  # longest first: no half-forms left
        text = text.replace(secret, REDACTED)
    return redact_text(text)


def scrub_error(error: BaseException, secrets: frozenset[str]) -> BaseException:
    """``error`` with every credential taken out of its message, its text attributes and
    the exceptions chained to it, in place; returns it, for ``raise scrub_error(...)``.

    Servers and proxies echo requests in error pages (the URL, the headers): the
    SDK's errors quote server text, so they are cleaned before they reach anyone.
    """
    seen: set[int] = set()
    current: BaseException | None = error
    pending = [error]
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        current.args = tuple(_clean(a, secrets) if isinstance(a, str) else a for a in current.args)
        for name, value in list(getattr(current, "__dict__", {}).items()):
            if isinstance(value, str):
                setattr(current, name, _clean(value, secrets))
            elif isinstance(value, tuple) and value and all(isinstance(v, str) for v in value):
                setattr(current, name, tuple(_clean(v, secrets) for v in value))
        pending.extend(c for c in (current.__cause__, current.__context__) if c is not None)
    return error
