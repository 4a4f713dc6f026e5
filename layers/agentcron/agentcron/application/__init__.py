"""The application layer: the use cases every entry point goes through (API, executor, claim, scheduler tool).

Each module holds one family of use cases and states each rule once; they reach AWS and model providers only
through the ports of :mod:`agentcron.application.ports`, wired together in :class:`Services`.
"""

from agentcron.application.services import Services

__all__ = ["Services"]
