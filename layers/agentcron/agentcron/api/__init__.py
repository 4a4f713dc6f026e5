"""The management HTTP API (API Gateway HTTP API, payload 2.0): schedules, runs, run-now, backfill, sessions.

``ApiHandler(Services.from_settings(settings))`` is the Lambda handler; ``create_app`` the bare resolver.
"""

from agentcron.api.app import ApiHandler, create_app
from agentcron.api.services import Services

__all__ = ["ApiHandler", "Services", "create_app"]
