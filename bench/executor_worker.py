"""An executor worker process of the local stack (``agentcron.local.workers``) with a call meter.

Counts every AWS call the executor handler and its loop make in this process and, when the process stops,
writes them as JSON to ``$AGENTCRON_BENCH_CALLS.<pid>.json`` for the benchmark to add up.
"""

from __future__ import annotations

import json
import os
import sys


def main() -> int:
    import boto3

    from agentcron.local import workers
    from bench.meter import ApiMeter

    meter = ApiMeter()
    boto3.setup_default_session()
    meter.attach(boto3.DEFAULT_SESSION.events)
    code = workers.main(sys.argv[1:])
    target = os.environ.get("AGENTCRON_BENCH_CALLS")
    if target:
        total = meter.total()
        with open(f"{target}.{os.getpid()}.json", "w", encoding="utf-8") as f:
            json.dump({"calls": dict(total.calls), "errors": dict(total.errors)}, f)
    return code


if __name__ == "__main__":
    sys.exit(main())
