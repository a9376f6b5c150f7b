"""A big body is streamed one model at a time; it must normalize exactly as the whole-tree path
does, and fail with the same errors. Forced here with a threshold of 0 bytes."""

import json

import pytest

from pricing_pipeline.providers import json_body
from pricing_pipeline.providers.errors import InvalidResponse
from pricing_pipeline.providers.registry import PROVIDER_NAMES, get_adapter
from pricing_pipeline_tests.recordings import REPLAY_FILES, require_file

STREAM_EVERYTHING = 0


@pytest.mark.parametrize("provider", PROVIDER_NAMES)
def test_a_streamed_recording_normalizes_as_the_whole_tree_does(provider):
    body = require_file(REPLAY_FILES[provider]).read_bytes()
    adapter = get_adapter(provider)
    whole = adapter.parse(json.loads(body))
    streamed = adapter.parse_body(body, stream_above_bytes=STREAM_EVERYTHING)
    assert streamed.records == whole.records
    assert [r.raw for r in streamed.records] == [r.raw for r in whole.records]
    assert (streamed.quarantined, streamed.unknown_keys) == (whole.quarantined, whole.unknown_keys)
    assert len(whole.records) > 0


def test_the_data_list_adapters_really_stream(monkeypatch):
    body = require_file(REPLAY_FILES["openrouter"]).read_bytes()
    monkeypatch.setattr(json_body, "load", lambda *a: pytest.fail("the whole tree was loaded"))
    assert get_adapter("openrouter").parse_body(body, stream_above_bytes=STREAM_EVERYTHING).records


ENTRY = {"id": "m", "pricing": {"prompt": "0.000001", "completion": "0.000002"}}


@pytest.mark.parametrize(
    "body",
    [
        "[]",
        '"data"',
        "12",
        "1.5",
        "null",
        '{"object": "list"}',
        '{"object": "list", "models": [], "nested": {"data": []}}',
        '{"data": {"item": {"id": "m"}}}',
        '{"data": "none"}',
        '{"data": 3}',
        '{"data": null}',
        '{"object": "list", "data": [{"id": "m"}',
        '<html><body>502 Bad Gateway</body></html>',
        '{"data": [{"pricing": {}}]}',
        json.dumps({"data": [ENTRY, ENTRY]}),
    ],
)
def test_a_streamed_body_of_the_wrong_shape_fails_as_the_whole_tree_does(body):
    adapter = get_adapter("openrouter")
    with pytest.raises(InvalidResponse) as whole:
        adapter.parse_body(body.encode())
    with pytest.raises(InvalidResponse) as streamed:
        adapter.parse_body(body.encode(), stream_above_bytes=STREAM_EVERYTHING)
    if "not JSON" in str(whole.value):  # the parsers word the same fault differently
        assert str(streamed.value).startswith("openrouter: response is not JSON")
    else:
        assert str(streamed.value) == str(whole.value)


@pytest.mark.parametrize(
    ("body", "small_accepted", "big_accepted"),
    [
        ('{"data": [{"id": "m"}]}\n', True, True),
        ('{"a": 1} {"a": 2}', False, False),
        ('{"data": [1,]}', False, False),
        ("NaN", True, False),  # Python's json reads NaN; the streaming parser holds to the JSON standard
    ],
)
def test_the_fetch_step_check_accepts_what_the_parse_accepts(body, small_accepted, big_accepted):
    for threshold, accepted in ((json_body.STREAM_ABOVE_BYTES, small_accepted), (STREAM_EVERYTHING, big_accepted)):
        if accepted:
            json_body.check("openrouter", body.encode(), threshold)
        else:
            with pytest.raises(InvalidResponse, match="openrouter: response is not JSON"):
                json_body.check("openrouter", body.encode(), threshold)
