"""Provider settings: stack config first, then the environment; budgets validated."""

from __future__ import annotations

import pytest

from stackfox_provider import settings
from stackfox_provider.clients.ratelimit import RateLimits


class Config(dict[str, str]):
    def get(self, key: str, default: object = None) -> object:  # type: ignore[override]
        return super().get(key, default)


@pytest.fixture(autouse=True)
def no_stack_config() -> None:
    settings.load_stack_config(Config())


def test_stack_config_wins_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INCIDENTFOX_URL", "https://env.example/api/v1")
    assert settings.setting("incidentfoxUrl") == "https://env.example/api/v1"

    settings.load_stack_config(Config({"stackfox:incidentfoxUrl": "https://config.example/api/v1"}))

    assert settings.setting("incidentfoxUrl") == "https://config.example/api/v1"


def test_a_missing_setting_names_the_config_key_and_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("INCIDENTFOX_TOKEN", raising=False)

    with pytest.raises(
        settings.SettingsError, match=r"config set --secret stackfox:incidentfoxToken.*INCIDENTFOX_TOKEN"
    ):
        settings.require("incidentfoxToken", "IncidentFox Webhook")


def test_rate_budgets_default_to_the_documented_limits_and_can_be_raised(monkeypatch: pytest.MonkeyPatch) -> None:
    assert settings.rate_limits("stackflow") == RateLimits(100, 20)

    monkeypatch.setenv("STACKFLOW_WRITES_PER_MINUTE", "60")

    assert settings.rate_limits("stackflow") == RateLimits(100, 60)
    assert settings.rate_limits("incidentfox") == RateLimits(100, 20)


@pytest.mark.parametrize("value", ["0", "fast", "-5"])
def test_a_bad_budget_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("INCIDENTFOX_READS_PER_MINUTE", value)

    with pytest.raises(settings.SettingsError, match=r"stackfox:incidentfoxReadsPerMinute.*whole number"):
        settings.rate_limits("incidentfox")


def test_the_credentials_check_is_on_unless_skipped(monkeypatch: pytest.MonkeyPatch) -> None:
    assert settings.check_credentials()
    monkeypatch.setenv("STACKFOX_SKIP_CREDENTIALS_CHECK", "true")
    assert not settings.check_credentials()
    settings.load_stack_config(Config({"stackfox:skipCredentialsCheck": "false"}))
    assert settings.check_credentials(), "stack config wins"
    settings.load_stack_config(Config({"stackfox:skipCredentialsCheck": "sometimes"}))
    with pytest.raises(settings.SettingsError, match="must be true or false"):
        settings.check_credentials()
