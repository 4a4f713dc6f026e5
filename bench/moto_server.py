"""A moto server in a process of its own, for the throughput benchmark: ``python -m bench.moto_server``.

``make run`` embeds the moto server in the process that runs the handlers; the benchmark runs it beside
them instead, so the fake and the code under test do not share one interpreter lock (on two cores, about
1.5 times the runs per second of the embedded server in a 200-run burst). The server gets what the local
stack gives it (DynamoDB operations serialised, as the real service is atomic) plus the two fake-only
speed-ups of :mod:`bench.common`. It prints ``host:port`` on its first stdout line and stops when its stdin
closes (when the benchmark ends or dies).
"""

from __future__ import annotations

import logging
import sys


def main() -> int:
    from bench.common import fake_aws_env, fast_moto_sqs_clock, shallow_table_snapshots

    fake_aws_env()
    from agentcron.local.atomic import serialize_moto_dynamodb
    from moto.server import ThreadedMotoServer

    serialize_moto_dynamodb()
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    with shallow_table_snapshots(), fast_moto_sqs_clock():
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        server.start()
        host, port = server.get_host_and_port()
        print(f"{host}:{port}", flush=True)
        sys.stdin.read()  # until the parent closes our stdin
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
