"""StackFlow token verification and the client-credentials flow."""

from __future__ import annotations

import base64
import time
from collections.abc import Callable

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from stackfox_sandbox.testing import SandboxHandle

Forge = Callable[..., str]


def _get(sandbox: SandboxHandle, token: str | None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    return httpx.get(f"{sandbox.info.stackflow_base_url}/categories", headers=headers, timeout=30)


def _assert_invalid(response: httpx.Response, reason: str) -> None:
    assert response.status_code == 401, response.text
    challenge = response.headers["www-authenticate"]
    assert challenge.startswith("Bearer ")
    assert 'error="invalid_token"' in challenge
    assert reason in challenge
    body = response.json()
    assert body["error"]["code"] == "invalid_token"
    assert body["error"]["request_id"] == response.headers["x-request-id"]


def test_real_cognito_id_token_is_accepted(sandbox: SandboxHandle) -> None:
    result = sandbox.login()
    claims = jwt.decode(result["IdToken"], options={"verify_signature": False})
    assert claims["iss"] == sandbox.info.issuer
    assert claims["aud"] == sandbox.info.app_client_id
    assert _get(sandbox, result["IdToken"]).status_code == 200
    log = sandbox.requests_log("stackflow")
    assert log[-1]["identity"] == f"user:{sandbox.info.username}"


def test_refresh_and_admin_password_flows_give_accepted_tokens(sandbox: SandboxHandle) -> None:
    cognito = sandbox.cognito()
    refreshed = cognito.initiate_auth(
        ClientId=sandbox.info.app_client_id,
        AuthFlow="REFRESH_TOKEN_AUTH",
        AuthParameters={"REFRESH_TOKEN": sandbox.login()["RefreshToken"]},
    )["AuthenticationResult"]
    assert _get(sandbox, refreshed["IdToken"]).status_code == 200
    admin = cognito.admin_initiate_auth(
        UserPoolId=sandbox.info.user_pool_id,
        ClientId=sandbox.info.app_client_id,
        AuthFlow="ADMIN_USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": sandbox.info.username, "PASSWORD": sandbox.info.password},
    )["AuthenticationResult"]
    assert _get(sandbox, admin["IdToken"]).status_code == 200


def test_missing_and_malformed_tokens(sandbox: SandboxHandle) -> None:
    missing = _get(sandbox, None)
    assert missing.status_code == 401
    assert missing.headers["www-authenticate"].startswith("Bearer")
    assert missing.json()["error"]["code"] == "unauthorized"
    _assert_invalid(_get(sandbox, "not-a-jwt"), "malformed")
    assert [entry["auth_error"] for entry in sandbox.requests_log()] == ["missing bearer token", "malformed token"]


def test_access_token_where_id_token_is_required(sandbox: SandboxHandle) -> None:
    _assert_invalid(_get(sandbox, sandbox.login()["AccessToken"]), "client-credentials")


def test_wrong_issuer_is_rejected_even_with_moto_key(sandbox: SandboxHandle, forge: Forge) -> None:
    other_pool = f"{sandbox.info.region}_{'0' * 32}"
    token = forge(sandbox.id_token(), iss=f"https://cognito-idp.{sandbox.info.region}.amazonaws.com/{other_pool}")
    _assert_invalid(_get(sandbox, token), "wrong issuer")


def test_wrong_audience(sandbox: SandboxHandle, forge: Forge) -> None:
    _assert_invalid(_get(sandbox, forge(sandbox.id_token(), aud="some-other-client")), "audience")


def test_expired_token_with_leeway(sandbox: SandboxHandle, forge: Forge) -> None:
    now = int(time.time())
    _assert_invalid(_get(sandbox, forge(sandbox.id_token(), iat=now - 4000, exp=now - 120)), "expired")
    # Within the 30 s leeway: still accepted.
    assert _get(sandbox, forge(sandbox.id_token(), iat=now - 3600, exp=now - 5)).status_code == 200


def test_missing_required_claim_and_bad_token_use(sandbox: SandboxHandle, forge: Forge) -> None:
    _assert_invalid(_get(sandbox, forge(sandbox.id_token(), drop=("sub",))), "sub")
    _assert_invalid(_get(sandbox, forge(sandbox.id_token(), token_use="refresh")), "token_use")


def test_bad_signature(sandbox: SandboxHandle, forge: Forge) -> None:
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    _assert_invalid(_get(sandbox, forge(sandbox.id_token(), key=stranger)), "signature")
    header, _payload, signature = sandbox.id_token().split(".")
    tampered_payload = base64.urlsafe_b64encode(b'{"sub":"x"}').rstrip(b"=").decode()
    _assert_invalid(_get(sandbox, f"{header}.{tampered_payload}.{signature}"), "signature")


def test_algorithm_is_pinned(sandbox: SandboxHandle) -> None:
    claims = jwt.decode(sandbox.id_token(), options={"verify_signature": False})
    forged = jwt.encode(claims, "secret-key-long-enough-for-hs256-use", algorithm="HS256", headers={"kid": "dummy"})
    _assert_invalid(_get(sandbox, forged), "invalid token")


def test_unknown_kid_reloads_jwks_once_then_rate_limits_reloads(sandbox: SandboxHandle, forge: Forge) -> None:
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    before = sandbox.state()["jwks_fetches"]
    for attempt in range(5):
        _assert_invalid(_get(sandbox, forge(sandbox.id_token(), key=stranger, kid=f"bogus-{attempt}")), "unknown")
    fetches = sandbox.state()["jwks_fetches"] - before
    # One reload at most per refetch interval (5 s), however many bogus kids arrive.
    assert fetches <= 2
    # Known kids never cause a reload.
    before = sandbox.state()["jwks_fetches"]
    for _ in range(3):
        assert _get(sandbox, sandbox.id_token()).status_code == 200
    assert sandbox.state()["jwks_fetches"] == before


def test_max_token_age_at_run_time(sandbox: SandboxHandle, forge: Forge) -> None:
    sandbox.update_settings(max_token_age=60)
    now = int(time.time())
    _assert_invalid(_get(sandbox, forge(sandbox.id_token(), iat=now - 120, exp=now + 3000)), "older than 60")
    assert _get(sandbox, sandbox.login()["IdToken"]).status_code == 200
    sandbox.update_settings(max_token_age=None)
    assert _get(sandbox, forge(sandbox.id_token(), iat=now - 120, exp=now + 3000)).status_code == 200


def test_client_credentials_flow(sandbox: SandboxHandle) -> None:
    info = sandbox.info
    response = httpx.post(
        info.client_credentials_token_url,
        data={"grant_type": "client_credentials", "scope": "stackflow/read stackflow/write"},
        auth=(info.client_credentials_client_id, info.client_credentials_client_secret),
    )
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 3600
    header = jwt.get_unverified_header(body["access_token"])
    jwks = httpx.get(info.sandbox_jwks_url).json()
    assert header["kid"] in {key["kid"] for key in jwks["keys"]}
    key = jwt.PyJWKSet.from_dict(jwks)[header["kid"]].key
    claims = jwt.decode(body["access_token"], key, algorithms=["RS256"], issuer=info.issuer)
    assert claims["token_use"] == "access" and claims["client_id"] == info.client_credentials_client_id
    assert "aud" not in claims and claims["sub"] == info.client_credentials_client_id
    assert _get(sandbox, body["access_token"]).status_code == 200
    with sandbox.stackflow(body["access_token"]) as client:
        created = client.post("/categories", json={"name": "m2m-made", "label": "M2M"})
    assert created.status_code in (201, 409)
    assert sandbox.requests_log("stackflow")[-1]["identity"] == f"client:{info.client_credentials_client_id}"


def test_client_credentials_post_auth_and_read_scope(sandbox: SandboxHandle) -> None:
    info = sandbox.info
    response = httpx.post(
        info.client_credentials_token_url,
        data={
            "grant_type": "client_credentials",
            "scope": "stackflow/read",
            "client_id": info.client_credentials_client_id,
            "client_secret": info.client_credentials_client_secret,
        },
    )
    token = response.json()["access_token"]
    assert _get(sandbox, token).status_code == 200
    with sandbox.stackflow(token) as client:
        refused = client.post("/categories", json={"name": "read-only", "label": "nope"})
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "forbidden"
    assert 'error="insufficient_scope"' in refused.headers["www-authenticate"]


@pytest.mark.parametrize(
    ("data", "auth", "status", "error"),
    [
        ({"grant_type": "client_credentials"}, ("wrong", "secret"), 401, "invalid_client"),
        ({"grant_type": "client_credentials"}, None, 401, "invalid_client"),
        ({"grant_type": "password"}, "m2m", 400, "unsupported_grant_type"),
        ({"grant_type": "client_credentials", "scope": "admin/everything"}, "m2m", 400, "invalid_scope"),
    ],
)
def test_client_credentials_errors(
    sandbox: SandboxHandle, data: dict[str, str], auth: object, status: int, error: str
) -> None:
    info = sandbox.info
    credentials = (info.client_credentials_client_id, info.client_credentials_client_secret) if auth == "m2m" else auth
    response = httpx.post(info.client_credentials_token_url, data=data, auth=credentials)  # type: ignore[arg-type]
    assert response.status_code == status
    assert response.json()["error"] == error
    if status == 401:
        assert response.headers["www-authenticate"].startswith("Basic")


def test_password_client_cannot_use_client_credentials(sandbox: SandboxHandle) -> None:
    response = httpx.post(
        sandbox.info.client_credentials_token_url,
        data={"grant_type": "client_credentials"},
        auth=(sandbox.info.app_client_id, ""),
    )
    assert response.status_code == 400
    assert response.json()["error"] == "unauthorized_client"


def test_wrong_password_is_refused_by_cognito(sandbox: SandboxHandle) -> None:
    cognito = sandbox.cognito()
    with pytest.raises(cognito.exceptions.NotAuthorizedException):
        cognito.initiate_auth(
            ClientId=sandbox.info.app_client_id,
            AuthFlow="USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": sandbox.info.username, "PASSWORD": "Wrong-password-1!"},
        )
