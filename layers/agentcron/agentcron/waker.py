"""Wakes the claim function for a fire due soon: one asynchronous Lambda invocation.

The claim clock's invocations start once a minute; a schedule created or edited with a fire before the
next one is sure to be awake needs an invocation now (``agentcron.application.claim.wake_for`` decides
when). ``InvocationType="Event"`` returns as soon as Lambda has queued the event, so the API request that
caused the wake does not wait for the claim.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from agentcron.domain.values import iso

WAKE_SOURCE = "agentcron.wake"


def wake_event(due: datetime) -> dict[str, str]:
    """The event a woken claim invocation receives (its content is informative: any event starts the loop)."""
    return {"source": WAKE_SOURCE, "action": "sweep", "due_at": iso(due)}


class ClaimWaker:
    """``wake(due)``; the Lambda client is made on the first wake (most API containers never wake)."""

    def __init__(self, function_name: str, client: Any = None) -> None:
        self.function_name, self.client = function_name, client

    def __call__(self, due: datetime) -> None:
        if self.client is None:
            import boto3

            self.client = boto3.client("lambda")
        self.client.invoke(
            FunctionName=self.function_name,
            InvocationType="Event",
            Payload=json.dumps(wake_event(due)).encode(),
        )
