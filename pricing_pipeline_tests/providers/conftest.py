"""Each adapter test module names its ``ADAPTER`` and the ``PAYLOAD`` file it reads (a shared
recording or our own fixture); these fixtures parse it once per module."""

import json

import pytest

from pricing_pipeline_tests.recordings import require_file


@pytest.fixture(scope="module")
def payload(request):
    return json.loads(require_file(request.module.PAYLOAD).read_bytes())


@pytest.fixture(scope="module")
def records(request, payload):
    """The adapter's records of the payload, by model id (strict: an unreadable entry fails)."""
    return {r.model_id: r for r in request.module.ADAPTER.records(payload)}
