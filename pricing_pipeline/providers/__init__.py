"""Provider adapters: one module per upstream API (fetch, parse, normalize)."""
