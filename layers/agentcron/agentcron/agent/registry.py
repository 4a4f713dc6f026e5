"""Model strings to providers: ``"provider:model-id"`` (``"echo"`` alone means the echo provider).

Only the first ``:`` separates the provider, so model ids that contain colons survive
(``"bedrock:amazon.nova-lite-v1:0"`` -> provider ``bedrock``, model id ``amazon.nova-lite-v1:0``).
Providers register a factory under their name; a factory may cache clients across warm invocations.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from agentcron.agent.base import ProviderError
from agentcron.agent.echo import EchoProvider

if TYPE_CHECKING:
    from agentcron.agent.base import Provider

ProviderFactory = Callable[[], "Provider"]

_FACTORIES: dict[str, ProviderFactory] = {"echo": EchoProvider}


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
    return factory(), model_id
