"""The agent: providers behind one interface, the model-string registry, and the loop that runs a session."""

from __future__ import annotations

from agentcron.agent.base import ModelRequest, ModelResponse, Provider, ProviderError, ToolRunner, ToolSpec
from agentcron.agent.echo import EchoProvider
from agentcron.agent.loop import AgentResult, run_agent
from agentcron.agent.registry import provider_for, register_provider

__all__ = [
    "AgentResult",
    "EchoProvider",
    "ModelRequest",
    "ModelResponse",
    "Provider",
    "ProviderError",
    "ToolRunner",
    "ToolSpec",
    "provider_for",
    "register_provider",
    "run_agent",
]
