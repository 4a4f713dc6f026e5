"""The one wiring of the Lambda handlers: settings from the environment, the AWS adapters, the use cases'
:class:`~agentcron.application.Services`, and what follows every run's end (its metrics, then its
Run Finished event). Built once per container and reused while it is warm.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

from agentcron import telemetry
from agentcron.application.services import Services
from agentcron.clock import utcnow
from agentcron.config import Settings

if TYPE_CHECKING:
    from agentcron.models import Run


def build_services(
    record: telemetry.Recorder,
    *,
    clock: Callable[[], datetime] = utcnow,
    on_finished: Callable[[Run], None] | None = None,
) -> Services:
    """Services on the resources the environment names; ``record`` takes the handler's metrics and
    ``on_finished`` (if any) sees each finished run first (e.g. to add it to the log keys). The handler
    calls ``services.end_invocation()`` before it returns: the Run Finished events go out then."""
    import boto3

    from agentcron.events import RunFinishedPublisher

    settings = Settings.from_env()
    services = Services.from_settings(settings, clock=clock)
    events = RunFinishedPublisher(
        boto3.client("events"),
        settings.event_bus_name,
        on_failure=lambda run: record(telemetry.EVENTS_FAILED, telemetry.COUNT, 1),
    )
    services.at_invocation_end.append(events.flush)
    count = telemetry.run_finished_hook(record, events.publish)

    def finished(run: Run) -> None:
        if on_finished is not None:
            on_finished(run)
        count(run)

    services.on_run_finished = finished
    if settings.notify_topic_arns.strip() or settings.notify_secret_path.strip():
        from agentcron.notify import Notifier

        services.notifier = Notifier(boto3.client("sns"), boto3.client("ssm"))
    if settings.claim_function_name:
        from agentcron.waker import ClaimWaker

        services.wake_claim = ClaimWaker(settings.claim_function_name)
    return services
