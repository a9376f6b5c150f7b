"""The exact cost of one request, read from the pricing database (``pricing/cost.py`` has the
billing rules; this reads the prices they run over)."""

from __future__ import annotations

from datetime import UTC, datetime

from pricing_pipeline.pricing.cost import (
    IndexedComponents,
    ListedPrices,
    RequestCost,
    Usage,
    bill,
    check_request,
    choose_endpoint,
    not_listed,
)
from pricing_pipeline.providers.registry import PROVIDER_NAMES
from pricing_pipeline.store import PricingStore, default_database_url


def request_cost(
    provider: str,
    model_id: str,
    usage: Usage,
    at: datetime | None = None,
    service_tier: str = "standard",
    region: str | None = None,
    store: PricingStore | None = None,
    upstream_provider: str | None = None,
) -> RequestCost:
    """The cost of ``usage`` on ``provider``'s ``model_id`` with the prices live at ``at``
    (default now), in exact Decimal USD, with one line per billed component.
    ``upstream_provider``: the endpoint that served the request (the name the response reports,
    e.g. ``Azure``, or an endpoint tag); without it, the model's headline price. Reads the
    database on every call; the gateway's hot path is the price book (pricebook.py), which
    answers the same from memory."""
    check_request(provider, service_tier, PROVIDER_NAMES)
    store = store or PricingStore(default_database_url())
    at = (at or datetime.now(UTC)).astimezone(UTC)
    published = store.prices(provider=provider, model_id=model_id, at=at)
    if not published:
        history = store.history(provider, model_id)
        raise not_listed(provider, model_id, at, history[0].valid_from if history else None,
                         history[-1].valid_to if history else None)
    price = published[0]
    if upstream_provider is not None:
        endpoints = store.prices(provider=provider, model_id=model_id, at=at, endpoints=True)
        _, _, price = choose_endpoint(provider, model_id, upstream_provider,
                                      ((p.record.upstream_tag, p.record.upstream_provider, p) for p in endpoints),
                                      lambda a, b: a.record.components() == b.record.components())
    record = price.record
    listed = ListedPrices(IndexedComponents(record.components()), record.variable_pricing, price.valid_from,
                          price.valid_to, record.upstream_provider if record.upstream_tag else None,
                          record.upstream_tag)
    return bill(provider, model_id, listed, usage, at, service_tier, region)
