"""The agent runtime: providers behind one interface, the model-string registry, the tools, and the loop.

- providers: ``echo`` (offline), ``bedrock`` (:mod:`.bedrock`), ``openai`` (:mod:`.openai`), resolved from
  ``provider:model-id`` strings by :mod:`.registry`, with retries and backoff from :mod:`.retry`;
- tools: :mod:`.tools` (``current_time``, ``http_fetch``, ``scheduler``), selected by ``run_config.tools``;
- the loop: :mod:`.loop` (rounds, limits, cancellation, checkpoints, hand-off and resume).

One run's execution (session, agent, outcome) is the application's: :mod:`agentcron.application.execute`.
"""

from __future__ import annotations

from agentcron.agent.base import ModelRequest, ModelResponse, Provider, ProviderError, ToolRunner, ToolSpec
from agentcron.agent.echo import EchoProvider
from agentcron.agent.loop import AgentResult, run_agent
from agentcron.agent.registry import Providers

__all__ = [
    "AgentResult",
    "EchoProvider",
    "ModelRequest",
    "ModelResponse",
    "Provider",
    "ProviderError",
    "ToolRunner",
    "ToolSpec",
    "Providers",
    "run_agent",
]
