"""Model strings -> providers."""

from __future__ import annotations

import pytest

from agentcron.agent import EchoProvider, ProviderError, Providers
from agentcron.config import Settings

provider_for = Providers(Settings()).resolve


@pytest.mark.parametrize(
    ("model", "model_id"),
    [("echo", "echo"), ("echo:small", "small"), (" echo:a:b:0 ", "a:b:0")],
)
def test_echo_model_strings(model: str, model_id: str) -> None:
    provider, resolved_id = provider_for(model)
    assert isinstance(provider, EchoProvider)
    assert resolved_id == model_id


def test_unknown_provider_names_the_model_and_the_known_providers() -> None:
    with pytest.raises(ProviderError) as info:
        provider_for("nosuch:model-1")
    message = str(info.value)
    assert "'nosuch'" in message
    assert "'nosuch:model-1'" in message
    assert "known providers: bedrock, echo, openai" in message
    assert info.value.retryable is False


@pytest.mark.parametrize("model", ["", "   ", ":model", "echo:"])
def test_malformed_model_strings(model: str) -> None:
    with pytest.raises(ProviderError, match="provider:model-id"):
        provider_for(model)


def test_extra_providers_resolve_for_their_deployment_only() -> None:
    class Fake:
        name = "fake"

    providers = Providers(Settings(), extra={"fake": Fake})
    provider, model_id = providers.resolve("fake:m-1")
    assert isinstance(provider, Fake)
    assert model_id == "m-1"
    assert "fake" in providers.names()
    with pytest.raises(ProviderError, match="unknown model provider 'fake'"):
        provider_for("fake:m-1")  # nothing global was changed


@pytest.mark.parametrize("model", ["bedrock", "openai", " bedrock "])
def test_hosted_providers_need_a_model_id(model: str) -> None:
    with pytest.raises(ProviderError, match=r"names no model: write '(bedrock|openai):<model-id>'"):
        provider_for(model)


def test_bedrock_models_get_a_client_with_the_configured_timeout_and_no_sdk_retries(
    aws_env, monkeypatch: pytest.MonkeyPatch
) -> None:
    from agentcron.agent.bedrock import BedrockProvider

    provider_for = Providers(Settings(model_timeout_seconds=45)).resolve
    provider, model_id = provider_for("bedrock:amazon.nova-lite-v1:0")
    assert isinstance(provider, BedrockProvider)
    assert model_id == "amazon.nova-lite-v1:0"
    assert provider.timeout_seconds == 45
    config = provider.client.meta.config
    assert config.read_timeout == 45
    assert config.retries["total_max_attempts"] == 1
    again, _ = provider_for("bedrock:amazon.nova-pro-v1:0")
    assert again.client is provider.client  # reused across runs of a warm container


def test_openai_models_read_the_endpoint_from_the_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    from agentcron.agent.openai import OpenAIProvider

    settings = Settings.from_env({"OPENAI_BASE_URL": "http://127.0.0.1:9/v1/", "MODEL_TIMEOUT_SECONDS": "7"})
    provider, model_id = Providers(settings).resolve("openai:gpt-4.1-mini")
    assert isinstance(provider, OpenAIProvider)
    assert (provider.url, provider.timeout_seconds, model_id) == (
        "http://127.0.0.1:9/v1/chat/completions",
        7,
        "gpt-4.1-mini",
    )
