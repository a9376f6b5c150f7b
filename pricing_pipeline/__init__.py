"""pricing-pipeline: keeps an AI gateway's model prices fresh, exact and watched.

The warnings policy lives here, the one place that runs before any of our Dagster definitions
are built (whichever module is imported first): Dagster features we rely on on purpose, and
whose "beta"/"preview" warnings would otherwise print on every CLI call and code-server start.
Anything else warns as usual.
"""

import warnings

_DELIBERATE_DAGSTER_FEATURES = (
    # Partitioned asset checks (preview in Dagster 1.13): exactly what a per-provider blocking
    # check needs (defs/sync/checks.py, defs/sync/guard.py).
    "Specifying a partitions_def on an AssetCheckSpec",
    # Asset-level resource_defs (beta in 1.13, stable in use since 1.3): binds the guard
    # override where it is used (defs/sync/override.py).
    "Parameter `resource_defs` of function `asset`",
    # Observable assets (beta in 1.13): price_freshness is observed, never materialized, so its
    # page lists the job and schedule that evaluate it (defs/sync/freshness.py).
    "Function `multi_observable_source_asset`",
)
for _message in _DELIBERATE_DAGSTER_FEATURES:
    warnings.filterwarnings("ignore", message=_message)
