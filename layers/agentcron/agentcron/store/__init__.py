"""The DynamoDB store: schedules, runs, the due-index query, the atomic claim and the run transitions.

Every state change is a conditional write or a transaction, so concurrent claimers, duplicate messages and
retries can never record a slot twice or change a terminal run. AWS errors become the domain errors of
``agentcron.exceptions``. ``client`` is a boto3 DynamoDB low-level client (thread-safe: one store may serve
the parallel shard sweeps). The item layout is documented in :mod:`agentcron.store.codec`.
"""

from __future__ import annotations

from agentcron.store.codec import shard_of
from agentcron.store.runs import RunsMixin
from agentcron.store.schedules import SchedulesMixin, never_fires_reason


class Store(SchedulesMixin, RunsMixin):
    """Schedules (create/get/update/delete/list, due query, claim) and runs (reads and transitions)."""


__all__ = ["Store", "never_fires_reason", "shard_of"]
