"""The price feeds: refreshed after every successful sync (sensors.py), from the published
prices, written atomically; the materialization says what changed since the last feed."""


import json
from datetime import UTC, datetime

from dagster import AssetExecutionContext, MaterializeResult, MetadataValue, asset

from pricing_pipeline.defs import markdown
from pricing_pipeline.defs.feeds.resources import FeedsOutput
from pricing_pipeline.defs.sync.assets import GROUP, published_prices
from pricing_pipeline.defs.sync.resources import PricingDatabase
from pricing_pipeline.pricing.diff import PRICE_CHANGE_KINDS
from pricing_pipeline.pricing.feeds import component_count, litellm_cost_map, prices_feed

PRICES_FEED = "prices.json"
LITELLM_FEED = "litellm_model_cost_map.json"


@asset(
    group_name=GROUP,
    deps=[published_prices],
    kinds={"json"},
    description="prices.json (our versioned feed: every live price component as decimal strings, each "
    "model's last change and guard outcome) and litellm_model_cost_map.json (LiteLLM's cost-map format), "
    "written atomically after each successful sync.",
)
def price_feeds(context: AssetExecutionContext, pricing_db: PricingDatabase, feeds: FeedsOutput) -> MaterializeResult:
    feed, cost_map, changed = write_feeds(pricing_db.store, feeds)
    return MaterializeResult(
        metadata={
            "directory": feeds.directory,
            "models": sum(len(models) for models in feed["providers"].values()),
            "components": component_count(feed),
            "litellm_models": len(cost_map),
            "models_changed_since_last_feed": len(changed),
            "changes": MetadataValue.md(markdown.table(changed, "model", "change", limit=50) if changed
                                        else "No change since the last feed."),
        }
    )


def write_feeds(store, feeds: FeedsOutput) -> tuple[dict, dict, dict[str, str]]:
    """Both feeds from the published prices, each file replaced atomically: the prices feed,
    the LiteLLM map and what changed since the previous prices feed."""
    published = store.prices()
    last_changes = {}
    for change in store.changes():  # ascending: the last one per model wins
        if change["kind"] in PRICE_CHANGE_KINDS:  # not the guard's held / rejected / hold_cleared entries
            last_changes[(change["provider"], change["model_id"])] = change
    held = {(row["provider"], row["model_id"]): row for row in store.held()}
    feed = prices_feed(published, last_changes, datetime.now(UTC), held)
    previous = json.loads(feeds.read(PRICES_FEED) or b'{"providers": {}}')
    changed = feed_changes(previous.get("providers", {}), feed["providers"])
    cost_map = litellm_cost_map([p.record for p in published])
    feeds.write_atomically(PRICES_FEED, json.dumps(feed, indent=1, sort_keys=True).encode())
    feeds.write_atomically(LITELLM_FEED, json.dumps(cost_map, indent=1, sort_keys=True).encode())
    return feed, cost_map, changed


def feed_changes(before: dict, after: dict) -> dict[str, str]:
    """``provider/model`` -> added | removed | prices changed, between two feeds."""
    out = {}
    for provider in sorted(set(before) | set(after)):
        old, new = before.get(provider, {}), after.get(provider, {})
        for model_id in sorted(set(old) | set(new)):
            if model_id not in old:
                out[f"{provider}/{model_id}"] = "added"
            elif model_id not in new:
                out[f"{provider}/{model_id}"] = "removed"
            elif old[model_id]["components"] != new[model_id]["components"]:
                out[f"{provider}/{model_id}"] = "prices changed"
            elif _endpoint_prices(old[model_id]) != _endpoint_prices(new[model_id]):
                out[f"{provider}/{model_id}"] = "endpoint prices changed"
    return out


def _endpoint_prices(model: dict) -> dict:
    return {tag: endpoint["components"] for tag, endpoint in (model.get("endpoints") or {}).items()}
