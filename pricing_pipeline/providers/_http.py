"""The one way adapters talk to upstream APIs: timeouts, a size cap, typed errors."""

from __future__ import annotations

import email.utils
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx

from pricing_pipeline.providers import json_body
from pricing_pipeline.providers.errors import InvalidResponse, UpstreamError
from pricing_pipeline.redaction import redact, redact_bytes

DEFAULT_TIMEOUT_SECONDS = 30.0
DEFAULT_CONNECT_TIMEOUT_SECONDS = 10.0
# models.dev is ~4 MB and LiteLLM ~1.4 MB today; 64 MB leaves room to grow and still stops
# a runaway body before it exhausts the run worker's memory.
DEFAULT_MAX_RESPONSE_BYTES = 64 * 1024 * 1024
USER_AGENT = "pricing-pipeline/0.1 (+https://github.com/example/pricing-pipeline)"


@dataclass(frozen=True)
class FetchResult:
    provider: str
    url: str
    status_code: int
    body: bytes
    fetched_at: datetime
    elapsed_seconds: float
    # The validators for a conditional request next time (None when the upstream sends none)
    etag: str | None = None
    last_modified: str | None = None

    @property
    def not_modified(self) -> bool:
        """A ``304`` to a conditional request: the body is the one those validators named."""
        return self.status_code == 304

    def json(self) -> Any:
        return json_body.load(self.provider, self.body)


@dataclass(frozen=True)
class HttpSettings:
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS
    connect_timeout_seconds: float = DEFAULT_CONNECT_TIMEOUT_SECONDS
    max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES


def fetch(
    provider: str,
    url: str,
    headers: dict[str, str] | None = None,
    settings: HttpSettings = HttpSettings(),
    transport: httpx.BaseTransport | None = None,
) -> FetchResult:
    """GET ``url``; raise :class:`UpstreamError` with a fixed ``error_type`` on any failure."""
    timeout = httpx.Timeout(settings.timeout_seconds, connect=settings.connect_timeout_seconds)
    request_headers = {"Accept": "application/json", "User-Agent": USER_AGENT, **(headers or {})}
    started = time.monotonic()
    try:
        with httpx.Client(timeout=timeout, transport=transport, follow_redirects=True) as client:
            with client.stream("GET", url, headers=request_headers) as response:
                _raise_for_status(provider, response)
                body = _read_capped(provider, response, settings.max_response_bytes)
                status_code = response.status_code
                etag, last_modified = response.headers.get("ETag"), response.headers.get("Last-Modified")
    except httpx.TimeoutException as exc:
        raise UpstreamError(
            provider, "timeout", f"request timed out after {settings.timeout_seconds:g}s ({type(exc).__name__})"
        ) from None
    except httpx.ConnectError as exc:
        # DNS failure or refused connection: no request was sent, and retrying with the whole
        # backoff inside the run rarely helps (offline machine, wrong URL) while an offline
        # start must fail within a minute: one retry, the next schedule tick does the rest.
        raise UpstreamError(
            provider, "connection", f"could not connect ({type(exc).__name__}: {exc})", max_retries=1
        ) from None
    except httpx.TransportError as exc:
        raise UpstreamError(provider, "connection", f"connection failed ({type(exc).__name__}: {exc})") from None
    return FetchResult(
        provider=provider,
        url=url,
        status_code=status_code,
        body=redact_bytes(body),  # an upstream echoing a key: never archived, parsed or shown
        fetched_at=datetime.now(timezone.utc),
        elapsed_seconds=time.monotonic() - started,
        etag=etag,
        last_modified=last_modified,
    )


def _raise_for_status(provider: str, response: httpx.Response) -> None:
    status = response.status_code
    if status < 400:
        return
    if status == 429:
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        hint = f"; Retry-After {retry_after:g}s" if retry_after is not None else ""
        raise UpstreamError(provider, "rate_limited", f"rate limited (HTTP 429){hint}", retry_after)
    error_type = "http_5xx" if status >= 500 else "http_4xx"
    raise UpstreamError(provider, error_type, f"HTTP {status} {response.reason_phrase}".rstrip())


def _read_capped(provider: str, response: httpx.Response, max_bytes: int) -> bytes:
    declared = response.headers.get("Content-Length")
    if declared and declared.isdigit() and int(declared) > max_bytes:
        raise InvalidResponse(provider, f"response of {int(declared)} bytes exceeds the {max_bytes}-byte cap")
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_bytes():
        size += len(chunk)
        if size > max_bytes:
            raise InvalidResponse(provider, f"response exceeds the {max_bytes}-byte cap")
        chunks.append(chunk)
    return b"".join(chunks)


def public_url(url: str) -> str:
    """The URL without credentials or query string, safe for metadata and logs."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return redact(urlunsplit((parts.scheme, host, parts.path, "", "")))


def parse_retry_after(value: str | None) -> float | None:
    """Retry-After as seconds: either delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - datetime.now(timezone.utc)).total_seconds())
