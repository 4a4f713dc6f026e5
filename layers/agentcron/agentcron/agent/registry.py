"""Model strings to providers: ``"provider:model-id"`` (``"echo"`` alone means the echo provider).

Only the first ``:`` separates the provider, so model ids that contain colons survive
(``"bedrock:amazon.nova-lite-v1:0"`` -> provider ``bedrock``, model id ``amazon.nova-lite-v1:0``).
Providers register a factory under their name; a factory may cache clients across warm invocations.

Built in: ``echo`` (offline), ``bedrock`` (:mod:`agentcron.agent.bedrock`) and ``openai``
(:mod:`agentcron.agent.openai`). The hosted ones are imported on first use (cheap cold starts) and take the
per-call timeout from ``MODEL_TIMEOUT_SECONDS`` (:class:`agentcron.config.Settings`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from agentcron.agent.base import ProviderError
from agentcron.agent.echo import EchoProvider

if TYPE_CHECKING:
    from agentcron.agent.base import Provider

ProviderFactory = Callable[[], "Provider"]


def _timeout_seconds() -> float:
    from agentcron.config import Settings

    return float(Settings.from_env().model_timeout_seconds)


@functools.lru_cache(maxsize=4)
def _bedrock_client(timeout_seconds: float) -> Any:
    from agentcron.agent.bedrock import bedrock_client

    return bedrock_client(timeout_seconds)


def bedrock_factory() -> Provider:
    from agentcron.agent.bedrock import BedrockProvider

    timeout = _timeout_seconds()
    return BedrockProvider(_bedrock_client(timeout), timeout_seconds=timeout)


def openai_factory() -> Provider:
    from agentcron.agent.openai import OpenAIConfig, openai_provider

    return openai_provider(OpenAIConfig.from_env(), timeout_seconds=_timeout_seconds())


_NEED_MODEL_ID = frozenset({"bedrock", "openai"})
_FACTORIES: dict[str, ProviderFactory] = {
    "echo": EchoProvider,
    "bedrock": bedrock_factory,
    "openai": openai_factory,
}


def register_provider(name: str, factory: ProviderFactory) -> None:
    """Make ``name:<model-id>`` resolve to ``factory()``; re-registering a name replaces it."""
    _FACTORIES[name] = factory


def known_providers() -> list[str]:
    return sorted(_FACTORIES)


def parse_model(model: str) -> tuple[str, str]:
    """``(provider, model_id)`` of a model string; a bare name is its own provider and model id."""
    model = model.strip()
    provider, sep, model_id = model.partition(":")
    provider, model_id = provider.strip(), model_id.strip()
    if not provider or (sep and not model_id):
        raise ProviderError(f"model must look like 'provider:model-id', got {model!r}")
    return provider, (model_id if sep else provider)


def provider_for(model: str) -> tuple[Provider, str]:
    """The provider of ``model`` and the model id to send it; ProviderError for an unknown provider."""
    name, model_id = parse_model(model)
    factory = _FACTORIES.get(name)
    if factory is None:
        raise ProviderError(
            f"unknown model provider {name!r} in model {model.strip()!r}; "
            f"known providers: {', '.join(known_providers())}"
        )
    if name in _NEED_MODEL_ID and model.strip() == name:
        raise ProviderError(f"model {model.strip()!r} names no model: write '{name}:<model-id>'")
    return factory(), model_id
