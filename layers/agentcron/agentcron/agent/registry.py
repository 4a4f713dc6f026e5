"""Model strings to providers: ``"provider:model-id"`` (``"echo"`` alone means the echo provider).

Only the first ``:`` separates the provider, so model ids that contain colons survive
(``"bedrock:amazon.nova-lite-v1:0"`` -> provider ``bedrock``, model id ``amazon.nova-lite-v1:0``).
:class:`Providers` maps names to factories for one deployment's settings; a factory may cache clients across
warm invocations.

Built in: ``echo`` (offline), ``bedrock`` (:mod:`agentcron.agent.bedrock`) and ``openai``
(:mod:`agentcron.agent.openai`). The hosted ones are imported on first use (cheap cold starts) and take the
per-call timeout and their endpoint from the injected :class:`agentcron.config.Settings`.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from agentcron.agent.base import ProviderError
from agentcron.agent.echo import EchoProvider

if TYPE_CHECKING:
    from agentcron.agent.base import Provider
    from agentcron.config import Settings

ProviderFactory = Callable[[], "Provider"]
BUILTIN_PROVIDERS = ("bedrock", "echo", "openai")
# What a schedule may name, checked when it is saved and declared in the OpenAPI document: "echo", or a
# built-in provider, ":" and a printable ASCII model id (a plain character class, so Python and JSON Schema
# regexes read it alike).
MODEL_PATTERN = rf"^(echo|({'|'.join(BUILTIN_PROVIDERS)}):[A-Za-z0-9._-][ -~]*)$"
_NEED_MODEL_ID = frozenset({"bedrock", "openai"})


@functools.lru_cache(maxsize=4)
def _bedrock_client(timeout_seconds: float) -> Any:
    from agentcron.agent.bedrock import bedrock_client

    return bedrock_client(timeout_seconds)


def model_problem(model: str) -> str | None:
    """Why ``model`` cannot name a built-in provider's model (None: it can); checked when a schedule is saved,
    so a typo is a 400 at once rather than a failed run later."""
    if re.match(MODEL_PATTERN, model):
        return None
    try:
        name, _ = parse_model(model)
    except ProviderError as exc:
        return str(exc).replace("model must", "run_config.model must", 1)
    if name not in BUILTIN_PROVIDERS:
        return (
            f"run_config.model must name a known provider ({', '.join(BUILTIN_PROVIDERS)}), "
            f"got {name!r} in {model.strip()!r}"
        )
    if name in _NEED_MODEL_ID and model.strip() == name:
        return f"run_config.model must name a model of {name}: write '{name}:<model-id>'"
    return f"run_config.model must be 'echo' or '<provider>:<model-id>' (printable ASCII), got {model!r}"


def parse_model(model: str) -> tuple[str, str]:
    """``(provider, model_id)`` of a model string; a bare name is its own provider and model id."""
    model = model.strip()
    provider, sep, model_id = model.partition(":")
    provider, model_id = provider.strip(), model_id.strip()
    if not provider or (sep and not model_id):
        raise ProviderError(f"model must look like 'provider:model-id', got {model!r}")
    return provider, (model_id if sep else provider)


class Providers:
    """The model providers of one deployment, configured from its :class:`~agentcron.config.Settings`.

    ``extra`` adds or replaces providers by name (tests, other deployments); nothing is global.
    """

    def __init__(self, settings: Settings, extra: dict[str, ProviderFactory] | None = None) -> None:
        self.settings = settings
        self._factories: dict[str, ProviderFactory] = {
            "echo": EchoProvider,
            "bedrock": self._bedrock,
            "openai": self._openai,
            **(extra or {}),
        }

    def names(self) -> list[str]:
        return sorted(self._factories)

    def resolve(self, model: str) -> tuple[Provider, str]:
        """The provider of ``model`` and the model id to send it; ProviderError for an unknown provider."""
        name, model_id = parse_model(model)
        factory = self._factories.get(name)
        if factory is None:
            raise ProviderError(
                f"unknown model provider {name!r} in model {model.strip()!r}; "
                f"known providers: {', '.join(self.names())}"
            )
        if name in _NEED_MODEL_ID and model.strip() == name:
            raise ProviderError(f"model {model.strip()!r} names no model: write '{name}:<model-id>'")
        return factory(), model_id

    __call__ = resolve

    def _bedrock(self) -> Provider:
        from agentcron.agent.bedrock import BedrockProvider

        timeout = float(self.settings.model_timeout_seconds)
        return BedrockProvider(_bedrock_client(timeout), timeout_seconds=timeout)

    def _openai(self) -> Provider:
        from agentcron.agent.openai import OpenAIConfig, openai_provider

        config = OpenAIConfig.from_settings(self.settings)
        return openai_provider(config, timeout_seconds=float(self.settings.model_timeout_seconds))
