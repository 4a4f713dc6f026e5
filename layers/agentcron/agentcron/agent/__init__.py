"""The agent runtime: providers behind one interface, the model-string registry, the tools, and the loop.

- providers: ``echo`` (offline), ``bedrock`` (:mod:`.bedrock`), ``openai`` (:mod:`.openai`), resolved from
  ``provider:model-id`` strings by :mod:`.registry`, with retries and backoff from :mod:`.retry`;
- tools: :mod:`.tools` (``current_time``, ``http_fetch``, ``scheduler``), selected by ``run_config.tools``;
- the loop: :mod:`.loop` (rounds, limits, cancellation, checkpoints, hand-off and resume);
- one run's execution against the store, the session store and the queue: :mod:`.runtime`.
"""

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
