"""The built-in tools and how a run's ``run_config.tools`` selects them.

``run_config.tools``: None (absent) -> :data:`DEFAULT_TOOLS` (``current_time`` and ``http_fetch``);
``[]`` -> no tools; a list of names -> exactly those. ``scheduler`` changes schedules, so it is never on by
default: a schedule opts in by naming it. An unknown name is an error (the run fails and says which).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from agentcron.agent.tools.base import Tool, ToolBox, as_text, schema_of
from agentcron.agent.tools.clock import CurrentTime
from agentcron.agent.tools.http_fetch import Fetcher, HttpFetch
from agentcron.domain.access import DEFAULT_PROJECT
from agentcron.exceptions import AgentcronError
from agentcron.clock import utcnow

if TYPE_CHECKING:
    from agentcron.application.services import Services
    from agentcron.models import RunLimits

TOOL_NAMES = ("current_time", "http_fetch", "scheduler")
DEFAULT_TOOLS = ("current_time", "http_fetch")


class UnknownTool(AgentcronError):
    def __init__(self, names: list[str]) -> None:
        super().__init__(
            f"run_config.tools names unknown tool(s) {', '.join(repr(n) for n in names)}; "
            f"known tools: {', '.join(TOOL_NAMES)}"
        )
        self.names = names


@dataclass
class ToolContext:
    """What the built-in tools need from the run they serve: its ids, project and grants (what the
    ``scheduler`` tool may not exceed), and the deployment's use cases."""

    schedule_id: str
    run_id: str
    services: Services | None = None  # None: no ``scheduler`` tool (it needs the use cases)
    fetcher: Fetcher = field(default_factory=Fetcher)
    clock: Callable[[], datetime] | None = None  # default: the services' clock, else the wall clock
    project_id: str = DEFAULT_PROJECT
    run_model: str | None = None  # the model the run resolved to
    run_tools: list[str] | None = None  # the run's run_config.tools (None: the default tools)
    run_limits: RunLimits | None = None  # None: the defaults
    chain: list[str] = field(default_factory=list)  # schedules whose runs started this run (oldest first)

    def now(self) -> datetime:
        if self.clock is not None:
            return self.clock()
        return self.services.clock() if self.services is not None else utcnow()


def unknown_tools(names: list[str] | None) -> list[str]:
    """The names in ``names`` that are not built-in tools (for validating a run config)."""
    return [name for name in names or [] if name not in TOOL_NAMES]


def build_tools(names: list[str] | None, context: ToolContext) -> ToolBox:
    """The tool box for ``run_config.tools`` (see the module docstring); UnknownTool for unknown names."""
    selected = list(DEFAULT_TOOLS if names is None else dict.fromkeys(n.strip() for n in names))
    unknown = unknown_tools(selected)
    if unknown:
        raise UnknownTool(unknown)
    tools: list[Tool] = []
    for name in selected:
        if name == "current_time":
            tools.append(CurrentTime(context.now))
        elif name == "http_fetch":
            tools.append(HttpFetch(context.fetcher))
        elif name == "scheduler" and context.services is not None:
            # Imported here: it reaches the schedule use cases, which a run without it never needs.
            from agentcron.agent.tools.scheduler import Scheduler, SchedulerScope

            scope = SchedulerScope.for_run(context, context.services.settings, DEFAULT_TOOLS)
            tools.append(Scheduler(context.services, scope))
    return ToolBox(tools)


__all__ = [
    "DEFAULT_TOOLS",
    "TOOL_NAMES",
    "Tool",
    "ToolBox",
    "ToolContext",
    "UnknownTool",
    "as_text",
    "build_tools",
    "schema_of",
    "unknown_tools",
]


def __getattr__(name: str) -> Any:
    """``Scheduler`` and ``SchedulerScope``, importable from here as before, loaded on first use."""
    if name in ("Scheduler", "SchedulerScope"):
        from agentcron.agent.tools import scheduler

        return getattr(scheduler, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
