"""Smoke tests of the benchmark harness at tiny sizes: the figures are computed from what ran."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bench import units
from bench.__main__ import selected, summarize
from bench.cold_start import parse_importtime
from bench.common import function_config, moto_peek
from bench.meter import ApiMeter

ROOT = Path(__file__).resolve().parents[2]


def test_the_meter_counts_calls_items_and_units_from_item_sizes(stack) -> None:
    peek, index_keys = moto_peek()
    meter = ApiMeter(peek=peek, index_keys=index_keys)
    meter.attach(stack.dynamodb.meta.events)
    table = stack.settings.runs_table
    big = {"schedule_id": {"S": "s"}, "run_id": {"S": "r"}, "blob": {"S": "x" * 3000}}
    with meter.phase("writes"):
        stack.dynamodb.put_item(TableName=table, Item=big)
        stack.dynamodb.update_item(
            TableName=table,
            Key={"schedule_id": {"S": "s"}, "run_id": {"S": "r"}},
            UpdateExpression="SET open_shard = :s, open_until = :u",
            ExpressionAttributeValues={":s": {"N": "1"}, ":u": {"N": "5"}},
        )
    with meter.phase("reads"):
        stack.dynamodb.get_item(
            TableName=table,
            Key={"schedule_id": {"S": "s"}, "run_id": {"S": "r"}},
            ProjectionExpression="run_id",
            ConsistentRead=True,
        )
        stack.dynamodb.query(
            TableName=table,
            KeyConditionExpression="schedule_id = :s",
            ExpressionAttributeValues={":s": {"S": "s"}},
        )

    stored = peek(table, {"schedule_id": {"S": "s"}, "run_id": {"S": "r"}})
    size = units.item_size(stored)
    assert 3000 < size < 3100
    writes, reads = meter.phases["writes"], meter.phases["reads"]
    assert writes.calls == {"dynamodb.PutItem": 1, "dynamodb.UpdateItem": 1}
    assert writes.write_units == {"PutItem": 3.0, "UpdateItem": 3.0}  # 1 KB units of the larger item
    assert writes.index_write_units == {"open": 1.0}  # the update entered the keys-only open index
    # A projected GetItem still reads the whole item; the query is eventually consistent.
    assert reads.read_units == {"GetItem": 1.0, "Query": 0.5}
    assert reads.totals()["dynamodb_items_read"] == 2


def test_claim_reads_stay_flat_as_the_table_grows() -> None:
    from bench import claim_cost

    result = claim_cost.run(sizes=(40, 160), due=4)
    small, large = result["figures"]["by_size"]
    assert (small["schedules"], large["schedules"]) == (40, 160)
    # The 4 due keys and schedules, and one next-fire entry per shard: not one more for 4 times the table.
    assert small["items_read_per_sweep"] == large["items_read_per_sweep"] == 4 + 4 + 8
    assert result["figures"]["items_read_ratio_largest_to_smallest"] == 1.0
    assert result["figures"]["schedules_ratio_largest_to_smallest"] == 4.0
    assert result["figures"]["scans"] == 0
    assert large["calls"]["dynamodb.TransactWriteItems"] == 4  # one claim transaction per due schedule
    assert large["per_claimed_run"]["write_units"] == large["write_units_per_sweep"] / 4


def test_apscheduler_pass_times_every_job_and_ratios_divide_agentcron_figures() -> None:
    from bench import vs_apscheduler

    agentcron = {
        "config": {"runs": 12},
        "figures": {
            "seconds_to_all_terminal": 2.0,
            "runs_per_second": 6.0,
            "fire_lag_ms": {"p50": 100.0, "p99": 400.0},
        },
    }
    result = vs_apscheduler.run(jobs=12, agentcron=agentcron, default_grace_pass=False)
    measured = result["figures"]["apscheduler"]
    assert (measured["executed"], measured["missed"], measured["fire_lag_ms"]["count"]) == (12, 0, 12)
    ratios = result["figures"]["ratios_apscheduler_to_agentcron"]
    assert ratios["seconds_to_all_done"] == round(measured["seconds_to_all_done"] / 2.0, 3)
    assert ratios["fire_lag_p99"] == round(measured["fire_lag_ms"]["p99"] / 400.0, 3)
    assert result["config"]["same_size_as_agentcron"] is True


def test_importtime_profile_sums_self_time_per_package_and_lists_direct_imports() -> None:
    text = "\n".join(
        [
            "import time: self [us] | cumulative | imported package",
            "import time:       100 |        100 | json",
            "import time:      3000 |       3000 |     botocore.model",
            "import time:      1000 |       4000 |   botocore",
            "import time:       500 |        500 |   agentcron.models",
            "import time:       200 |       4700 | app",
        ]
    )
    profile = parse_importtime(text, root="app")
    assert profile["top_packages_by_self_ms"][0] == {"package": "botocore", "ms": 4.0}
    assert [d["module"] for d in profile["top_direct_imports_by_cumulative_ms"]] == [
        "botocore",
        "agentcron.models",
    ]


def test_selection_adds_what_a_benchmark_needs_and_refuses_unknown_names() -> None:
    assert selected(["apscheduler"]) == ["throughput", "apscheduler"]
    assert selected(["cost,claim"]) == ["claim", "cost"]
    assert selected([]) == [
        "claim", "coldstart", "throughput", "apscheduler", "soak", "light", "history", "cost"
    ]
    with pytest.raises(ValueError, match="unknown benchmark"):
        selected(["nope"])
    summary = summarize(
        {"claim": {"error": "Traceback\nRuntimeError: boom\n", "runtime_seconds": 1}}, quick=True, runtime=1.0
    )
    assert summary["claim"] == {"error": "RuntimeError: boom"}


def test_function_settings_come_from_the_template() -> None:
    executor = function_config("ExecutorFunction")
    assert executor.memory_mb >= 128 and executor.architecture in ("arm64", "x86_64")
    assert executor.batch_size == 10


@pytest.mark.slow
def test_make_bench_quick_writes_results_and_prints_the_summary(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--only", "throughput,cost", "--out", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    summary = json.loads(done.stdout)
    assert summary == json.loads((tmp_path / "summary.json").read_text())
    throughput = json.loads((tmp_path / "throughput.json").read_text())
    f = throughput["figures"]
    assert f["statuses"] == {"success": throughput["config"]["runs"]}
    assert f["transactions_cancelled"] == 0
    assert f["runs_per_second"] == pytest.approx(throughput["config"]["runs"] / f["seconds_to_all_terminal"], abs=0.1)
    assert summary["throughput"]["fire_lag_ms_p99"] == f["fire_lag_ms"]["p99"] > 0
    cost = json.loads((tmp_path / "cost.json").read_text())["figures"]
    lines = cost["lines_per_million_runs_one_per_invocation"]
    assert cost["usd_per_million_runs"]["one_run_per_invocation"] == pytest.approx(
        sum(line["usd"] for line in lines), abs=0.02
    )
    assert cost["per_run"]["dynamodb_write_request_units"] > 0 and cost["per_run"]["s3_put_requests"] == 0  # small transcripts are items
    assert "| **total** |" in (tmp_path / "cost.md").read_text()
    # The keys the performance issue asked for, taken from the same run.
    assert summary["run_path"]["requests_per_run"] == cost["per_run"]["aws_requests"]
    assert summary["run_path"]["requests_per_run"] == pytest.approx(
        sum(cost["per_run"]["aws_requests_by_operation"].values()), abs=0.1
    )
    assert summary["run_path"]["write_units_per_run"] == cost["per_run"]["dynamodb_write_request_units"]
    assert summary["cost"]["usd_per_million_runs"] == cost["usd_per_million_runs"]["batched_10_per_invocation"]
    assert summary["cost"]["idle_usd_per_month"] == cost["usd_fixed_per_month"]
    assert summary["burst"]["runs"] and summary["burst"]["fire_lag_ms"]["p99"] >= 0
