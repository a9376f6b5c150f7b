"""What a publish writes, as the gateway reads it: for asserting that nothing was written."""

from datetime import datetime, timezone

FAR_FUTURE = datetime(2100, 1, 1, tzinfo=timezone.utc)


def db_state(store, provider):
    """Live prices, the open history rows (a point-in-time query at the far future), the
    change log, removals, and the number of successful syncs."""
    return (
        store.prices(provider),
        store.prices(provider, at=FAR_FUTURE),
        store.changes(provider),
        store.removed_models(provider),
        sum(row["status"] == "success" for row in store.sync_rows(provider)),
    )
