from __future__ import annotations

import pytest

from pricing_pipeline_tests.upstream_server import UpstreamServer


@pytest.fixture
def upstream():
    """A fresh local HTTP server standing in for provider APIs."""
    server = UpstreamServer().start()
    yield server
    server.stop()
