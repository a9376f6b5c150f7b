"""PriceRecord's computed values: the stored price fingerprint never changes its format, a
record keeps what it computed in slots, and step outputs pickled before that still load."""

import dataclasses
import pickle
from decimal import Decimal

from pricing_pipeline.pricing.records import PriceComponent, PriceRecord, PriceTier

# Stored in model_prices and as held proposals' keys: another digest for the same prices
# re-reads every live row once and judges every held proposal afresh.
PINNED = {
    "dc19061b999781ccf7d0a970db8bf899": lambda two: PriceRecord("p", "m", Decimal("1.5"), two),
    "9c6695f45c0940ecd2a850dd009ecd1a": lambda two: PriceRecord("p", "m", Decimal("1.50"), two),
    "1d857bb8598275c175de5c4658817e17": lambda two: PriceRecord(
        "p", "m", Decimal("1.5"), tiers=(PriceTier(200000, Decimal("3")),), model_type="chat"
    ),
    "c6dc9ce92aed30eedabd01b7d3e7b83b": lambda two: PriceRecord(
        "p", "m", extra_components=(PriceComponent("web_search", "usd_per_search", Decimal("0.01")),),
        upstream_provider="x", upstream_model_id="y",
    ),
    "47c9063480b78b8a21b67a309ff1e0d3": lambda two: PriceRecord("p", "m", variable_pricing=True),
}


def test_the_fingerprint_format_is_the_stored_one_whatever_the_order_and_sharing():
    two = Decimal("2")  # one Decimal object shared between records, as an adapter's catalog does
    for order in (list(PINNED), list(reversed(PINNED))):
        for digest in order:
            for _ in range(2):
                assert PINNED[digest](two).price_fingerprint() == digest
    # Equal values in another notation are another digest (only a candidate change), both ways.
    one_and_a_half = Decimal("1.5")
    assert PriceRecord("p", "a", one_and_a_half, two).price_fingerprint() == "dc19061b999781ccf7d0a970db8bf899"
    assert PriceRecord("p", "b", Decimal("1.50"), two).price_fingerprint() == "9c6695f45c0940ecd2a850dd009ecd1a"


def test_computed_values_live_in_slots_not_in_an_instance_dict():
    record = PriceRecord("p", "m", Decimal("1"), tiers=(PriceTier(1000, Decimal("2")),))
    record.price_fingerprint(), record.price_key(), record.components()
    assert not hasattr(record, "__dict__")
    assert record.components() is record.components() and record.price_key() is record.price_key()
    other = record.replace(input_usd_per_mtok=Decimal("3"))  # computed afresh, never copied
    assert other.price_key() != record.price_key() and other.price_fingerprint() != record.price_fingerprint()


def test_a_record_pickles_without_its_computed_values_and_an_older_pickle_still_loads():
    record = PriceRecord("p", "m", Decimal("1"), Decimal("2"), raw={"prompt": "0.000001"}, unknown_keys=("k",))
    fingerprint = record.price_fingerprint()
    assert pickle.loads(pickle.dumps(record)) == record

    # How a record with an instance dict pickled (a step output of an older run): the class,
    # then its __dict__, computed values included, as the state.
    state = {f.name: getattr(record, f.name) for f in dataclasses.fields(record)} | {"_price_fingerprint": fingerprint}
    older = (
        b"\x80\x02cpricing_pipeline.pricing.records\nPriceRecord\n)\x81"  # PROTO 2, GLOBAL, EMPTY_TUPLE, NEWOBJ
        + pickle.dumps(state, protocol=2)[2:-1]  # the state, without its PROTO and STOP
        + b"b."  # BUILD, STOP
    )
    loaded = pickle.loads(older)
    assert type(loaded) is PriceRecord and loaded == record
    assert (loaded.raw, loaded.unknown_keys, loaded.price_fingerprint()) == (record.raw, ("k",), fingerprint)
