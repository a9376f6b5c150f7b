"""The tables the gateway reads. Documented in docs/database.md."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from pricing_pipeline.pricing.model_ids import MODEL_ID_MAX_LENGTH
from pricing_pipeline.store.types import ExactDecimal, UtcDateTime

metadata = MetaData()


def _price_columns() -> list[Column]:
    return [
        Column("input_usd_per_mtok", ExactDecimal),
        Column("output_usd_per_mtok", ExactDecimal),
        Column("cache_read_usd_per_mtok", ExactDecimal),
        Column("cache_write_usd_per_mtok", ExactDecimal),
        Column("request_usd", ExactDecimal),
        Column("image_usd", ExactDecimal),
        Column("variable_pricing", Boolean, nullable=False, default=False),
        Column("tiers", JSON, nullable=False),
        Column("upstream_provider", String(200)),
        Column("upstream_model_id", String(MODEL_ID_MAX_LENGTH)),
        Column("model_type", String(32)),
        Column("raw_pricing", JSON),
        # One endpoint of a model (OpenRouter's per-provider routes): its tag and quantization.
        Column("upstream_tag", String(200)),
        Column("quantization", String(32)),
    ]


sync_log = Table(
    "sync_log",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("provider", String(64), nullable=False),
    Column("run_id", String(64), unique=True),
    Column("started_at", UtcDateTime, nullable=False),
    Column("finished_at", UtcDateTime),
    # running | success | failure | blocked | canceled | incomplete (succeeded without publishing)
    Column("status", String(16), nullable=False),
    Column("models_fetched", Integer),
    Column("models_added", Integer),
    Column("models_changed", Integer),
    Column("models_removed", Integer),
    Column("error_type", String(32)),
    Column("error", Text),
    # Models whose entries could not be read: {model_id: reason}; they kept their prices.
    Column("models_quarantined", Integer),
    Column("quarantined", JSON),
    # Models the price guard held back in this run (their published prices stayed live).
    Column("models_held", Integer),
    # Models whose per-endpoint prices could not be fetched: {model_id: error}; their endpoints
    # kept the prices they had.
    Column("endpoint_fetch_failures", Integer),
    # Endpoint records in the snapshot (models_fetched counts the models of the list only).
    Column("endpoints_fetched", Integer),
    Column("endpoint_fetch_failed", JSON),
    Index("ix_sync_log_provider_started", "provider", "started_at"),
)

# The live price table: one row per (provider, model) ever seen; removed models keep their
# row with removed_at set.
model_prices = Table(
    "model_prices",
    metadata,
    Column("provider", String(64), primary_key=True),
    Column("model_id", String(MODEL_ID_MAX_LENGTH), primary_key=True),
    *_price_columns(),
    Column("valid_from", UtcDateTime, nullable=False),
    Column("first_seen_at", UtcDateTime, nullable=False),
    Column("removed_at", UtcDateTime),
    # PriceRecord.price_fingerprint() of the live prices (NULL on rows from before 0004).
    Column("price_fingerprint", String(32)),
)

# Every observed price: [valid_from, valid_to); valid_to NULL means current.
price_history = Table(
    "price_history",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("provider", String(64), nullable=False),
    Column("model_id", String(MODEL_ID_MAX_LENGTH), nullable=False),
    *_price_columns(),
    Column("valid_from", UtcDateTime, nullable=False),
    Column("valid_to", UtcDateTime),
    Column("sync_id", Integer, ForeignKey("sync_log.id"), nullable=False),
    Index("ix_price_history_lookup", "provider", "model_id", "valid_from"),
)

# Every price component of every model, long form, with the same [valid_from, valid_to)
# history as price_history: the price of component C of model M at instant T is one
# indexed lookup. Variant columns: min_context_tokens 0 = any prompt length; window_* NULL =
# all day (minutes after 00:00 UTC, end below start wraps midnight; weekdays "1,2,3" ISO
# days or NULL = every day); region NULL = every region. usd NULL = unknown, never zero.
price_components = Table(
    "price_components",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("provider", String(64), nullable=False),
    Column("model_id", String(MODEL_ID_MAX_LENGTH), nullable=False),
    Column("component", String(64), nullable=False),
    Column("unit", String(32), nullable=False),
    Column("min_context_tokens", Integer, nullable=False),
    Column("window_start_minute", Integer),
    Column("window_end_minute", Integer),
    Column("weekdays", String(16)),
    Column("service_tier", String(16), nullable=False),
    Column("region", String(64)),
    Column("usd", ExactDecimal),
    Column("valid_from", UtcDateTime, nullable=False),
    Column("valid_to", UtcDateTime),
    Column("sync_id", Integer, ForeignKey("sync_log.id"), nullable=False),
    Index("ix_price_components_lookup", "provider", "model_id", "component", "valid_from"),
)

# The change log: one row per added / changed / removed model, with who accepted it when a
# price guard had to be overridden.
price_changes = Table(
    "price_changes",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("provider", String(64), nullable=False),
    Column("model_id", String(MODEL_ID_MAX_LENGTH), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("before", JSON),
    Column("after", JSON),
    Column("changed_at", UtcDateTime, nullable=False),
    Column("sync_id", Integer, ForeignKey("sync_log.id"), nullable=False),
    Column("run_id", String(64)),
    Column("accepted_by", String(200)),
    Column("accept_reason", Text),
    # For the guard's own entries (kind held | rejected | hold_cleared): who decided and why.
    Column("decided_by", String(200)),
    Column("decision_reason", Text),
    Index("ix_price_changes_provider_changed", "provider", "changed_at"),
)

# Proposals the price guard held for a person: one row per (model, proposal). The standing
# ones (status held | rejected) decide what a sync publishes; the rest is their history
# (accepted, cleared: upstream went back to the published prices, superseded: upstream
# proposed something else). ``proposed`` is the record as published on accept (JSON, NULL
# for a removal), so a person decides without a re-fetch.
price_holds = Table(
    "price_holds",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("provider", String(64), nullable=False),
    Column("model_id", String(MODEL_ID_MAX_LENGTH), nullable=False),
    Column("kind", String(16), nullable=False),  # added | changed | removed
    Column("rules", String(200), nullable=False),  # comma-separated rule names
    Column("reason", Text, nullable=False),
    Column("hold_group", String(64)),  # holds released together (a mass addition / removal)
    Column("proposal", String(32), nullable=False),  # the proposal's price fingerprint, or "removed"
    Column("published", JSON),
    Column("proposed", JSON),
    Column("proposed_raw", JSON),
    Column("status", String(16), nullable=False),
    Column("held_since", UtcDateTime, nullable=False),
    Column("last_seen_at", UtcDateTime, nullable=False),
    Column("run_id", String(64)),
    Column("resolved_at", UtcDateTime),
    Column("resolved_by", String(200)),
    Column("resolve_reason", Text),
    Column("resolved_run_id", String(64)),
    Index("ix_price_holds_provider_status", "provider", "status"),
)

# Every distinct upstream response body, compressed: what a provider really sent, for audit
# and for replaying a sync. Identical bodies are stored once (first fetch kept).
raw_snapshots = Table(
    "raw_snapshots",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("provider", String(64), nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("url", Text, nullable=False),
    Column("first_fetched_at", UtcDateTime, nullable=False),
    Column("first_run_id", String(64)),
    Column("size_bytes", Integer, nullable=False),
    Column("body_gzip", LargeBinary, nullable=False),
    UniqueConstraint("provider", "sha256", name="uq_raw_snapshots_provider_sha256"),
)

# What the provider billed, as a gateway logs it (one OpenRouter chat-completion response
# without its ``choices``): appended by the gateway, reconciled against our prices.
billed_requests = Table(
    "billed_requests",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("provider", String(64), nullable=False),
    Column("request_id", String(200), nullable=False),  # the response's ``id``
    Column("model", String(MODEL_ID_MAX_LENGTH), nullable=False),
    Column("upstream_provider", String(200)),  # the response's ``provider``: who served it
    Column("created_at", UtcDateTime, nullable=False),  # the response's ``created``
    Column("usage", JSON, nullable=False),  # the response's ``usage``, verbatim
    Column("received_at", UtcDateTime, nullable=False),
    UniqueConstraint("provider", "request_id", name="uq_billed_requests_provider_request"),
)

# One row per reconciled bill: our cost of it at the endpoint that served it against what
# the provider billed.
bill_reconciliations = Table(
    "bill_reconciliations",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("billed_request_id", Integer, ForeignKey("billed_requests.id"), nullable=False, unique=True),
    Column("provider", String(64), nullable=False),
    Column("model_id", String(MODEL_ID_MAX_LENGTH), nullable=False),
    Column("upstream_provider", String(200)),
    Column("created_at", UtcDateTime, nullable=False),
    Column("outcome", String(16), nullable=False),  # exact | within_1pct | off | error
    Column("our_usd", ExactDecimal),
    Column("billed_usd", ExactDecimal),
    Column("fees_usd", ExactDecimal),
    Column("priced_model_id", String(MODEL_ID_MAX_LENGTH)),  # the record billed (an endpoint's id)
    Column("price_valid_from", UtcDateTime),  # since when that price was live
    Column("error", Text),
    Column("reconciled_at", UtcDateTime, nullable=False),
    Column("run_id", String(64)),
    Index("ix_bill_reconciliations_provider_created", "provider", "created_at"),
)
