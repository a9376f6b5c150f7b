"""``pricing-pipeline serve``: the pricing database and the feeds, read-only over HTTP, for
gateways that cannot load the price book themselves (LiteLLM's proxy, gateways in TypeScript or
Go). docs/serving.md has the endpoints, the deployment and the read-only database user.

- ``GET /v1/prices?provider=&model=&at=``: what ``pricing-pipeline prices --format json`` prints
  (both call ``listing.prices_json``).
- ``POST /v1/cost``: the arguments of ``pricing-pipeline cost`` as a JSON object, its JSON back,
  from the price book (equal to ``request_cost``). Answered on the event loop: the book answers
  from memory in microseconds; only an instant older than its window reads the database (in
  the thread pool).
- ``GET /v1/feeds/<name>``: the feed files (feeds.py), with a strong ETag (the SHA-256 of the
  bytes sent), ``If-None-Match`` → 304, ``Cache-Control`` and gzip when accepted.
- ``GET /healthz``: the last publish's generation and age, the book's, and the feeds'.

Errors are ``{"error": <kind>, "message": ...}``: 404 an unknown provider or model, 400 a bad
request (not JSON, an unknown key, a usage that is not a non-negative count, a part larger than
its total, an unparsable instant), 422 any other ``CostError``, 500 (logged, redacted) a bug;
none stops the server. It never writes: a database user with SELECT only is enough.
"""

from __future__ import annotations

import gc
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

from pricing_pipeline.gateway.feeds import FEEDS, FeedFiles, feed_answer
from pricing_pipeline.gateway.listing import parse_instant, prices_json
from pricing_pipeline.gateway.pricebook import PriceBook
from pricing_pipeline.pricing.cost import CostError, InvalidUsage, UnknownModel, Usage
from pricing_pipeline.providers.registry import PROVIDER_NAMES
from pricing_pipeline.redaction import redact
from pricing_pipeline.store import PricingStore
from pricing_pipeline.store.listings import last_publish

log = logging.getLogger(__name__)

USAGE_FIELDS = tuple(f.name for f in fields(Usage))
COST_KEYS = frozenset({"provider", "model", "at", "service_tier", "region", "upstream_provider", *USAGE_FIELDS})
JSON_TYPE = "application/json"
JSON_HEADERS = [(b"content-type", b"application/json")]
MAX_BODY_BYTES = 64 * 1024  # a cost request is a few hundred bytes


class BadRequest(ValueError):
    """A request the service cannot read (400)."""


def dumps(value) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


def error_body(kind: str, message: str) -> bytes:
    return dumps({"error": kind, "message": message})


def error(status: int, kind: str, message: str) -> Response:
    return Response(error_body(kind, message), status, media_type=JSON_TYPE)


def cost_error(problem: CostError) -> tuple[int, bytes]:
    status = 404 if isinstance(problem, UnknownModel) else 400 if isinstance(problem, InvalidUsage) else 422
    return status, error_body(type(problem).__name__, str(problem))


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


async def read_body(receive) -> bytes | None:
    """The body, or None when it is over MAX_BODY_BYTES (the rest is read and dropped, up to a
    limit, so that the client gets the 413 rather than a reset connection)."""
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return None  # the client went away
        chunk = message.get("body", b"")
        size += len(chunk)
        if size <= MAX_BODY_BYTES:
            chunks.append(chunk)
        if not message.get("more_body") or size > 16 * MAX_BODY_BYTES:
            break
    return b"".join(chunks) if size <= MAX_BODY_BYTES else None


# --- the application --------------------------------------------------------------------


class Service:
    """The ASGI application. The two endpoints a gateway calls on every request or poll,
    ``POST /v1/cost`` and the feeds, are answered here in a few lines of ASGI (Starlette's
    request and response objects and middleware would cost more than the answer); the rest
    (prices, healthz, unknown paths and methods) goes to Starlette (``create_app``)."""

    def __init__(self, book: PriceBook, feeds: FeedFiles, rest: Starlette):
        self.book, self.feeds, self.rest = book, feeds, rest

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http":
            path, method = scope["path"], scope["method"]
            if path == "/v1/cost" and method == "POST":
                return await self._answer(send, self.cost, receive)
            if path.startswith("/v1/feeds/") and method in ("GET", "HEAD") and path[10:] in FEEDS:
                return await self._answer(send, self.feed, path[10:], scope["headers"], method == "HEAD")
        await self.rest(scope, receive, send)

    async def _answer(self, send, handler, *args) -> None:
        try:
            status, headers, body = await handler(*args)
        except Exception as problem:  # a bug: answered and logged, the server goes on
            log.error("request failed: %s", redact(f"{type(problem).__name__}: {problem}"))
            status, headers, body = 500, JSON_HEADERS, error_body("InternalError", "the service failed (logged)")
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def cost(self, receive) -> tuple[int, list, bytes]:
        body = await read_body(receive)
        if body is None:
            return 413, JSON_HEADERS, error_body("BadRequest", f"the body is over {MAX_BODY_BYTES} bytes")
        try:
            asked = cost_request(json.loads(body or b"null"))
        except BadRequest as problem:
            return 400, JSON_HEADERS, error_body("BadRequest", str(problem))
        except CostError as problem:  # a Usage refused
            status, payload = cost_error(problem)
            return status, JSON_HEADERS, payload
        except (ValueError, RecursionError):  # RecursionError: nested too deep
            return 400, JSON_HEADERS, error_body("BadRequest", "the body is not JSON")
        arguments = (asked.provider, asked.model, asked.usage, asked.at, asked.service_tier, asked.region,
                     asked.upstream_provider)
        try:
            if asked.at is not None and asked.at < self.book.since:  # older than the book: the database
                result = await run_in_threadpool(self.book.cost, *arguments)
            else:  # from memory, in microseconds: on the event loop
                result = self.book.cost(*arguments)
        except CostError as problem:
            status, payload = cost_error(problem)
            return status, JSON_HEADERS, payload
        return 200, JSON_HEADERS, dumps(result.to_json())

    async def feed(self, name: str, headers: list, head: bool) -> tuple[int, list, bytes]:
        found = self.feeds.cached(name) or await run_in_threadpool(self.feeds.read, name)
        if found is None:
            return 404, JSON_HEADERS, error_body("FeedNotWritten", f"{name} has not been written yet "
                                                                   "(the price_feeds asset writes it)")
        accept_encoding = if_none_match = ""
        for key, value in headers:
            if key == b"accept-encoding":
                accept_encoding = value.decode("latin-1")
            elif key == b"if-none-match":
                if_none_match = value.decode("latin-1")
        status, response_headers, body = feed_answer(found, accept_encoding, if_none_match)
        return status, response_headers, b"" if head else body


def create_app(database_url: str, feeds_dir: str | Path, book: PriceBook | None = None) -> Service:
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

    async def unknown_feed(request: Request) -> Response:
        name = request.path_params["name"]
        return error(404, "UnknownFeed", f"no feed {name!r} (feeds: {', '.join(FEEDS)})")

    async def http_error(request: Request, problem: HTTPException) -> Response:  # no such path or method
        return error(problem.status_code, "NotFound" if problem.status_code == 404 else "BadRequest",
                     f"{request.method} {request.url.path}: {problem.detail}")

    async def internal_error(request: Request, problem: Exception) -> Response:
        log.error("%s %s failed: %s", request.method, request.url.path,
                  redact(f"{type(problem).__name__}: {problem}"))
        return error(500, "InternalError", "the service failed on this request (logged)")

    rest = Starlette(
        routes=[
            Route("/v1/prices", prices, methods=["GET"]),
            Route("/healthz", healthz, methods=["GET"]),
            Route("/v1/feeds/{name}", unknown_feed, methods=["GET"]),
            # answered by Service; here so that another method gets a 405
            Route("/v1/cost", unknown_feed, methods=["POST"]),
        ],
        exception_handlers={HTTPException: http_error, Exception: internal_error},
    )
    return Service(book, feeds, rest)


def serve(database_url: str, feeds_dir: str, host: str = "127.0.0.1", port: int = 8000, workers: int = 1) -> int:
    """Load the price book, then serve until stopped (SIGINT / SIGTERM). ``workers`` > 1: that
    many processes on one port, each with its own price book (memory × workers)."""
    import uvicorn
    from sqlalchemy.engine import make_url

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    log.info("serving the prices of %s and the feeds in %s on http://%s:%d (%d worker(s))",
             make_url(database_url).render_as_string(hide_password=True), feeds_dir, host, port, workers)
    # no access log: a line per request costs more than the answer, and this serves no secrets
    options = {"host": host, "port": port, "access_log": False, "log_level": "info", "server_header": False}
    if workers > 1:  # each worker process builds the app from the environment
        os.environ.update({"PRICING_DATABASE_URL": database_url, "PRICING_FEEDS_DIR": str(feeds_dir)})
        uvicorn.run(f"{__name__}:app_from_environment", factory=True, workers=workers, **options)
    else:
        uvicorn.run(frozen(create_app(database_url, feeds_dir)), **options)
    return 0


def app_from_environment() -> Service:
    """The app of one worker process of ``serve(workers=N)``."""
    return frozen(create_app(os.environ["PRICING_DATABASE_URL"], os.environ["PRICING_FEEDS_DIR"]))


def frozen(app: Service) -> Service:
    """Everything loaded so far (the price book: ~200k objects) left out of the garbage
    collector's full passes, which otherwise stop every request for a few hundred ms now and
    then. A book reloaded after a publish is collected as usual."""
    gc.collect()
    gc.freeze()
    return app
