"""The billing rules and statistics the benchmarks compute their figures with (pure functions)."""

from __future__ import annotations

import statistics

import pytest

from bench import prices, units
from bench.common import distribution, percentile, ratio


def test_item_size_counts_names_and_values_by_the_published_rules() -> None:
    item = {
        "id": {"S": "abc"},  # 2 + 3
        "n": {"N": "12345"},  # 1 + (5 significant digits -> 3 + 1)
        "ok": {"BOOL": True},  # 2 + 1
        "tags": {"L": [{"S": "x"}, {"S": "yz"}]},  # 4 + 3 + (1 + 1) + (1 + 2)
        "m": {"M": {"k": {"N": "100"}}},  # 1 + 3 + (1 + 1 + (1 significant digit -> 1 + 1))
    }
    assert units.item_size(item) == 5 + 5 + 3 + 12 + 8
    assert units.item_size(None) == 0
    assert units.number_size("1772452800000") == units.number_size("1772452.8")  # trailing zeros trimmed


def test_read_and_write_units_round_up_and_double_for_transactions() -> None:
    assert units.read_units(0, consistent=True) == 1.0  # at least one unit
    assert units.read_units(4096, consistent=True) == 1.0
    assert units.read_units(4097, consistent=True) == 2.0
    assert units.read_units(4097, consistent=False) == 1.0  # eventually consistent: half
    assert units.read_units(100, consistent=True, transactional=True) == 2.0
    assert units.write_units(1024) == 1.0
    assert units.write_units(1025) == 2.0
    assert units.write_units(1025, transactional=True) == 4.0


def test_index_writes_follow_the_sparse_index_and_key_changes() -> None:
    keys = ("due_shard", "next_fire_at")
    out = {"schedule_id": {"S": "a"}}
    indexed = {"schedule_id": {"S": "a"}, "due_shard": {"N": "1"}, "next_fire_at": {"N": "10"}}
    moved = dict(indexed, next_fire_at={"N": "20"})
    counted = dict(indexed, runs={"N": "1"})
    assert units.index_writes(out, out, keys) == []
    assert units.index_writes(out, indexed, keys) == [units.item_size(indexed)]  # put
    assert units.index_writes(indexed, out, keys) == [units.item_size(indexed)]  # delete
    assert units.index_writes(indexed, moved, keys) == [units.item_size(indexed), units.item_size(moved)]
    assert units.index_writes(indexed, counted, keys) == [units.item_size(counted)]  # ALL projection
    assert units.index_writes(indexed, indexed, keys) == []


def test_sqs_bills_64_kb_chunks() -> None:
    assert units.chunks_64kb(0) == 1
    assert units.chunks_64kb(64 * 1024) == 1
    assert units.chunks_64kb(64 * 1024 + 1) == 2


def test_percentiles_interpolate_between_ranks() -> None:
    values = list(range(1, 101))
    assert percentile(values, 50) == statistics.median(values)
    assert percentile(values, 99) == pytest.approx(99.01)
    assert percentile([5.0], 99) == 5.0
    summary = distribution([3.0, 1.0, 2.0])
    assert (summary["count"], summary["min"], summary["p50"], summary["max"]) == (3, 1.0, 2.0, 3.0)
    assert ratio(3, 2) == 1.5 and ratio(1, 0) is None and ratio(None, 1) is None


def test_price_lines_multiply_quantities_by_the_published_prices() -> None:
    line = prices.Line("S3 PUT", 3, prices.S3_PUT_REQUEST, "requests")
    assert line.usd * 1e6 == pytest.approx(15.0)  # $0.005 per 1,000 -> $15 per million runs at 3 per run
    assert prices.lambda_gb_second("arm64") < prices.lambda_gb_second("x86_64")
    with pytest.raises(ValueError, match="architecture"):
        prices.lambda_gb_second("sparc")
    assert prices.price_table()["checked"] == prices.PRICES_CHECKED
