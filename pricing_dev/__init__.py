"""Developer tools, not shipped in the wheel: replaying recorded provider responses from a
local HTTP server (``make sync REPLAY=...``, the benchmarks, the tests)."""
