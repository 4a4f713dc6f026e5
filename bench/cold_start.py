"""Benchmark 2: cold start of each Lambda handler: import time, memory after import, one invocation's peak.

Import time: every repetition imports ``functions/<name>/app.py`` (as Lambda does: the folder on
``sys.path``, ``import app``) in a fresh interpreter and times the import with ``perf_counter``; a bare
``import boto3`` is timed the same way in the same run, interleaved, and each handler is reported as a
ratio of medians. One extra run per module with ``python -X importtime`` tells which imports dominate
(self time summed per top-level package, and the handler's largest direct imports).

Memory: in another fresh interpreter the handler is imported first (``ru_maxrss`` then is what the module
costs: interpreter + imports), then moto is started in-process, a workload is seeded and the handler is
invoked once under ``tracemalloc`` (the Python heap's peak during the invocation; it includes moto serving
the calls in-process, so it is an upper bound for the handler).
"""

from __future__ import annotations

import functools
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
from collections import defaultdict
from typing import Any

from bench.common import FAKE_AWS_ENV, NOISY_MACHINE, ROOT, progress, ratio, shallow_table_snapshots, template

NAME = "coldstart"
HANDLERS = ("claim", "executor", "api")
FULL_REPETITIONS = 5
QUICK_REPETITIONS = 2
TOP = 5

_TIME_IMPORT = """
import sys, time, resource, json
target = sys.argv[1]
if target != "boto3":
    sys.path.insert(0, target)
started = time.perf_counter()
if target == "boto3":
    import boto3
else:
    import app
seconds = time.perf_counter() - started
print(json.dumps({"seconds": seconds, "maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))
"""

# The cold path of a handler: its import and the creation of its clients (what a first invocation does
# before its work), against the floor: importing boto3 and creating the same clients. Both in one fresh
# interpreter each, interleaved in the same run.
CLIENTS = ("dynamodb", "sqs", "s3", "events")  # what agentcron.wiring.build_services creates
# The stack floors: the floor plus what the libraries the design fixes cost before any code of ours runs.
# Every handler logs and meters with Powertools and validates with pydantic models (the import and a first
# model class); the API is Powertools' event handler with validation and OpenAPI on top (the design's choice).
STACKS = {
    "floor": "",
    "stack": (
        "from pydantic import BaseModel\n"
        "class First(BaseModel):\n    field: int\n"
        "from aws_lambda_powertools import Logger, Metrics\n"
        "Logger(service='floor'); Metrics(namespace='floor')\n"
    ),
}
STACKS["stack_api"] = STACKS["stack"] + (
    "from aws_lambda_powertools.event_handler import APIGatewayHttpResolver\n"
    "APIGatewayHttpResolver(enable_validation=True)\n"
)
STACK_OF = {"claim": "stack", "executor": "stack", "api": "stack_api"}
_TIME_COLD_PATH = """
import sys, time, json
target, clients, stack = sys.argv[1], sys.argv[2].split(","), sys.argv[3]
started = time.perf_counter()
if target in ("floor", "stack", "stack_api"):
    import boto3
    for service in clients:
        boto3.client(service)
    exec(stack)
else:
    sys.path.insert(0, target)
    import app
    (app.dependencies if hasattr(app, "dependencies") else app.api_handler)()
print(json.dumps({"seconds": time.perf_counter() - started}))
"""
_HANDLER_ENV = {  # what the template sets and the handlers' settings read (no call reaches AWS)
    "SCHEDULES_TABLE": "schedules",
    "RUNS_TABLE": "runs",
    "RUN_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/runs.fifo",
    "SESSIONS_BUCKET": "sessions",
    "IDEMPOTENCY_TABLE": "idempotency",
    "POWERTOOLS_TRACE_DISABLED": "true",
    "PYDANTIC_DISABLE_PLUGINS": "__all__",
}


def _cold_path_args(name: str) -> list[str]:
    target = name if name in STACKS else str(ROOT / "functions" / name)
    return ["-c", _TIME_COLD_PATH, target, ",".join(CLIENTS), STACKS.get(name, "")]


def time_cold_path(name: str, env: dict[str, str]) -> float:
    """Seconds of a handler's cold path (``name`` a handler) or of a floor (``name`` in :data:`STACKS`)."""
    done = _python(_cold_path_args(name), env={**env, **_HANDLER_ENV}, lambda_like=True)
    if done.returncode != 0:
        raise RuntimeError(done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "cold path failed")
    return float(json.loads(done.stdout.strip().splitlines()[-1])["seconds"])


_COLLECTED = re.compile(r"Collected\s*:\s*(\d+)")


def count_instructions(name: str, env: dict[str, str]) -> int | None:
    """CPU instructions of one cold path under valgrind (callgrind): deterministic where wall-clock time on a
    shared machine is not. None where valgrind is not installed."""
    valgrind = shutil.which("valgrind")
    if valgrind is None:
        return None
    python, extra = lambda_python()
    done = subprocess.run(
        [valgrind, "--tool=callgrind", "--callgrind-out-file=/dev/null", python, *_cold_path_args(name)],
        env={**env, **_HANDLER_ENV, **extra},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    found = _COLLECTED.search(done.stderr)
    if done.returncode != 0 or found is None:
        raise RuntimeError(done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "callgrind failed")
    return int(found[1])


_IMPORT_LINE = re.compile(r"^import time:\s+(\d+)\s+\|\s+(\d+)\s+\|(\s*)(\S+)\s*$")


# Lambda's interpreter and what its layer holds: Python 3.13 with only layers/agentcron/requirements.txt
# installed (`make test-py313` builds this virtualenv) and the layer's package on the path, as in /opt/python.
# Without it the cold path is measured on this interpreter with the project's development install.
LAMBDA_VENV = ROOT / ".venv-py313"


def lambda_python() -> tuple[str, dict[str, str]]:
    """The interpreter the cold path is measured with, and what its environment adds."""
    python = LAMBDA_VENV / "bin" / "python"
    if python.exists():
        return str(python), {"PYTHONPATH": str(ROOT / "layers" / "agentcron")}
    return sys.executable, {}


def _env() -> dict[str, str]:
    """The handlers' environment in Lambda, minus anything that could reach AWS."""
    env = {
        k: v for k, v in os.environ.items() if not k.startswith("AWS_") and not k.startswith("POWERTOOLS_")
    }
    env.update(FAKE_AWS_ENV)
    env.update({"POWERTOOLS_SERVICE_NAME": "agentcron", "LOG_LEVEL": "INFO", "PYTHONDONTWRITEBYTECODE": "0"})
    return env


def _python(args: list[str], *, env: dict[str, str], lambda_like: bool = False) -> subprocess.CompletedProcess:
    """``python args`` in a fresh interpreter: this one, or (``lambda_like``) :func:`lambda_python`'s."""
    python, extra = lambda_python() if lambda_like else (sys.executable, {})
    return subprocess.run(
        [python, *args], env={**env, **extra}, cwd=ROOT, capture_output=True, text=True, timeout=300, check=False
    )


def _target(name: str) -> str:
    return "boto3" if name == "boto3" else str(ROOT / "functions" / name)


def time_import(name: str, env: dict[str, str]) -> dict[str, float]:
    """Seconds to import ``name`` (a handler folder or ``boto3``) in a fresh interpreter, and ru_maxrss."""
    done = _python(["-c", _TIME_IMPORT, _target(name)], env=env, lambda_like=True)
    if done.returncode != 0:
        raise RuntimeError(done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "import failed")
    return json.loads(done.stdout.strip().splitlines()[-1])


def import_profile(name: str, env: dict[str, str]) -> dict[str, Any]:
    """``-X importtime`` of one import: self time per top-level package and the largest direct imports."""
    done = _python(["-X", "importtime", "-c", _TIME_IMPORT, _target(name)], env=env, lambda_like=True)
    return parse_importtime(done.stderr, root="boto3" if name == "boto3" else "app")


def parse_importtime(text: str, *, root: str) -> dict[str, Any]:
    """Top packages by summed self time, and ``root``'s direct imports by cumulative time (milliseconds)."""
    by_package: dict[str, int] = defaultdict(int)
    lines = [m for m in (_IMPORT_LINE.match(line) for line in text.splitlines()) if m]
    root_depth = None
    direct: list[tuple[str, int]] = []
    # -X importtime prints a module after its children: walk backwards to know each line's parent.
    for m in reversed(lines):
        cumulative_us, indent, module = int(m[2]), len(m[3]), m[4]
        if root_depth is None:
            if module == root:
                root_depth = indent
            continue
        if indent <= root_depth:
            break  # left the root's subtree: an import made before it
        if indent == root_depth + 2:
            direct.append((module, cumulative_us))
    for m in lines:
        if m[4] != root:
            by_package[m[4].split(".")[0]] += int(m[1])
    top_packages = sorted(by_package.items(), key=lambda kv: kv[1], reverse=True)[:TOP]
    top_direct = sorted(direct, key=lambda kv: kv[1], reverse=True)[:TOP]
    return {
        "top_packages_by_self_ms": [{"package": p, "ms": round(us / 1000, 1)} for p, us in top_packages],
        "top_direct_imports_by_cumulative_ms": [
            {"module": m, "ms": round(us / 1000, 1)} for m, us in top_direct
        ],
        "modules_imported": len(lines),
    }


def run(*, quick: bool = False, repetitions: int | None = None) -> dict[str, Any]:
    reps = repetitions or (QUICK_REPETITIONS if quick else FULL_REPETITIONS)
    env = _env()
    names = ["boto3"] + [h for h in HANDLERS if (ROOT / "functions" / h / "app.py").exists()]
    samples: dict[str, list[float]] = defaultdict(list)
    rss: dict[str, list[int]] = defaultdict(list)
    errors: dict[str, str] = {}
    for name in names:  # warm-up: compile .pyc files so the first measured repetition is not penalised
        try:
            time_import(name, env)
        except RuntimeError as exc:
            errors[name] = str(exc)
    for rep in range(reps):
        progress(f"coldstart: import repetition {rep + 1}/{reps}")
        for name in names:  # interleaved, so a noisy moment hits every module alike
            if name in errors:
                continue
            result = time_import(name, env)
            samples[name].append(result["seconds"] * 1000)
            rss[name].append(int(result["maxrss_kb"]))
    cold: dict[str, list[float]] = defaultdict(list)
    handlers = [name for name in names[1:] if name not in errors]
    cold_names = list(STACKS) + handlers
    for name in cold_names:  # warm-up, as above
        time_cold_path(name, env)
    for rep in range(reps):
        progress(f"coldstart: cold path repetition {rep + 1}/{reps}")
        for name in cold_names:
            cold[name].append(time_cold_path(name, env) * 1000)
    floor = statistics.median(cold["floor"])
    baseline = statistics.median(samples["boto3"]) if samples["boto3"] else None
    figures: dict[str, Any] = {
        "boto3_import_ms": {"median": _r(baseline), "samples": _rs(samples["boto3"])},
        "floor_ms": {"median": _r(floor), "samples": _rs(cold["floor"]), "clients": list(CLIENTS)},
        "stack_floor_ms": {
            stack: {"median": _r(statistics.median(cold[stack])), "samples": _rs(cold[stack])}
            for stack in STACKS
            if stack != "floor"
        },
    }
    instructions = {} if quick else _instructions(cold_names, env)
    if instructions:
        figures["instructions_millions"] = {name: round(n / 1e6) for name, n in instructions.items()}
    for name in names[1:]:
        entry: dict[str, Any] = {}
        if name in errors:
            entry["error"] = errors[name]
        else:
            median = statistics.median(samples[name])
            cold_median, stack = statistics.median(cold[name]), statistics.median(cold[STACK_OF[name]])
            entry.update(
                {
                    "import_ms_median": _r(median),
                    "import_ms_samples": _rs(samples[name]),
                    "import_ratio_to_boto3": ratio(median, baseline, 2),
                    "cold_path_ms_median": _r(statistics.median(cold[name])),
                    "cold_path_ms_samples": _rs(cold[name]),
                    "ratio_to_floor": ratio(cold_median, floor, 2),
                    "stack_floor": STACK_OF[name],
                    "own_cost_ratio_to_floor": ratio(cold_median - stack, floor, 2),
                    "rss_after_import_mb": round(statistics.median(rss[name]) / 1024, 1),
                    "imports": import_profile(name, env),
                }
            )
            if instructions:
                own = instructions[name] - instructions[STACK_OF[name]]
                entry["instructions"] = {
                    "ratio_to_floor": ratio(instructions[name], instructions["floor"], 2),
                    "own_cost_ratio_to_floor": ratio(own, instructions["floor"], 3),
                }
            progress(
                f"coldstart: {name} imports in {median:.0f} ms ({entry['import_ratio_to_boto3']}x boto3)"
            )
            entry["invocation"] = invoke_in_child(name, env, quick=quick)
        figures[name] = entry
    figures["boto3_imports"] = import_profile("boto3", env)
    figures["boto3_rss_after_import_mb"] = (
        round(statistics.median(rss["boto3"]) / 1024, 1) if rss["boto3"] else None
    )
    return {
        "name": NAME,
        "config": {
            "repetitions": reps,
            "python": _version(lambda_python()[0]),
            "layer_only": lambda_python()[0] != sys.executable,
            "tracing": "disabled (no X-Ray daemon)",
        },
        "figures": figures,
        "notes": [
            "own_cost_ratio_to_floor: what the handler's cold path costs above its stack floor (the floor plus "
            "pydantic's import and first model and Powertools' Logger and Metrics; for the API also Powertools' "
            "event handler with validation), over the floor: the cost of agentcron's own code and models. "
            "instructions: the same ratios in CPU instructions counted by callgrind (deterministic; the wall-clock "
            "figures of this shared machine swing between runs).",
            "ratio_to_floor: the handler's cold path (import it, then build its clients and settings as its "
            "first invocation does) over the floor (import boto3, create the same four clients), medians of "
            "fresh interpreters, interleaved in the same run; tracing off, the template's default.",
            "Import time: perf_counter around `import app` in a fresh interpreter per repetition, median; "
            "the ratio divides by the median of a bare `import boto3` timed the same way, interleaved, in "
            "the same run.",
            "rss_after_import_mb: ru_maxrss right after the import (interpreter + modules), before anything "
            "else.",
            "invocation.peak_traced_mb: tracemalloc peak during one cold invocation (clients built, calls "
            "served by moto in the same process, so an upper bound for the handler alone; moto's whole-table "
            "transaction snapshots made shallow).",
            f"Lambda runs Python {_lambda_runtime()}; the import and cold-path figures come from Python "
            f"{_version(lambda_python()[0])}"
            + (
                " with only the layer's requirements installed and the layer on the path, as in Lambda "
                "(.venv-py313, built by `make test-py313`)."
                if lambda_python()[0] != sys.executable
                else " (no .venv-py313: `make test-py313` builds it)."
            )
            + f" The invocation figures come from Python {sys.version.split()[0]} (moto runs in-process).",
            NOISY_MACHINE,
        ],
    }


def _instructions(names: list[str], env: dict[str, str]) -> dict[str, int]:
    """Instructions of each cold path (one run each: the count does not vary), or {} without valgrind."""
    counts: dict[str, int] = {}
    for name in names:
        progress(f"coldstart: counting the instructions of {name}'s cold path (callgrind)")
        count = count_instructions(name, env)
        if count is None:
            progress("coldstart: valgrind is not installed; no instruction counts")
            return {}
        counts[name] = count
    return counts


@functools.cache
def _version(python: str) -> str:
    done = subprocess.run([python, "-c", "import sys; print(sys.version.split()[0])"], capture_output=True,
                          text=True, check=False)
    return done.stdout.strip() or "unknown"


def _lambda_runtime() -> str:
    runtime = ((template().get("Globals") or {}).get("Function") or {}).get("Runtime", "python3")
    return str(runtime).replace("python", "")


def _r(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def _rs(values: list[float]) -> list[float]:
    return [round(v, 1) for v in values]


def invoke_in_child(name: str, env: dict[str, str], *, quick: bool) -> dict[str, Any]:
    done = _python(["-m", "bench.cold_start", "invoke", name] + (["--quick"] if quick else []), env=env)
    if done.returncode != 0:
        tail = done.stderr.strip().splitlines()[-3:] if done.stderr.strip() else ["invocation failed"]
        return {"error": " | ".join(tail)}
    return json.loads(done.stdout.strip().splitlines()[-1])


# --------------------------------------------------------------------------- child: one invocation


def _invoke(name: str, quick: bool) -> dict[str, Any]:
    """In a fresh interpreter: import the handler, then moto, seed, and invoke the handler once."""
    import resource
    import time
    import tracemalloc

    sys.path.insert(0, str(ROOT / "functions" / name))
    import app  # noqa: PLC0415 - the handler module, imported first so ru_maxrss covers only it

    rss_after_import = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    event, context = _prepare(name, quick)
    with shallow_table_snapshots():  # moto's whole-table rollback copies are not the handler's memory
        tracemalloc.start()
        started = time.perf_counter()
        response = app.lambda_handler(event, context)
        seconds = time.perf_counter() - started
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    return {
        "peak_traced_mb": round(peak / 2**20, 1),
        "wall_ms_under_tracemalloc": round(seconds * 1000, 1),
        "rss_after_import_mb": round(rss_after_import / 1024, 1),
        "workload": _WORKLOADS[name](quick),
        "response_ok": _ok(name, response),
    }


_WORKLOADS = {
    "claim": lambda quick: f"one sweep claiming {10 if quick else 100} due schedules",
    "executor": lambda quick: "one SQS batch of 10 run messages, echo model",
    "api": lambda quick: "GET /schedules?enabled=true&limit=10",
}


def _ok(name: str, response: Any) -> bool:
    if name == "claim":
        return isinstance(response, dict) and response.get("errors") == 0
    if name == "executor":
        return isinstance(response, dict) and not response.get("batchItemFailures")
    return isinstance(response, dict) and int(response.get("statusCode", 500)) < 400


def _prepare(name: str, quick: bool) -> tuple[dict[str, Any], Any]:
    """Start moto, create the template's resources, seed what the invocation needs; (event, context)."""
    import time
    from datetime import timedelta

    import boto3
    from agentcron.application import Services
    from agentcron.application.claim import sweep
    from agentcron.local.handlers import LambdaContext
    from agentcron.local.loops import scheduler_event, sqs_event
    from agentcron.local.resources import RUN_QUEUE, create_resources
    from agentcron.clock import utcnow
    from moto import mock_aws

    from bench.workload import schedule_items, seed

    mock = mock_aws()
    mock.start()  # left running: the process ends after the invocation
    dynamodb, sqs, s3 = (boto3.client(n) for n in ("dynamodb", "sqs", "s3"))
    resources = create_resources(dynamodb=dynamodb, sqs=sqs, s3=s3, prefix="cold")
    os.environ.update(resources.environment(sweep_seconds=0))
    settings = resources.settings(sweep_seconds=0)
    due_at = utcnow().replace(microsecond=0) - timedelta(seconds=1)
    due = 10 if quick or name != "claim" else 100
    seed(
        dynamodb,
        settings.schedules_table,
        schedule_items(due * 2, due, due_at, settings.due_shards),
        total=due * 2,
    )
    context = LambdaContext(f"{name.title()}Function", 60, time.monotonic)
    if name == "claim":
        return scheduler_event(), context
    if name == "executor":
        sweep(Services.from_settings(settings, dynamodb=dynamodb, sqs=sqs, s3=s3), utcnow())
        messages = sqs.receive_message(
            QueueUrl=settings.run_queue_url, MaxNumberOfMessages=10, MessageSystemAttributeNames=["All"]
        )["Messages"]
        return sqs_event(messages, resources.queue_arns[RUN_QUEUE], "us-east-1"), context
    event = json.loads((ROOT / "events" / "apigw-list-schedules.json").read_text(encoding="utf-8"))
    return event, context


def _child_main(argv: list[str]) -> int:
    if len(argv) < 2 or argv[0] != "invoke":
        print("usage: python -m bench.cold_start invoke NAME [--quick]", file=sys.stderr)
        return 2
    print(json.dumps(_invoke(argv[1], "--quick" in argv)))
    return 0


if __name__ == "__main__":
    sys.exit(_child_main(sys.argv[1:]))
