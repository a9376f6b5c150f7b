"""Many small GETs of one upstream at once (a model's endpoints, ~500 per OpenRouter sync):
bounded concurrency, a shared pause on ``429``, a few retries of transient errors, and a
failure per request instead of for the whole lot.

One ``429`` pauses every request of the batch until its ``Retry-After`` has passed (capped), as
the upstream asked: a rate limit is the API's, not one URL's. Transient failures (timeout,
connection, 5xx) are retried with exponential backoff; other 4xx and oversized bodies are not.
A request that still fails is reported with its error type; the others' bodies are returned.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

import httpx

from pricing_pipeline.providers import _http
from pricing_pipeline.providers.errors import UpstreamError
from pricing_pipeline.redaction import redact, redact_bytes

DEFAULT_CONCURRENCY = 8
DEFAULT_ATTEMPTS = 3
BACKOFF_SECONDS = 0.5
MAX_PAUSE_SECONDS = 60.0


@dataclass(frozen=True)
class DetailFetch:
    """The outcome of a batch: bodies and failures by key, and what it took."""

    bodies: dict[str, bytes] = field(default_factory=dict)
    failures: dict[str, str] = field(default_factory=dict)  # key -> "error_type: message"
    requests: int = 0  # every request sent, retries included
    max_in_flight: int = 0
    rate_limited: int = 0  # 429 answers
    elapsed_seconds: float = 0.0


def fetch_all(
    provider: str,
    urls: Mapping[str, str],
    headers: Mapping[str, str] | None = None,
    settings: _http.HttpSettings = _http.HttpSettings(),
    concurrency: int = DEFAULT_CONCURRENCY,
    attempts: int = DEFAULT_ATTEMPTS,
    transport: httpx.AsyncBaseTransport | None = None,
) -> DetailFetch:
    """GET every URL of ``urls`` (key -> URL), at most ``concurrency`` at a time."""
    if not urls:
        return DetailFetch()
    return asyncio.run(_Batch(provider, headers or {}, settings, max(1, concurrency), attempts).run(urls, transport))


class _Batch:
    def __init__(self, provider: str, headers: Mapping[str, str], settings: _http.HttpSettings, concurrency: int,
                 attempts: int):
        self.provider, self.settings, self.attempts = provider, settings, max(1, attempts)
        self.headers = {"Accept": "application/json", "User-Agent": _http.USER_AGENT, **headers}
        self.concurrency = concurrency
        self.resume_at = 0.0  # monotonic instant before which no request starts (a 429's pause)
        self.in_flight = self.max_in_flight = self.requests = self.rate_limited = 0
        self.bodies: dict[str, bytes] = {}
        self.failures: dict[str, str] = {}

    async def run(self, urls: Mapping[str, str], transport) -> DetailFetch:
        started = time.monotonic()
        timeout = httpx.Timeout(self.settings.timeout_seconds, connect=self.settings.connect_timeout_seconds)
        limits = httpx.Limits(max_connections=self.concurrency, max_keepalive_connections=self.concurrency)
        gate = asyncio.Semaphore(self.concurrency)
        async with httpx.AsyncClient(timeout=timeout, limits=limits, transport=transport,
                                     follow_redirects=True) as client:
            await asyncio.gather(*(self._one(client, gate, key, url) for key, url in urls.items()))
        return DetailFetch(self.bodies, self.failures, self.requests, self.max_in_flight, self.rate_limited,
                           time.monotonic() - started)

    async def _one(self, client: httpx.AsyncClient, gate: asyncio.Semaphore, key: str, url: str) -> None:
        for attempt in range(self.attempts):
            async with gate:
                await self._wait_for_pause()
                error = await self._get(client, key, url)
            if error is None:
                return
            last = attempt + 1 == self.attempts
            if last or not error.transient:
                self.failures[key] = redact(f"{error.error_type}: {error}")[:300]
                return
            if error.error_type == "rate_limited":
                pause = min(error.retry_after_seconds or BACKOFF_SECONDS * 2**attempt, MAX_PAUSE_SECONDS)
                self.resume_at = max(self.resume_at, time.monotonic() + pause)
            else:
                await asyncio.sleep(BACKOFF_SECONDS * 2**attempt)

    async def _wait_for_pause(self) -> None:
        while (wait := self.resume_at - time.monotonic()) > 0:
            await asyncio.sleep(wait)

    async def _get(self, client: httpx.AsyncClient, key: str, url: str) -> UpstreamError | None:
        self.requests += 1
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            async with client.stream("GET", url, headers=self.headers) as response:
                if response.status_code == 429:
                    self.rate_limited += 1
                    retry_after = _http.parse_retry_after(response.headers.get("Retry-After"))
                    return UpstreamError(self.provider, "rate_limited", f"rate limited (HTTP 429) at {_http.public_url(url)}",
                                         retry_after)
                if response.status_code >= 400:
                    kind = "http_5xx" if response.status_code >= 500 else "http_4xx"
                    return UpstreamError(self.provider, kind, f"HTTP {response.status_code} at {_http.public_url(url)}")
                body = await _read_capped(response, self.settings.max_response_bytes)
                if body is None:
                    return UpstreamError(self.provider, "invalid_response",
                                         f"body over {self.settings.max_response_bytes} bytes at {_http.public_url(url)}")
                self.bodies[key] = redact_bytes(body)
                return None
        except httpx.TimeoutException:
            return UpstreamError(self.provider, "timeout", f"timed out at {_http.public_url(url)}")
        except httpx.TransportError as exc:
            return UpstreamError(self.provider, "connection", f"{type(exc).__name__} at {_http.public_url(url)}")
        except (httpx.InvalidURL, httpx.HTTPError) as exc:  # never one request's fault to fail the batch
            return UpstreamError(self.provider, "invalid_response", f"{type(exc).__name__} at {_http.public_url(url)}")
        finally:
            self.in_flight -= 1


async def _read_capped(response: httpx.Response, max_bytes: int) -> bytes | None:
    chunks, size = [], 0
    async for chunk in response.aiter_bytes():
        size += len(chunk)
        if size > max_bytes:
            return None
        chunks.append(chunk)
    return b"".join(chunks)
