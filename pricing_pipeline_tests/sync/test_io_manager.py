"""Step outputs: the file is the source of truth; the object this process last wrote is
reused only while that file is unchanged."""

import pickle
from decimal import Decimal

from dagster import AssetKey, build_init_resource_context, build_input_context, build_output_context

from pricing_pipeline.defs.io_manager import StepOutputIOManager
from pricing_pipeline.pricing.records import NormalizedSnapshot, PriceRecord

KEY = AssetKey("normalized_prices")


def snapshot(price: str) -> NormalizedSnapshot:
    records = [PriceRecord("p", f"m{i}", input_usd_per_mtok=Decimal(price), raw={"prompt": price}) for i in range(3)]
    return NormalizedSnapshot(records, {"bad": "unreadable"}, {"new_key": 2})


def contexts(tmp_path):
    io_manager = StepOutputIOManager(base_dir=str(tmp_path)).create_io_manager(build_init_resource_context())
    output = build_output_context(asset_key=KEY, name="result", step_key="normalized_prices")
    return io_manager, output, build_input_context(asset_key=KEY, upstream_output=output)


def test_the_next_step_gets_the_object_written_without_reading_the_file(tmp_path):
    io_manager, output, input_ = contexts(tmp_path)
    written = snapshot("1")
    io_manager.handle_output(output, written)
    assert io_manager.load_input(input_) is written
    with (tmp_path / "normalized_prices").open("rb") as file:  # and the file holds the same
        assert pickle.load(file) == written


def test_a_file_written_by_another_run_is_read_from_disk(tmp_path):
    io_manager, output, input_ = contexts(tmp_path)
    io_manager.handle_output(output, snapshot("1"))
    newer = snapshot("2")
    (tmp_path / "normalized_prices").write_bytes(pickle.dumps(newer))
    loaded = io_manager.load_input(input_)
    assert loaded == newer and loaded.records[0].input_usd_per_mtok == Decimal("2")


def test_another_output_is_never_served_from_memory(tmp_path):
    io_manager, output, _ = contexts(tmp_path)
    io_manager.handle_output(output, snapshot("1"))
    other_output = build_output_context(asset_key=AssetKey("raw_price_snapshot"), name="result")
    io_manager.handle_output(other_output, b"body")
    loaded = io_manager.load_input(build_input_context(asset_key=KEY, upstream_output=output))
    assert loaded == snapshot("1")
