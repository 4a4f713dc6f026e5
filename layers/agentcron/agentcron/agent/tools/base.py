"""What a tool is (a name, a description, pydantic arguments, a run method) and the box a run's tools live in.

A tool's JSON schema is its pydantic arguments model's schema, so what the model is told and what is checked
are the same thing. Arguments that do not validate never reach the tool: the model gets the field errors and
may try again.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import BaseModel, ValidationError

from agentcron.agent.base import UNPARSED_ARGUMENTS, ToolSpec
from agentcron.models import field_errors

if TYPE_CHECKING:
    from agentcron.models import ToolCall


def schema_of(model: type[BaseModel]) -> dict[str, Any]:
    """The JSON schema of an arguments model, without pydantic's titles (noise for the model)."""

    def strip(node: Any) -> Any:
        if isinstance(node, dict):
            return {k: strip(v) for k, v in node.items() if not (k == "title" and isinstance(v, str))}
        if isinstance(node, list):
            return [strip(v) for v in node]
        return node

    return strip(model.model_json_schema())


class Tool(ABC):
    """One tool. Subclasses set ``name``, ``description``, ``Arguments`` and implement :meth:`run`."""

    name: ClassVar[str]
    description: ClassVar[str]
    Arguments: ClassVar[type[BaseModel]]

    def spec(self) -> ToolSpec:
        return ToolSpec(name=self.name, description=self.description, input_schema=schema_of(self.Arguments))

    @abstractmethod
    def run(self, arguments: Any, call: ToolCall) -> str:
        """The text the model sees. Expected failures are returned as ``error: ...`` text, not raised."""


def as_text(value: Any) -> str:
    """Tool output as compact JSON (what the model reads best)."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)


class ToolBox:
    """The tools one run may use; a :class:`~agentcron.agent.base.ToolRunner`."""

    def __init__(self, tools: list[Tool]) -> None:
        self._tools = {tool.name: tool for tool in tools}

    @property
    def names(self) -> list[str]:
        return list(self._tools)

    def specs(self) -> list[ToolSpec]:
        return [tool.spec() for tool in self._tools.values()]

    def run(self, call: ToolCall) -> str:
        tool = self._tools.get(call.name)
        if tool is None:
            return f"error: tool {call.name!r} is not available in this run"
        if UNPARSED_ARGUMENTS in call.arguments:
            return f"error: the arguments are not a JSON object: {call.arguments[UNPARSED_ARGUMENTS][:200]}"
        try:
            arguments = tool.Arguments.model_validate(call.arguments)
        except ValidationError as exc:
            problems = "; ".join(error.message for error in field_errors(exc))
            return f"error: invalid arguments for {call.name}: {problems}"
        return tool.run(arguments, call)
