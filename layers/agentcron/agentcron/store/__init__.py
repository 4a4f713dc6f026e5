"""The DynamoDB store: schedules, runs, the due-index query, the atomic claim and the run transitions.

Every state change is a conditional write or a transaction, so concurrent claimers, duplicate messages and
retries can never record a slot twice or change a terminal run. AWS errors become the domain errors of
``agentcron.exceptions``. ``client`` is a boto3 DynamoDB low-level client (thread-safe: one store may serve
the parallel shard sweeps). The item layout is documented in :mod:`agentcron.store.codec`.
"""

from __future__ import annotations

from agentcron.store.claims import ClaimsMixin
from agentcron.store.codec import shard_of
from agentcron.store.history import HistoryMixin
from agentcron.store.runs import RunsMixin
from agentcron.store.jobs import JobsMixin
from agentcron.store.schedules import SchedulesMixin


class Store(SchedulesMixin, ClaimsMixin, RunsMixin, JobsMixin, HistoryMixin):
    """Schedules (insert/get/save/delete/list), claims (due query, one claim's transaction) and runs (reads and
    transitions). Persistence only: what to write is decided by the domain and the use cases."""


__all__ = ["Store", "shard_of"]
