"""Model strings -> providers."""

from __future__ import annotations

import pytest

from agentcron.agent import EchoProvider, ProviderError, provider_for, register_provider
from agentcron.agent import registry


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
    assert "known providers: echo" in message
    assert info.value.retryable is False


@pytest.mark.parametrize("model", ["", "   ", ":model", "echo:"])
def test_malformed_model_strings(model: str) -> None:
    with pytest.raises(ProviderError, match="provider:model-id"):
        provider_for(model)


def test_registered_providers_resolve(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(registry, "_FACTORIES", dict(registry._FACTORIES))

    class Fake:
        name = "fake"

    register_provider("fake", Fake)
    provider, model_id = provider_for("fake:m-1")
    assert isinstance(provider, Fake)
    assert model_id == "m-1"
    assert "fake" in registry.known_providers()
