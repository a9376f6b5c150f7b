"""What the sync assets report in their metadata: the per-model detail requests, a watcher's
run's scope, unreadable entries and the price changes, as inert Markdown tables."""

from dagster import MetadataValue

from pricing_pipeline.defs import markdown
from pricing_pipeline.defs.runs import DETAIL_MODELS_TAG, WATCH_KEY_TAG
from pricing_pipeline.pricing.diff import SnapshotDiff
from pricing_pipeline.pricing.records import NormalizedSnapshot, PriceRecord

MAX_CHANGES_SHOWN = 50


def detail_metadata(details) -> dict:
    """What the per-model endpoint requests took (none for most providers)."""
    if not details.requests:
        return {}
    return {
        "endpoint_requests": details.requests,
        "endpoint_models_fetched": len(details.bodies),
        "endpoint_fetch_failures": len(details.failures),
        "endpoint_max_concurrent_requests": details.max_in_flight,
        "endpoint_rate_limited": details.rate_limited,
        "endpoint_fetch_seconds": round(details.elapsed_seconds, 3),
        **({"endpoint_failures": MetadataValue.md(reasons_markdown(details.failures, "model", "error"))}
           if details.failures else {}),
    }


def watch_metadata(tags, snapshot: NormalizedSnapshot) -> dict:
    """A watcher's run says which change it carries and whose endpoints it read."""
    out = {}
    if WATCH_KEY_TAG in tags:
        out["watch_key"] = tags[WATCH_KEY_TAG]
    if DETAIL_MODELS_TAG in tags:
        out["detail_scope"] = tags[DETAIL_MODELS_TAG]
        out["endpoints_kept_models"] = len(snapshot.endpoints_kept)
    return out


def reasons_markdown(rows: dict, key_header: str, value_header: str, limit: int = MAX_CHANGES_SHOWN) -> str:
    """A two-column Markdown table of upstream text (model ids, keys, reasons), capped at
    ``limit`` rows, every cell inert (defs/markdown.py)."""
    return markdown.table(rows, key_header, value_header, limit)


def changes_markdown(diff: SnapshotDiff, limit: int = MAX_CHANGES_SHOWN) -> str:
    if not diff:
        return "No price changes."
    lines = [
        "| model | change | input $/1M | output $/1M | cache read $/1M | cache write $/1M |",
        "|---|---|---|---|---|---|",
    ]
    for change in diff.changes[:limit]:
        cells = [
            _transition(change.before, change.after, name)
            for name in ("input_usd_per_mtok", "output_usd_per_mtok", "cache_read_usd_per_mtok", "cache_write_usd_per_mtok")
        ]
        lines.append(f"| {markdown.code(change.model_id)} | {change.kind} | " + " | ".join(cells) + " |")
    if len(diff.changes) > limit:
        lines.append(f"\n… and {len(diff.changes) - limit} more changes.")
    return "\n".join(lines)


def _transition(before: PriceRecord | None, after: PriceRecord | None, name: str) -> str:
    old = _fmt(before, name)
    new = _fmt(after, name)
    if before is None:
        return new
    if after is None:
        return f"~~{old}~~"
    return old if old == new else f"{old} → {new}"


def _fmt(record: PriceRecord | None, name: str) -> str:
    if record is None:
        return ""
    if record.variable_pricing:
        return "variable"
    value = getattr(record, name)
    return "unknown" if value is None else format(value, "f")
