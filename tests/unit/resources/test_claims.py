"""Claims: one owner per config path or category within a run."""

from __future__ import annotations

from stackfox_provider.resources._claims import Claims


def test_a_thing_claimed_by_another_owner_is_reported_and_stays_theirs() -> None:
    claims = Claims()

    assert claims.claim("Webhook 'a'", ["alert", "deploy"]) == {}
    assert claims.claim("Webhook 'b'", ["deploy", "page"]) == {"deploy": "Webhook 'a'"}
    assert claims.owner("deploy") == "Webhook 'a'"
    assert claims.owner("page") == "Webhook 'b'"


def test_claiming_again_replaces_the_owners_earlier_claims() -> None:
    claims = Claims()
    claims.claim("Webhook 'a'", ["alert", "deploy"])
    claims.claim("Webhook 'b'", ["deploy"])

    assert claims.claim("Webhook 'a'", ["alert", "alert"]) == {}
    assert claims.owner("deploy") is None, "released by a, never taken by b"
    assert claims.claim("Webhook 'b'", ["deploy"]) == {}
    assert claims.owner("deploy") == "Webhook 'b'"
    assert claims.owner("alert") == "Webhook 'a'"


def test_clear_forgets_every_claim() -> None:
    claims = Claims()
    claims.claim("Webhook 'a'", ["alert"])
    claims.clear()

    assert claims.owner("alert") is None
    assert claims.claim("Webhook 'b'", ["alert"]) == {}
