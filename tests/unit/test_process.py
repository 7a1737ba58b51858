"""Process-wide state lives in registries that one reset() forgets."""

from __future__ import annotations

from stackfox_provider import process, settings
from stackfox_provider.clients.incidentfox import incidentfox_client_for
from stackfox_provider.clients.ratelimit import RateLimits, budget_for
from stackfox_provider.resources._claims import claims


def test_a_registry_makes_each_value_once_and_remakes_what_it_may_not_keep() -> None:
    closed: list[str] = []
    made = process.registry("test values", close=closed.append)

    first = made.get("a", lambda: "one")
    assert made.get("a", lambda: "two") == first == "one"
    assert made.get("a", lambda: "three", keep=lambda value: value != "one") == "three"

    process.reset()
    assert made.find("a") is None and closed == ["three"]


def test_reset_forgets_clients_budgets_stack_config_and_claims() -> None:
    client = incidentfox_client_for("https://fox.test/api/v1", "tok.secret")
    budget = budget_for("IncidentFox", "tok.secret", RateLimits())
    settings.load_stack_config({"stackfox:incidentfoxUrl": "https://fox.test/api/v1"})
    claims.claim("Webhook 'a'", ["thing"])

    process.reset()

    assert incidentfox_client_for("https://fox.test/api/v1", "tok.secret") is not client
    assert budget_for("IncidentFox", "tok.secret", RateLimits()) is not budget
    assert settings.setting("incidentfoxUrl") is None
    assert claims.owner("thing") is None
