"""The pricing domain: records, units and diffs. Plain Python: no Dagster, no SQL, no network."""
