"""``make bench``: measured figures of agentcron on moto (claim cost, cold start, throughput, APScheduler 3
side by side, cost model). Run with ``python -m bench``; see bench/README.md."""
