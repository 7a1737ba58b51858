"""Provider settings: stack config first, then the environment; budgets validated."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from stackfox_provider import settings
from stackfox_provider.clients.ratelimit import RateLimits
from stackfox_provider.clients.stackflow.auth import (
    ClientCredentialsAuth,
    CognitoAdminUserPasswordAuth,
    CognitoUserPasswordAuth,
    StackFlowSettingsError,
    StaticToken,
)
from stackfox_provider.settings import StackFlowAuthSettings

PASSWORD = "Correct-horse-1!"
CLIENT_SECRET = "cc-secret-value-0123456789"
REGION = "eu-west-1"
DOCS = Path(__file__).resolve().parents[2] / "docs" / "stackflow-auth.md"


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


FULL_USER_CONFIG = {
    "stackfox:stackflowUrl": "http://localhost:8080/prod/api",
    "stackfox:stackflowUsername": "alice",
    "stackfox:stackflowPassword": PASSWORD,
    "stackfox:stackflowClientId": "client-1",
    "stackfox:stackflowUserPoolId": "us-east-1_abc",
}


def test_config_wins_over_the_environment_and_blank_config_falls_back() -> None:
    resolved = StackFlowAuthSettings.from_sources(
        {**FULL_USER_CONFIG, "stackfox:stackflowRegion": "", "stackfox:cognitoEndpoint": None},
        {
            "STACKFLOW_USERNAME": "ignored",
            "AWS_REGION": "eu-central-1",
            "COGNITO_ENDPOINT": "http://127.0.0.1:5000",
            "STACKFLOW_AUTH_FLOW": "ADMIN_USER_PASSWORD_AUTH",
        },
    )

    assert resolved.username == "alice"
    assert resolved.region == "eu-central-1"
    assert resolved.cognito_endpoint == "http://127.0.0.1:5000"
    assert resolved.require_url() == "http://localhost:8080/prod/api"
    assert resolved.auth_flow == "admin_user_password"
    assert StackFlowAuthSettings.from_sources({}, {"STACKFLOW_REGION": "a", "AWS_REGION": "b"}).region == "a"


def test_settings_select_the_mode() -> None:
    def credential(config: dict[str, str], environ: dict[str, str] | None = None) -> Any:
        return StackFlowAuthSettings.from_sources(config, environ or {}).credential()

    assert isinstance(credential({**FULL_USER_CONFIG, "stackfox:stackflowToken": "tok"}), StaticToken)
    user = credential(FULL_USER_CONFIG)
    assert type(user) is CognitoUserPasswordAuth and user.region == "us-east-1"
    admin = credential(FULL_USER_CONFIG, {"STACKFLOW_AUTH_FLOW": "admin_user_password"})
    assert isinstance(admin, CognitoAdminUserPasswordAuth) and admin.user_pool_id == "us-east-1_abc"
    m2m = {
        "stackfox:stackflowClientId": "m2m",
        "stackfox:stackflowClientSecret": CLIENT_SECRET,
        "stackfox:stackflowTokenUrl": "https://d.auth.eu-west-1.amazoncognito.com/oauth2/token",
        "stackfox:stackflowScope": "stackflow/read",
    }
    machine = credential(m2m)
    assert isinstance(machine, ClientCredentialsAuth) and machine.scope == "stackflow/read"
    # A username turns client id + secret into a user login whose secret is only for SECRET_HASH.
    assert type(credential({**m2m, **FULL_USER_CONFIG})) is CognitoUserPasswordAuth


def test_incomplete_settings_list_what_each_mode_is_missing() -> None:
    resolved = StackFlowAuthSettings.from_sources({"stackfox:stackflowUsername": "alice"}, {})

    with pytest.raises(StackFlowSettingsError) as caught:
        resolved.credential()

    assert str(caught.value).splitlines() == [
        "StackFlow authentication is not configured completely; set one of:",
        "  - a static token: missing stackfox:stackflowToken / STACKFLOW_TOKEN",
        "  - a Cognito user login (USER_PASSWORD_AUTH): missing stackfox:stackflowPassword / STACKFLOW_PASSWORD, "
        "stackfox:stackflowClientId / STACKFLOW_CLIENT_ID, stackfox:stackflowRegion / STACKFLOW_REGION or AWS_REGION",
        "  - client credentials (with no username set): missing stackfox:stackflowClientId / STACKFLOW_CLIENT_ID, "
        "stackfox:stackflowClientSecret / STACKFLOW_CLIENT_SECRET, stackfox:stackflowTokenUrl / STACKFLOW_TOKEN_URL",
    ]


def test_a_missing_url_names_its_setting() -> None:
    with pytest.raises(StackFlowSettingsError, match=r"set stackfox:stackflowUrl / STACKFLOW_URL$"):
        StackFlowAuthSettings.from_sources({}, {}).require_url()


def test_the_admin_flow_requires_the_pool_id() -> None:
    config = {key: value for key, value in FULL_USER_CONFIG.items() if key != "stackfox:stackflowUserPoolId"}
    resolved = StackFlowAuthSettings.from_sources(
        {**config, "stackfox:stackflowAuthFlow": "admin_user_password", "stackfox:stackflowRegion": "eu-west-1"}, {}
    )

    with pytest.raises(
        StackFlowSettingsError, match=r"ADMIN_USER_PASSWORD_AUTH\): missing stackfox:stackflowUserPoolId"
    ):
        _ = resolved.mode


def test_an_unknown_auth_flow_is_rejected_by_name() -> None:
    with pytest.raises(ValueError, match=r"stackfox:stackflowAuthFlow / STACKFLOW_AUTH_FLOW must be user_password"):
        StackFlowAuthSettings.from_sources({"stackfox:stackflowAuthFlow": "srp"}, {})


def test_no_secret_shows_in_reprs_or_messages() -> None:
    secrets = [PASSWORD, CLIENT_SECRET, "static-token-value"]
    resolved = StackFlowAuthSettings.from_sources(
        {**FULL_USER_CONFIG, "stackfox:stackflowClientSecret": CLIENT_SECRET, "stackfox:stackflowToken": secrets[2]},
        {},
    )
    shown = [
        repr(resolved),
        str(resolved),
        repr(StaticToken(secrets[2])),
        repr(
            CognitoUserPasswordAuth(
                region=REGION, client_id="c", username="u", password=PASSWORD, client_secret=CLIENT_SECRET
            )
        ),
        repr(ClientCredentialsAuth(token_url="https://t.example/token", client_id="m2m", client_secret=CLIENT_SECRET)),
    ]
    for text in shown:
        for secret in secrets:
            assert secret not in text
    assert "password='***'" in shown[3] and "client_secret='***'" in shown[3]


def test_the_docs_table_lists_every_stackflow_setting() -> None:
    table = DOCS.read_text()
    for spec in settings.SETTINGS:
        if spec.stackflow_auth:
            assert f"`{spec.config_key}`" in table
            for name in spec.env_vars:
                assert f"`{name}`" in table


def test_stackfox_names_every_stackflow_setting_and_the_model_reads_each() -> None:
    assert set(settings.STACKFLOW_NAMES.names) == set(StackFlowAuthSettings.model_fields)
    assert settings.STACKFLOW_NAMES("password") == "stackfox:stackflowPassword / STACKFLOW_PASSWORD"
