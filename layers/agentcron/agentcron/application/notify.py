"""Whether and what to notify when a run ends: the schedule's ``notify`` asks for the run's status.

Called by :func:`agentcron.application.runs.finish_run` after the end is recorded (so only the call that
recorded it notifies, once per run end), for every caller alike (executor, claim's reaper and outbox,
cancel). Delivery is the ``notifier`` adapter's (:mod:`agentcron.notify`); a failed delivery is logged and
never undoes or fails the run. Without a notifier (a deployment that configured no targets) nothing is read.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from agentcron.domain.notify import run_finished_body

if TYPE_CHECKING:
    from agentcron.application.services import Services
    from agentcron.models import Run

logger = logging.getLogger(__name__)


def notify_run_finished(services: Services, run: Run) -> int:
    """Send ``run``'s end to the targets its schedule names for that status; how many took it."""
    if services.notifier is None:
        return 0
    schedule = services.store.get_schedule(run.schedule_id)
    if schedule is None or schedule.notify is None or not schedule.notify.wants(run.status):
        return 0
    body = run_finished_body(run, schedule.name)
    at = services.clock()
    delivered = 0
    for target in schedule.notify.targets:
        if services.notifier.send(target, body, delivery_id=run.run_id, at=at):
            delivered += 1
    return delivered
