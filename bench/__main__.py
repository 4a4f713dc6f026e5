"""``python -m bench`` (``make bench``): run the benchmarks, print the summary as JSON, write the results.

Each benchmark runs in its own fresh interpreter (imports, moto state and patches never leak from one to
the next; the cold-start figures need fresh interpreters anyway) and hands back its figures as a JSON
file. Progress goes to stderr; the summary JSON to stdout. Results: ``bench/results/<name>.json``,
``bench/results/summary.json`` and ``bench/results/cost.md`` (``bench/results/quick/`` with ``--quick``).
"""

from __future__ import annotations

import argparse
import importlib
import json
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

from bench.common import RESULTS_DIR, ROOT, machine_info, progress, utc_now_iso

# name -> module; the order is the order they run in (apscheduler compares itself with throughput).
BENCHMARKS = {
    "claim": "bench.claim_cost",
    "coldstart": "bench.cold_start",
    "throughput": "bench.throughput",
    "apscheduler": "bench.vs_apscheduler",
    "soak": "bench.soak",
    "light": "bench.light",
    "history": "bench.history",
    "cost": "bench.cost",
}
NEEDS = {"apscheduler": "throughput"}
CHILD_TIMEOUT_SECONDS = 1800


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (a smoke test, not figures)")
    parser.add_argument(
        "--only",
        action="append",
        default=[],
        metavar="NAME",
        help=f"run only these (repeat or comma-separate): {', '.join(BENCHMARKS)}",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help="results folder (default bench/results, or bench/results/quick with --quick)",
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--given", type=Path, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def selected(only: list[str]) -> list[str]:
    """The benchmarks to run, in order, with what they need; ``ValueError`` on an unknown name."""
    names = [n.strip() for item in only for n in item.split(",") if n.strip()]
    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown:
        raise ValueError(f"unknown benchmark(s): {', '.join(unknown)} (choose from {', '.join(BENCHMARKS)})")
    wanted = set(names or BENCHMARKS)
    wanted |= {NEEDS[n] for n in wanted if n in NEEDS}
    return [n for n in BENCHMARKS if n in wanted]


# --------------------------------------------------------------------------- child: one benchmark


def run_child(name: str, result_path: Path, *, quick: bool, given: Path | None) -> int:
    kwargs: dict[str, Any] = {"quick": quick}
    if name == "apscheduler":
        kwargs["agentcron"] = json.loads(given.read_text()) if given and given.exists() else None
    try:
        result = importlib.import_module(BENCHMARKS[name]).run(**kwargs)
        code = 0
    except Exception:  # noqa: BLE001 - reported in the results, the other benchmarks still run
        result = {"name": name, "error": traceback.format_exc(limit=8)}
        code = 1
    result_path.write_text(json.dumps(result, indent=2, default=str))
    return code


# --------------------------------------------------------------------------- parent


def run_all(names: list[str], *, quick: bool, out: Path) -> dict[str, Any]:
    out.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    results: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="agentcron-bench-") as tmp:
        for name in names:
            progress(f"== {name}")
            path = Path(tmp) / f"{name}.json"
            command = [sys.executable, "-m", "bench", "--child", name, "--result", str(path)]
            if quick:
                command.append("--quick")
            if name in NEEDS and NEEDS[name] in results:
                command += ["--given", str(out / f"{NEEDS[name]}.json")]
            t0 = time.monotonic()
            try:
                subprocess.run(
                    command, cwd=ROOT, stdout=subprocess.DEVNULL, timeout=CHILD_TIMEOUT_SECONDS, check=False
                )
                result = (
                    json.loads(path.read_text()) if path.exists() else {"name": name, "error": "no result"}
                )
            except subprocess.TimeoutExpired:
                result = {"name": name, "error": f"timed out after {CHILD_TIMEOUT_SECONDS}s"}
            result["measured_at"] = utc_now_iso()
            result["runtime_seconds"] = round(time.monotonic() - t0, 1)
            result["quick"] = quick
            result["machine"] = machine_info()
            if name == "cost" and "markdown" in result:
                result["markdown"] = result["markdown"].replace("(this run)", f"({result['measured_at']})")
                (out / "cost.md").write_text(result["markdown"])
            (out / f"{name}.json").write_text(json.dumps(result, indent=2) + "\n")
            results[name] = result
            status = "failed: " + result["error"].strip().splitlines()[-1] if "error" in result else "done"
            progress(f"== {name} {status} in {result['runtime_seconds']}s")
    summary = summarize(results, quick=quick, runtime=time.monotonic() - started)
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary


def summarize(results: dict[str, dict[str, Any]], *, quick: bool, runtime: float) -> dict[str, Any]:
    """The key figures of every benchmark (the full figures are in each result file)."""
    out: dict[str, Any] = {
        "measured_at": utc_now_iso(),
        "quick": quick,
        "runtime_seconds": round(runtime, 1),
        "machine": machine_info(),
    }
    for name, result in results.items():
        if "error" in result:
            out[name] = {"error": result["error"].strip().splitlines()[-1]}
            continue
        out[name] = KEY_FIGURES[name](result["figures"], result.get("config") or {})
        out[name]["runtime_seconds"] = result["runtime_seconds"]
        if name == "throughput":
            out["burst"] = _burst(result["figures"], result.get("config") or {})
        if name == "cost":
            per = result["figures"]["per_run"]
            out["run_path"] = {
                "requests_per_run": per.get("aws_requests"),
                "requests_by_operation": per.get("aws_requests_by_operation"),
                "write_units_per_run": per["dynamodb_write_request_units"],
                "index_write_units_per_run": per.get("dynamodb_index_write_units"),
                "s3_put_requests_per_run": per["s3_put_requests"],
            }
    return out


def _claim(f: dict[str, Any], config: dict[str, Any]) -> dict[str, Any]:
    return {
        "due_per_sweep": config.get("due_per_sweep"),
        "by_size": [
            {
                k: row[k]
                for k in (
                    "schedules",
                    "items_read_per_sweep",
                    "api_calls_per_sweep",
                    "read_units_per_sweep",
                    "write_units_per_sweep",
                    "seed_seconds",
                    "moto_sweep_seconds",
                )
            }
            | {
                "items_read_per_claimed_run": row["per_claimed_run"]["items_read"],
                "api_calls_per_claimed_run": row["per_claimed_run"]["api_calls"],
            }
            for row in f["by_size"]
        ],
        "items_read_ratio_largest_to_smallest": f["items_read_ratio_largest_to_smallest"],
        "schedules_ratio_largest_to_smallest": f["schedules_ratio_largest_to_smallest"],
        "scans": f["scans"],
    }


def _coldstart(f: dict[str, Any], config: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "boto3_import_ms": f["boto3_import_ms"]["median"],
        "floor_ms": (f.get("floor_ms") or {}).get("median"),
        "stack_floor_ms": {k: v.get("median") for k, v in (f.get("stack_floor_ms") or {}).items()},
        "repetitions": config.get("repetitions"),
    }
    if f.get("instructions_millions"):
        out["instructions_millions"] = f["instructions_millions"]
    for name, entry in f.items():
        if not isinstance(entry, dict) or ("import_ms_median" not in entry and "error" not in entry):
            continue
        if "error" in entry:
            out[name] = {"error": entry["error"]}
            continue
        invocation = entry.get("invocation") or {}
        out[name] = {
            "ratio_to_floor": entry.get("ratio_to_floor"),
            "own_cost_ratio_to_floor": entry.get("own_cost_ratio_to_floor"),
            "instructions": entry.get("instructions"),
            "cold_path_ms": entry.get("cold_path_ms_median"),
            "import_ms": entry["import_ms_median"],
            "import_ratio_to_boto3": entry["import_ratio_to_boto3"],
            "rss_after_import_mb": entry["rss_after_import_mb"],
            "invocation_peak_traced_mb": invocation.get("peak_traced_mb", invocation.get("error")),
            "top_imports_by_self_ms": [
                f"{p['package']} {p['ms']}" for p in entry["imports"]["top_packages_by_self_ms"]
            ],
        }
    return out


def _throughput(f: dict[str, Any], config: dict[str, Any]) -> dict[str, Any]:
    return {
        "runs": config.get("runs"),
        "executor_workers": config.get("executor_workers"),
        "completed": f["completed"],
        "statuses": f["statuses"],
        "seconds_to_all_terminal": f["seconds_to_all_terminal"],
        "runs_per_second": f["runs_per_second"],
        "fire_lag_ms_p50": f["fire_lag_ms"].get("p50"),
        "fire_lag_ms_p99": f["fire_lag_ms"].get("p99"),
        "sweep_started_ms_after_due": f["sweep_started_ms_after_due"],
        "api_calls_per_run": f["api_calls_per_run"],
        "transactions_cancelled": f["transactions_cancelled"],
    }


def _burst(f: dict[str, Any], config: dict[str, Any]) -> dict[str, Any]:
    """The throughput benchmark's burst, under the names the README's targets use."""
    return {
        "runs": config.get("runs"),
        "executor_workers": config.get("executor_workers"),
        "executor_processes": config.get("executor_processes"),
        "seconds_to_all_terminal": f["seconds_to_all_terminal"],
        "runs_per_second": f["runs_per_second"],
        "fire_lag_ms": {k: f["fire_lag_ms"].get(k) for k in ("p50", "p90", "p99", "max")},
        "cpu_ms_per_run": f.get("cpu_ms_per_run"),
    }


def _soak(f: dict[str, Any], config: dict[str, Any]) -> dict[str, Any]:
    return {
        "offered_runs_per_second": config.get("offered_runs_per_second"),
        "seconds": config.get("seconds"),
        "runs": f["runs"],
        "statuses": f["statuses"],
        "dispatch_lag_ms_p50": f["dispatch_lag_ms"].get("p50"),
        "dispatch_lag_ms_p99": f["dispatch_lag_ms"].get("p99"),
        "slot_to_claim_ms_p99": f["slot_to_claim_ms"].get("p99"),
        "claimed_to_started_ms_p99": f["claimed_to_started_ms"].get("p99"),
        "lag_p99_within_target": f["lag_p99_within_target"],
        "lag_p99_worst_minute_ms": f["lag_p99_worst_minute_ms"],
        "per_minute": [
            [row["minute"], row["runs_finished"], row["dispatch_lag_ms_p50"], row["dispatch_lag_ms_p99"]]
            for row in f["per_minute"]
        ],
        "per_minute_columns": ["minute", "runs_finished", "dispatch_lag_ms_p50", "dispatch_lag_ms_p99"],
        "lag_p50_last_to_first_minute": f["lag_p50_last_to_first_minute"],
        "finished_last_to_first_minute": f["finished_last_to_first_minute"],
        "cpu_per_run_last_to_first_minute": f["cpu_per_run_last_to_first_minute"],
        "cpu_ms_per_run": f["cpu_ms_per_run"].get("total"),
    }


def _light(f: dict[str, Any], config: dict[str, Any]) -> dict[str, Any]:
    return {
        "offered_runs_per_second": config.get("offered_runs_per_second"),
        "seconds": config.get("seconds"),
        "runs": f["runs"],
        "statuses": f["statuses"],
        "missed_or_skipped": f["missed_or_skipped"],
        "dispatch_lag_ms_p50": f["dispatch_lag_ms"].get("p50"),
        "dispatch_lag_ms_p99": f["dispatch_lag_ms"].get("p99"),
        "slot_to_claim_ms_p99": f["slot_to_claim_ms"].get("p99"),
        "lag_p99_target_ms": f["lag_p99_target_ms"],
        "lag_p99_within_target": f["lag_p99_within_target"],
        "lag_p99_worst_minute_ms": f["lag_p99_worst_minute_ms"],
    }


def _history(f: dict[str, Any], config: dict[str, Any]) -> dict[str, Any]:
    return {
        "runs_per_burst": config.get("runs_per_burst"),
        "stored_runs": config.get("stored_runs"),
        "cpu_ms_per_run_after_10": f["after_10_runs"]["cpu_ms_per_run"]["total"],
        "cpu_ms_per_run_after_10000": f["after_10000_runs"]["cpu_ms_per_run"]["total"],
        "cpu_ms_per_run_after_10_again": f["after_10_runs_again"]["cpu_ms_per_run"]["total"],
        "ratio": f["ratio"],
        "ratio_by_process": f["ratio_by_process"],
        "wall_ratio": f["wall_ratio"],
    }


def _apscheduler(f: dict[str, Any], config: dict[str, Any]) -> dict[str, Any]:
    a, default = f["apscheduler"], f.get("apscheduler_default_grace") or {}
    return {
        "jobs": config.get("jobs"),
        "seconds_to_all_done": a["seconds_to_all_done"],
        "jobs_per_second": a["jobs_per_second"],
        "fire_lag_ms_p50": a["fire_lag_ms"].get("p50"),
        "fire_lag_ms_p99": a["fire_lag_ms"].get("p99"),
        "missed_with_default_1s_grace": default.get("missed"),
        "ratios_apscheduler_to_agentcron": f["ratios_apscheduler_to_agentcron"],
    }


def _cost(f: dict[str, Any], config: dict[str, Any]) -> dict[str, Any]:
    per = f["per_run"]
    return {
        "per_run": {
            k: per[k]
            for k in (
                "dynamodb_write_request_units",
                "dynamodb_read_request_units",
                "sqs_billed_requests_one_per_invocation",
                "s3_put_requests",
                "s3_get_requests",
                "eventbridge_events",
                "lambda_gb_seconds",
                "log_bytes",
            )
        },
        # Claim + execute, echo model, ten runs per executor invocation; the other cases below.
        "usd_per_million_runs": f["usd_per_million_runs"]["batched_10_per_invocation"],
        "usd_per_million_runs_by_case": f["usd_per_million_runs"],
        # The claim function when nothing is due: an invocation a minute that sweeps once and returns.
        "idle_usd_per_month": f["usd_fixed_per_month"],
        "usd_fixed_per_month": f["usd_fixed_per_month"],
        "usd_at_one_million_runs_per_month": f["usd_at_one_million_runs_per_month"],
        "prices_checked": f["prices"]["checked"],
    }


KEY_FIGURES = {
    "claim": _claim,
    "coldstart": _coldstart,
    "throughput": _throughput,
    "apscheduler": _apscheduler,
    "soak": _soak,
    "light": _light,
    "history": _history,
    "cost": _cost,
}


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.child:
        return run_child(args.child, args.result, quick=args.quick, given=args.given)
    try:
        names = selected(args.only)
    except ValueError as exc:
        print(exc, file=sys.stderr)
        return 2
    out = args.out or (RESULTS_DIR / "quick" if args.quick else RESULTS_DIR)
    summary = run_all(names, quick=args.quick, out=out)
    print(json.dumps(summary, indent=2))
    failed = [name for name in names if "error" in summary.get(name, {})]
    if failed:
        progress(f"failed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
