"""``pricing-pipeline serve``: the pricing database and the feeds, read-only over HTTP, for
gateways that cannot load the price book themselves (LiteLLM's proxy, gateways in TypeScript or
Go). docs/serving.md has the endpoints, the deployment and the read-only database user.

- ``GET /v1/prices?provider=&model=&at=``: what ``pricing-pipeline prices --format json`` prints
  (both call ``listing.prices_json``).
- ``POST /v1/cost``: the arguments of ``pricing-pipeline cost`` as a JSON object, its JSON back,
  from the price book (equal to ``request_cost``). Answered on the event loop: the book answers
  from memory in microseconds; only an instant older than its window reads the database (in
  the thread pool).
- ``GET /v1/feeds/<name>``: the feed files, with a strong ETag (the SHA-256 of the bytes sent),
  ``If-None-Match`` → 304, ``Cache-Control`` and gzip when accepted.
- ``GET /healthz``: the last publish's generation and age, the book's, and the feeds'.

Errors are ``{"error": <kind>, "message": ...}``: 404 an unknown provider or model, 400 a bad
request (not JSON, an unknown key, a usage that is not a non-negative count, a part larger than
its total, an unparsable instant), 422 any other ``CostError``, 500 (logged, redacted) a bug;
none stops the server. It never writes: a database user with SELECT only is enough.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import logging
import os
import time
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from pricing_pipeline.gateway.listing import parse_instant, prices_json
from pricing_pipeline.gateway.pricebook import PriceBook
from pricing_pipeline.pricing.cost import CostError, InvalidUsage, UnknownModel, Usage
from pricing_pipeline.providers.registry import PROVIDER_NAMES
from pricing_pipeline.redaction import redact
from pricing_pipeline.store import PricingStore
from pricing_pipeline.store.listings import last_publish

log = logging.getLogger(__name__)

FEEDS = ("litellm_model_cost_map.json", "prices.json")
# A client may reuse a feed for a minute, then asks again (a 304 while it is unchanged).
FEED_CACHE_CONTROL = "public, max-age=60"
USAGE_FIELDS = tuple(f.name for f in fields(Usage))
COST_KEYS = frozenset({"provider", "model", "at", "service_tier", "region", "upstream_provider", *USAGE_FIELDS})
JSON_TYPE = "application/json"
MAX_BODY_BYTES = 64 * 1024  # a cost request is a few hundred bytes


class BadRequest(ValueError):
    """A request the service cannot read (400)."""


def dumps(value) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


def error(status: int, kind: str, message: str) -> Response:
    return Response(dumps({"error": kind, "message": message}), status, media_type=JSON_TYPE)


def cost_error(problem: CostError) -> Response:
    status = 404 if isinstance(problem, UnknownModel) else 400 if isinstance(problem, InvalidUsage) else 422
    return error(status, type(problem).__name__, str(problem))


# --- the cost of a request --------------------------------------------------------------


@dataclass(frozen=True)
class CostRequest:
    provider: str
    model: str
    usage: Usage
    at: datetime | None
    service_tier: str
    region: str | None
    upstream_provider: str | None


def cost_request(body) -> CostRequest:
    """The body of ``POST /v1/cost``: ``pricing-pipeline cost``'s arguments by their names
    (``provider``, ``model``, the usage counts ``input_tokens`` ..., ``seconds``, ``at``,
    ``service_tier``, ``region``, ``upstream_provider``)."""
    if not isinstance(body, dict):
        raise BadRequest("the body must be a JSON object")
    unknown = sorted(set(body) - COST_KEYS)
    if unknown:
        raise BadRequest(f"unknown key(s) {', '.join(unknown)} (known: {', '.join(sorted(COST_KEYS))})")
    counts = {}
    for name in USAGE_FIELDS:
        if name in body:
            counts[name] = usage_count(name, body[name])
    at = body.get("at")
    if at is not None:
        if not isinstance(at, str):
            raise BadRequest("at must be an ISO 8601 instant")
        try:
            at = parse_instant(at).astimezone(UTC)
        except ValueError:
            raise BadRequest(f"not an ISO 8601 instant: {at!r}") from None
    for name in ("provider", "model"):
        if not isinstance(body.get(name), str) or not body[name]:
            raise BadRequest(f"{name} is required (a string)")
    for name in ("service_tier", "region", "upstream_provider"):
        if body.get(name) is not None and not isinstance(body[name], str):
            raise BadRequest(f"{name} must be a string")
    return CostRequest(body["provider"], body["model"], Usage(**counts), at, body.get("service_tier") or "standard",
                       body.get("region"), body.get("upstream_provider"))


def usage_count(name: str, value) -> int | Decimal:
    """A non-negative integer; ``seconds`` also a decimal number or string."""
    if name == "seconds" and not isinstance(value, bool) and isinstance(value, (int, float, str)):
        try:
            number = Decimal(str(value))
        except InvalidOperation:
            raise BadRequest(f"usage seconds is not a number: {value!r}") from None
        if number.is_finite() and number >= 0:
            return number
    elif isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    raise BadRequest(f"usage {name} must be a non-negative {'number' if name == 'seconds' else 'integer'}: {value!r}")


async def read_body(request: Request) -> bytes | None:
    """The body, or None when it is over MAX_BODY_BYTES (the rest is read and dropped, up to a
    limit, so that the client gets the 413 rather than a reset connection)."""
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size <= MAX_BODY_BYTES:
            chunks.append(chunk)
        elif size > 16 * MAX_BODY_BYTES:
            break
    return b"".join(chunks) if size <= MAX_BODY_BYTES else None


# --- the feeds --------------------------------------------------------------------------


@dataclass(frozen=True)
class Feed:
    identity: tuple  # (device, inode, size, mtime, ctime) of the file these bytes were read from
    data: bytes
    gzipped: bytes
    etag: str  # of the bytes as they are; the gzipped bytes' is etag_gzip
    etag_gzip: str
    modified: float


class FeedFiles:
    """The feed files, each read whole once per version. The feeds asset replaces a file by
    rename (never in place), so a path names a whole file: a request stats the path and serves
    the bytes it already holds for that very file (same inode, size and times), or opens it,
    reads that open file once and hashes exactly those bytes. A half-written file is never
    seen: the temporary file has another name until it is complete."""

    def __init__(self, directory: str | Path):
        self.directory = Path(directory)
        self._read: dict[str, Feed] = {}

    def cached(self, name: str) -> Feed | None:
        """The feed, if the bytes held are those of the file the path names now (else None)."""
        feed = self._read.get(name)
        if feed is None:
            return None
        try:
            status = os.stat(self.directory / name)
        except OSError:
            return None
        return feed if _identity(status) == feed.identity else None

    def read(self, name: str) -> Feed | None:
        """Read the file the path names now (None: no such feed yet)."""
        try:
            with open(self.directory / name, "rb") as handle:
                status = os.fstat(handle.fileno())
                data = handle.read()
        except FileNotFoundError:
            return None
        digest = hashlib.sha256(data).hexdigest()
        feed = Feed(_identity(status), data, gzip.compress(data, compresslevel=6, mtime=0), f'"{digest}"',
                    f'"{digest}-gzip"', status.st_mtime)
        self._read[name] = feed
        return feed


def _identity(status: os.stat_result) -> tuple:
    return status.st_dev, status.st_ino, status.st_size, status.st_mtime_ns, status.st_ctime_ns


def accepts_gzip(header: str) -> bool:
    for coding in header.lower().split(","):
        name, _, params = coding.strip().partition(";")
        if name.strip() in ("gzip", "*"):
            return params.replace(" ", "") not in ("q=0", "q=0.0", "q=0.00", "q=0.000")
    return False


def not_modified(header: str, feed: Feed) -> bool:
    """``If-None-Match`` names the feed as it is now (either encoding; weak comparison)."""
    tags = {tag.strip().removeprefix("W/") for tag in header.split(",")}
    return "*" in tags or feed.etag in tags or feed.etag_gzip in tags


def feed_response(request: Request, feed: Feed) -> Response:
    compressed = accepts_gzip(request.headers.get("accept-encoding", ""))
    headers = {"ETag": feed.etag_gzip if compressed else feed.etag, "Cache-Control": FEED_CACHE_CONTROL,
               "Vary": "Accept-Encoding"}
    match = request.headers.get("if-none-match")
    if match and not_modified(match, feed):
        return Response(status_code=304, headers=headers)
    if compressed:
        headers["Content-Encoding"] = "gzip"
    return Response(feed.gzipped if compressed else feed.data, headers=headers, media_type=JSON_TYPE)


# --- the application --------------------------------------------------------------------


def create_app(database_url: str, feeds_dir: str | Path, book: PriceBook | None = None) -> Starlette:
    """The service over one database (read only) and one feeds folder."""
    store = PricingStore(database_url)
    book = book or PriceBook.load(database_url)
    feeds = FeedFiles(feeds_dir)
    started = time.time()

    def prices(request: Request) -> Response:  # a plain function: Starlette runs it in its thread pool
        query = request.query_params
        provider = query.get("provider") or None
        if provider is not None and provider not in PROVIDER_NAMES:
            return error(404, "UnknownModel", f"unknown provider {provider!r} (known: {', '.join(PROVIDER_NAMES)})")
        try:
            at = parse_instant(query["at"]) if query.get("at") else None
        except ValueError:
            return error(400, "BadRequest", f"not an ISO 8601 instant: {query['at']!r}")
        return Response(dumps(prices_json(store, provider, query.get("model") or None, at)), media_type=JSON_TYPE)

    async def cost(request: Request) -> Response:
        body = await read_body(request)
        if body is None:
            return error(413, "BadRequest", f"the body is over {MAX_BODY_BYTES} bytes")
        try:
            asked = cost_request(json.loads(body or b"null"))
        except BadRequest as problem:
            return error(400, "BadRequest", str(problem))
        except CostError as problem:  # a Usage refused
            return cost_error(problem)
        except (ValueError, RecursionError):  # RecursionError: nested too deep
            return error(400, "BadRequest", "the body is not JSON")
        arguments = (asked.provider, asked.model, asked.usage, asked.at, asked.service_tier, asked.region,
                     asked.upstream_provider)
        try:
            if asked.at is not None and asked.at < book.since:  # older than the book: the database
                result = await run_in_threadpool(book.cost, *arguments)
            else:
                result = book.cost(*arguments)
        except CostError as problem:
            return cost_error(problem)
        return Response(dumps(result.to_json()), media_type=JSON_TYPE)

    async def feed(request: Request) -> Response:
        name = request.path_params["name"]
        if name not in FEEDS:
            return error(404, "UnknownFeed", f"no feed {name!r} (feeds: {', '.join(FEEDS)})")
        found = feeds.cached(name) or await run_in_threadpool(feeds.read, name)
        if found is None:
            return error(404, "FeedNotWritten", f"{name} has not been written yet (the price_feeds asset writes it)")
        return feed_response(request, found)

    def healthz(request: Request) -> Response:
        now = time.time()
        status, body = 200, {"status": "ok", "uptime_seconds": round(now - started, 1)}
        try:
            generation, published_at = last_publish(store)
            body.update({
                "generation": list(generation),
                "last_publish_at": published_at.isoformat() if published_at else None,
                "age_seconds": round(now - published_at.timestamp(), 1) if published_at else None,
            })
        except Exception as problem:  # noqa: BLE001 - the book still answers from memory
            status, body["status"] = 503, "database unreachable"
            body["error"] = redact(f"{type(problem).__name__}: {str(problem).splitlines()[0][:200]}")
        body["book"] = {"generation": list(book.generation), "models": book.models,
                        "load_seconds": round(book.load_seconds, 3)}
        body["feeds"] = {}
        for name in FEEDS:
            current = feeds.cached(name) or feeds.read(name)
            body["feeds"][name] = {"etag": current.etag, "age_seconds": round(now - current.modified, 1)} \
                if current else None
        return Response(dumps(body), status, media_type=JSON_TYPE)

    async def http_error(request: Request, problem: HTTPException) -> Response:  # no such path or method
        return error(problem.status_code, "NotFound" if problem.status_code == 404 else "BadRequest",
                     f"{request.method} {request.url.path}: {problem.detail}")

    async def internal_error(request: Request, problem: Exception) -> Response:
        log.error("%s %s failed: %s", request.method, request.url.path,
                  redact(f"{type(problem).__name__}: {problem}"))
        return error(500, "InternalError", "the service failed on this request (logged)")

    return Starlette(
        routes=[
            Route("/v1/prices", prices, methods=["GET"]),
            Route("/v1/cost", cost, methods=["POST"]),
            Route("/v1/feeds/{name}", feed, methods=["GET"]),
            Route("/healthz", healthz, methods=["GET"]),
        ],
        exception_handlers={HTTPException: http_error, Exception: internal_error},
    )


def serve(database_url: str, feeds_dir: str, host: str = "127.0.0.1", port: int = 8000) -> int:
    """Load the price book, then serve until stopped (SIGINT / SIGTERM)."""
    import uvicorn
    from sqlalchemy.engine import make_url

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    app = create_app(database_url, feeds_dir)
    log.info("serving the prices of %s and the feeds in %s on http://%s:%d",
             make_url(database_url).render_as_string(hide_password=True), feeds_dir, host, port)
    # no access log: a line per request costs more than the answer, and this serves no secrets
    uvicorn.run(app, host=host, port=port, access_log=False, log_level="info", server_header=False)
    return 0

