"""The management HTTP API (API Gateway HTTP API, payload 2.0): schedules, runs, run-now, backfill, sessions.

``ApiHandler(services, idempotency_store=...)`` (or ``ApiHandler.from_settings(settings)``) is the Lambda
handler; ``create_app`` the bare resolver. The routes call the use cases of :mod:`agentcron.application`.
"""

from agentcron.api.app import ApiHandler, create_app

__all__ = ["ApiHandler", "create_app"]
