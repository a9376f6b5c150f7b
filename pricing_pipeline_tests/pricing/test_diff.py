from decimal import Decimal

from pricing_pipeline.pricing.diff import diff_snapshot
from pricing_pipeline.pricing.records import PriceRecord, PriceTier


def rec(model_id, input_price="1", **kw):
    return PriceRecord("p", model_id, input_usd_per_mtok=Decimal(input_price), output_usd_per_mtok=Decimal("2"), **kw)


def test_added_changed_removed_and_unchanged():
    published = {"same": rec("same"), "moves": rec("moves"), "gone": rec("gone")}
    diff = diff_snapshot(published, [rec("same"), rec("moves", "1.5"), rec("new")])
    assert [c.model_id for c in diff.added] == ["new"]
    assert [(c.model_id, c.before.input_usd_per_mtok, c.after.input_usd_per_mtok) for c in diff.changed] == [
        ("moves", Decimal("1"), Decimal("1.5"))
    ]
    assert [c.model_id for c in diff.removed] == ["gone"]


def test_identical_snapshot_is_no_change_even_if_raw_differs():
    published = {"m": rec("m", raw={"prompt": "0.000001"})}
    assert not diff_snapshot(published, [rec("m", raw={"prompt": "0.0000010"})])


def test_numerically_equal_decimals_are_no_change():
    assert not diff_snapshot({"m": rec("m", "1.50")}, [rec("m", "1.5")])


def test_tier_boundary_and_unknown_price_are_changes():
    tiered = rec("m", tiers=(PriceTier(128000, Decimal("2")),))
    moved = rec("m", tiers=(PriceTier(256000, Decimal("2")),))
    assert [c.kind for c in diff_snapshot({"m": tiered}, [moved]).changes] == ["changed"]
    unknown = PriceRecord("p", "m")
    change = diff_snapshot({"m": rec("m", "0")}, [unknown]).changed[0]
    assert change.after.input_usd_per_mtok is None  # unknown, not zero
