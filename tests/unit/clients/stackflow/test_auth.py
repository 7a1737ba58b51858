"""StackFlow token sources: Cognito logins against a moto server over real HTTP (the default login is an httpx
call, which in-process moto would not see), Cognito faults and client credentials against httpx.MockTransport."""

from __future__ import annotations

import base64
import itertools
import json
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import boto3
import httpx
import pytest

from stackfox_provider.clients.http import RetryPolicy
from stackfox_provider.clients.ratelimit import RateLimits
from stackfox_provider.clients.stackflow import StackFlowClient
from stackfox_provider.clients.stackflow.auth import (
    ClientCredentialsAuth,
    CognitoAdminUserPasswordAuth,
    CognitoUserPasswordAuth,
    StackFlowAuthError,
    StackFlowSettingsError,
    StaticToken,
    jwt_claims,
    secret_hash,
)
from stackfox_provider.settings import RECORDED_SETTINGS_HINT, STACKFLOW_NAMES
from stackfox_sandbox.stackflow.cognito import MotoServer

REGION = "eu-west-1"
PASSWORD = "Correct-horse-1!"
CLIENT_SECRET = "cc-secret-value-0123456789"
#: What stackfox tells the token sources to call each setting.
NAMES = STACKFLOW_NAMES


class FakeClock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def make_jwt(**claims: Any) -> str:
    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")

    return f"{part({'alg': 'RS256', 'typ': 'JWT'})}.{part(claims)}.c2lnbmF0dXJl"


@pytest.fixture
def threads() -> Iterator[tuple[ThreadPoolExecutor, ThreadPoolExecutor]]:
    """Two long-lived threads, each with its own thread-local view of a credential."""
    with ThreadPoolExecutor(1) as first, ThreadPoolExecutor(1) as second:
        yield first, second


def on(thread: ThreadPoolExecutor, action: Callable[[], Any]) -> Any:
    return thread.submit(action).result()


# --- moto user pool ---


@dataclass
class Pool:
    admin: Any
    endpoint: str
    pool_id: str
    client_id: str
    secret_client_id: str
    secret_client_secret: str
    user: str = ""  # a user of this test's own, so tests can disable or sign out theirs

    def add_user(self, username: str, password: str | None = PASSWORD) -> str:
        self.admin.admin_create_user(UserPoolId=self.pool_id, Username=username, TemporaryPassword="Temp-pass-1!")
        if password:
            self.admin.admin_set_user_password(
                UserPoolId=self.pool_id, Username=username, Password=password, Permanent=True
            )
        return username

    def login(self, username: str = "", password: str = PASSWORD, **options: Any) -> CognitoUserPasswordAuth:
        options.setdefault("client_id", self.client_id)
        options.setdefault("endpoint_url", self.endpoint)
        return CognitoUserPasswordAuth(
            names=NAMES, region=REGION, username=username or self.user, password=password, **options
        )


@pytest.fixture(scope="module")
def shared_pool() -> Iterator[Pool]:
    """One moto server and user pool for the module: creating a pool costs more than all of a test's logins."""
    with pytest.MonkeyPatch.context() as env:
        # moto's server takes any AWS keys; the admin flow's boto3 needs some. The server sets id strategies.
        env.setenv("AWS_ACCESS_KEY_ID", "testing")
        env.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        env.delenv("AWS_PROFILE", raising=False)
        for strategy in ("MOTO_COGNITO_IDP_USER_POOL_ID_STRATEGY", "MOTO_COGNITO_IDP_USER_POOL_CLIENT_ID_STRATEGY"):
            env.delenv(strategy, raising=False)
        server = MotoServer("127.0.0.1", 0)
        server.start()
        try:
            admin = boto3.client("cognito-idp", region_name=REGION, endpoint_url=server.url)
            pool_id = admin.create_user_pool(PoolName="stackflow")["UserPool"]["Id"]
            plain = admin.create_user_pool_client(UserPoolId=pool_id, ClientName="cli")["UserPoolClient"]
            secret = admin.create_user_pool_client(UserPoolId=pool_id, ClientName="svc", GenerateSecret=True)
            yield Pool(
                admin,
                server.url,
                pool_id,
                plain["ClientId"],
                secret["UserPoolClient"]["ClientId"],
                secret["UserPoolClient"]["ClientSecret"],
            )
        finally:
            server.stop()


@pytest.fixture(scope="module")
def email_pool(shared_pool: Pool) -> Pool:
    """A pool whose users sign in by email: their canonical ``cognito:username`` is a UUID."""
    admin = shared_pool.admin
    pool_id = admin.create_user_pool(PoolName="by-email", UsernameAttributes=["email"])["UserPool"]["Id"]
    secret = admin.create_user_pool_client(UserPoolId=pool_id, ClientName="svc", GenerateSecret=True)
    client = secret["UserPoolClient"]
    created = Pool(admin, shared_pool.endpoint, pool_id, client["ClientId"], client["ClientId"], client["ClientSecret"])
    return replace(created, user=created.add_user("bob@example.com"))


_user_numbers = itertools.count(1)


@pytest.fixture
def pool(shared_pool: Pool) -> Pool:
    return replace(shared_pool, user=shared_pool.add_user(f"alice{next(_user_numbers)}"))


@dataclass
class Logins:
    flows: list[str] = field(default_factory=list)
    parameters: list[dict[str, str]] = field(default_factory=list)
    delay: float = 0.0


@pytest.fixture
def logins(monkeypatch: pytest.MonkeyPatch) -> Logins:
    """Records every Cognito call (its AuthFlow), optionally slowing it down so threads pile up behind it."""
    seen = Logins()
    for kind in (CognitoUserPasswordAuth, CognitoAdminUserPasswordAuth):
        original = kind.__dict__["_initiate"]

        def recording(self: Any, flow: str, parameters: Any, _original: Any = original) -> Any:
            seen.flows.append(flow)
            seen.parameters.append(dict(parameters))
            time.sleep(seen.delay)
            return _original(self, flow, parameters)

        monkeypatch.setattr(kind, "_initiate", recording)
    return seen


# --- helpers ---


def test_secret_hash_matches_a_known_vector() -> None:
    # Computed independently: printf 'alice'"$CLIENT_ID" | openssl dgst -sha256 -hmac "$SECRET" -binary | base64
    assert (
        secret_hash("alice", "7lk2n4ekmf0g1gsk6qk0b8h0m1", "tc3l4v9b1mp5oqk2r0e8s6u7j2g1h3i4")
        == "hug6MIFtg5SsxjXywNQrozBF4pi/LMTFLZcXgUBSk3U="
    )


def test_jwt_claims_are_read_without_verification_and_garbage_gives_nothing() -> None:
    assert jwt_claims(make_jwt(exp=123, sub="u-1")) == {"exp": 123, "sub": "u-1"}
    assert jwt_claims("opaque-token") == {}
    assert jwt_claims("a.!!!.c") == {}
    assert jwt_claims(f"a.{base64.urlsafe_b64encode(b'[1]').decode()}.c") == {}


# --- Cognito USER_PASSWORD_AUTH ---


def test_a_login_is_shared_by_many_calls_across_threads(pool: Pool, logins: Logins) -> None:
    logins.delay = 0.05
    credential = pool.login()
    start = threading.Barrier(8)
    headers: list[str] = []

    def work() -> None:
        start.wait()
        headers.extend(credential.authorization() for _ in range(25))

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert logins.flows == ["USER_PASSWORD_AUTH"]
    assert len(headers) == 200 and len(set(headers)) == 1
    claims = jwt_claims(headers[0].removeprefix("Bearer "))
    assert claims["token_use"] == "id" and claims["aud"] == pool.client_id
    # Another credential object for the same identity uses the same cached token.
    assert pool.login().authorization() == headers[0]
    assert logins.flows == ["USER_PASSWORD_AUTH"]


def test_the_token_is_refreshed_with_the_refresh_token_five_minutes_before_it_expires(
    pool: Pool, logins: Logins
) -> None:
    clock = FakeClock(time.time())
    credential = pool.login(clock=clock)
    first = credential.authorization()
    expires = jwt_claims(first.removeprefix("Bearer "))["exp"]

    clock.now = expires - 301
    assert credential.authorization() == first
    clock.now = expires - 299
    credential.authorization()

    assert logins.flows == ["USER_PASSWORD_AUTH", "REFRESH_TOKEN_AUTH"]


def test_a_refresh_with_a_client_secret_passes_the_secret_hash_check(pool: Pool, logins: Logins) -> None:
    # moto checks SECRET_HASH on REFRESH_TOKEN_AUTH: a wrong hash would show up as a second password login.
    clock = FakeClock(time.time())
    credential = pool.login(client_id=pool.secret_client_id, client_secret=pool.secret_client_secret, clock=clock)
    credential.authorization()
    clock.now += 3600

    credential.authorization()

    assert logins.flows == ["USER_PASSWORD_AUTH", "REFRESH_TOKEN_AUTH"]


def test_a_refresh_hashes_the_canonical_cognito_username_not_the_sign_in_email(
    email_pool: Pool, logins: Logins
) -> None:
    pool = email_pool
    clock = FakeClock(time.time())
    credential = pool.login(client_id=pool.secret_client_id, client_secret=pool.secret_client_secret, clock=clock)
    canonical = jwt_claims(credential.authorization().removeprefix("Bearer "))["cognito:username"]
    assert canonical != pool.user  # a UUID, not bob@example.com
    clock.now += 3600

    credential.authorization()

    # (moto checks the hash against the sign-in alias instead, refuses, and the credential logs in again.)
    assert logins.flows[:2] == ["USER_PASSWORD_AUTH", "REFRESH_TOKEN_AUTH"]
    login, refresh = logins.parameters[:2]
    assert login["SECRET_HASH"] == secret_hash(pool.user, pool.secret_client_id, pool.secret_client_secret)
    assert refresh["SECRET_HASH"] == secret_hash(canonical, pool.secret_client_id, pool.secret_client_secret)


def test_a_revoked_refresh_token_falls_back_to_a_password_login(pool: Pool, logins: Logins) -> None:
    clock = FakeClock(time.time())
    credential = pool.login(clock=clock)
    first = credential.authorization()
    pool.admin.admin_user_global_sign_out(UserPoolId=pool.pool_id, Username=pool.user)
    clock.now += 3600

    second = credential.authorization()

    assert logins.flows == ["USER_PASSWORD_AUTH", "REFRESH_TOKEN_AUTH", "USER_PASSWORD_AUTH"]
    assert second != first


def test_a_401_from_stackflow_renews_the_token_once_and_the_call_succeeds(pool: Pool, logins: Logins) -> None:
    credential = pool.login()
    sent: list[str] = []

    def stackflow(request: httpx.Request) -> httpx.Response:
        sent.append(request.headers["authorization"])
        if len(sent) == 1:
            return httpx.Response(401, json={"error": {"code": "unauthorized", "message": "token too old"}})
        return httpx.Response(200, json={"data": [], "total": 0, "page": 1, "limit": 100, "has_more": False})

    client = StackFlowClient(
        "http://stackflow.test/prod/api",
        credential,
        transport=httpx.MockTransport(stackflow),
        limits=RateLimits(10_000, 10_000),
        retry=RetryPolicy(backoff_seconds=0.001, max_backoff_seconds=0.002),
    )

    assert client.list_categories() == []
    assert len(sent) == 2 and sent[0] != sent[1]
    # The refresh token survives a 401, so the new token comes from a refresh rather than a password login.
    assert logins.flows == ["USER_PASSWORD_AUTH", "REFRESH_TOKEN_AUTH"]


def test_the_region_comes_from_the_pool_id_when_not_given(pool: Pool) -> None:
    credential = CognitoUserPasswordAuth(
        names=NAMES,
        client_id=pool.client_id,
        username=pool.user,
        password=PASSWORD,
        user_pool_id=pool.pool_id,
        endpoint_url=pool.endpoint,
    )
    assert credential.region == REGION
    assert credential.authorization().startswith("Bearer ey")
    with pytest.raises(StackFlowSettingsError, match=r"stackfox:stackflowRegion / STACKFLOW_REGION or AWS_REGION"):
        CognitoUserPasswordAuth(names=NAMES, client_id="c", username="alice", password=PASSWORD)


@pytest.mark.parametrize("kind", [CognitoUserPasswordAuth, CognitoAdminUserPasswordAuth])
def test_a_wrong_password_names_the_user_and_the_setting_to_fix(pool: Pool, kind: type[Any]) -> None:
    credential = kind(
        names=NAMES,
        region=REGION,
        user_pool_id=pool.pool_id,
        client_id=pool.client_id,
        username=pool.user,
        password="Wrong-pass-9!",
        endpoint_url=pool.endpoint,
    )

    with pytest.raises(StackFlowAuthError) as caught:
        credential.authorization()

    assert str(caught.value) == (
        f"Cognito rejected the StackFlow user {pool.user}: Incorrect username or password. "
        f"Check stackfox:stackflowPassword / STACKFLOW_PASSWORD. {RECORDED_SETTINGS_HINT}"
    )
    assert "Wrong-pass-9!" not in str(caught.value)


def test_a_disabled_user_is_reported(pool: Pool) -> None:
    pool.admin.admin_disable_user(UserPoolId=pool.pool_id, Username=pool.user)

    with pytest.raises(StackFlowAuthError) as caught:
        pool.login().authorization()

    assert str(caught.value).startswith(f"Cognito rejected the StackFlow user {pool.user}: User is disabled.")
    assert "stackfox:stackflowUsername / STACKFLOW_USERNAME" in str(caught.value)


def test_an_unknown_user_names_the_username_setting(pool: Pool) -> None:
    with pytest.raises(StackFlowAuthError, match=r"user bob: .*stackfox:stackflowUsername / STACKFLOW_USERNAME"):
        pool.login("bob").authorization()


def test_an_unknown_app_client_names_the_client_id_setting(pool: Pool) -> None:
    with pytest.raises(StackFlowAuthError) as caught:
        pool.login(client_id="no-such-client").authorization()

    assert "app client no-such-client" in str(caught.value)
    assert "stackfox:stackflowClientId / STACKFLOW_CLIENT_ID" in str(caught.value)
    assert caught.value.code == "ResourceNotFoundException"


def test_a_password_challenge_is_a_clear_error(pool: Pool) -> None:
    newbie = pool.add_user(f"new-{pool.user}", password=None)  # FORCE_CHANGE_PASSWORD

    with pytest.raises(StackFlowAuthError) as caught:
        pool.login(newbie, "Temp-pass-1!").authorization()

    message = str(caught.value)
    assert "challenge NEW_PASSWORD_REQUIRED" in message
    assert "admin-set-user-password --permanent" in message
    assert "Temp-pass-1!" not in message


def test_an_unreachable_cognito_endpoint_names_the_endpoint_setting() -> None:
    credential = CognitoUserPasswordAuth(
        names=NAMES,
        region=REGION,
        client_id="c",
        username="alice",
        password=PASSWORD,
        endpoint_url="http://127.0.0.1:9",
    )

    with pytest.raises(StackFlowAuthError) as caught:
        credential.authorization()

    assert str(caught.value).startswith("Cannot reach Cognito at http://127.0.0.1:9")
    assert "stackfox:cognitoEndpoint / COGNITO_ENDPOINT" in str(caught.value)


@dataclass
class CognitoApi:
    """Cognito's JSON API as httpx.MockTransport: answers in turn (the last one repeats), keeping the requests."""

    answers: list[httpx.Response]
    requests: list[httpx.Request] = field(default_factory=list)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.answers[min(len(self.requests), len(self.answers)) - 1]

    def login(self, **options: Any) -> CognitoUserPasswordAuth:
        return CognitoUserPasswordAuth(
            names=NAMES, client_id="app", username="svc", password=PASSWORD, transport=httpx.MockTransport(self),
            **{"region": REGION, **options},
        )  # fmt: skip


def signed_in(expires_in: int = 3600) -> httpx.Response:
    token = make_jwt(sub="u", exp=int(time.time()) + expires_in)
    result = {"IdToken": token, "AccessToken": "a", "RefreshToken": "r", "ExpiresIn": expires_in, "TokenType": "Bearer"}
    return httpx.Response(200, json={"AuthenticationResult": result, "ChallengeParameters": {}})


def aws_error(status: int, kind: str, message: str) -> httpx.Response:
    return httpx.Response(status, json={"__type": kind, "message": message})


def test_the_login_is_one_unsigned_json_post_to_the_regions_public_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("stackfox_provider.clients.stackflow.auth.time.sleep", lambda _: None)
    api = CognitoApi([signed_in()])

    assert api.login(client_secret="s3cret").authorization().startswith("Bearer ey")

    [request] = api.requests
    assert str(request.url) == f"https://cognito-idp.{REGION}.amazonaws.com/"
    assert request.method == "POST"
    assert request.headers["X-Amz-Target"] == "AWSCognitoIdentityProviderService.InitiateAuth"
    assert request.headers["Content-Type"] == "application/x-amz-json-1.1"
    assert "authorization" not in request.headers  # InitiateAuth is public: no AWS signature
    assert json.loads(request.content) == {
        "ClientId": "app",
        "AuthFlow": "USER_PASSWORD_AUTH",
        "AuthParameters": {"USERNAME": "svc", "PASSWORD": PASSWORD, "SECRET_HASH": secret_hash("svc", "app", "s3cret")},
    }


@pytest.mark.parametrize(
    "fault",
    [
        aws_error(400, "TooManyRequestsException", "Rate exceeded"),
        aws_error(500, "InternalErrorException", "Internal error"),
        httpx.Response(503, text="<html>Service Unavailable</html>"),
    ],
    ids=["throttled", "internal-error", "503-not-json"],
)
def test_a_throttle_or_a_5xx_is_tried_once_more(monkeypatch: pytest.MonkeyPatch, fault: httpx.Response) -> None:
    waits: list[float] = []
    monkeypatch.setattr("stackfox_provider.clients.stackflow.auth.time.sleep", waits.append)
    api = CognitoApi([fault, signed_in()])

    assert api.login().authorization().startswith("Bearer ey")
    assert len(api.requests) == 2
    assert len(waits) == 1 and 0 < waits[0] <= 1.0


def test_a_second_throttle_is_an_error_with_cognitos_words(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("stackfox_provider.clients.stackflow.auth.time.sleep", lambda _: None)
    api = CognitoApi([aws_error(400, "com.amazonaws.cognito#TooManyRequestsException", "Rate exceeded")])

    with pytest.raises(StackFlowAuthError) as caught:
        api.login().authorization()

    assert len(api.requests) == 2
    assert caught.value.code == "TooManyRequestsException"
    assert "Cognito login of the StackFlow user svc failed (TooManyRequestsException): Rate exceeded" in str(
        caught.value
    )


def test_a_rejection_is_not_tried_again_and_its_code_comes_from_the_header_when_the_body_has_none(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("stackfox_provider.clients.stackflow.auth.time.sleep", lambda _: None)
    header = {"x-amzn-ErrorType": "NotAuthorizedException:http://internal.amazon.com/coral/com.amazonaws.cognito/"}
    api = CognitoApi([httpx.Response(400, headers=header, json={"message": "Incorrect username or password."})])

    with pytest.raises(StackFlowAuthError) as caught:
        api.login().authorization()

    assert len(api.requests) == 1
    assert caught.value.code == "NotAuthorizedException"
    assert "Check stackfox:stackflowPassword / STACKFLOW_PASSWORD" in str(caught.value)
    assert PASSWORD not in str(caught.value)


def test_the_endpoint_setting_replaces_the_regions_endpoint() -> None:
    api = CognitoApi([signed_in()])

    api.login(endpoint_url="http://127.0.0.1:5000/cognito").authorization()

    assert str(api.requests[0].url) == "http://127.0.0.1:5000/cognito/"


# --- Cognito ADMIN_USER_PASSWORD_AUTH ---


def test_the_admin_flow_logs_in_and_refreshes_through_the_admin_api(pool: Pool, logins: Logins) -> None:
    clock = FakeClock(time.time())
    credential = CognitoAdminUserPasswordAuth(
        names=NAMES,
        user_pool_id=pool.pool_id,
        client_id=pool.client_id,
        username=pool.user,
        password=PASSWORD,
        endpoint_url=pool.endpoint,
        clock=clock,
    )

    token = credential.authorization().removeprefix("Bearer ")
    clock.now += 3600
    credential.authorization()

    assert jwt_claims(token)["cognito:username"] == pool.user
    assert logins.flows == ["ADMIN_USER_PASSWORD_AUTH", "REFRESH_TOKEN_AUTH"]


def test_the_admin_flow_without_aws_credentials_says_what_it_needs(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    credential = CognitoAdminUserPasswordAuth(
        names=NAMES,
        user_pool_id=f"{REGION}_abc",
        client_id="c",
        username="svc",
        password=PASSWORD,
        endpoint_url="http://127.0.0.1:9",
    )

    with pytest.raises(StackFlowAuthError, match=r"needs AWS credentials .*stackfox:stackflowAuthFlow"):
        credential.authorization()


# --- client credentials ---


@dataclass
class TokenEndpoint:
    lifetime: int = 3600
    requests: list[httpx.Request] = field(default_factory=list)
    answer: httpx.Response | None = None

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.answer is not None:
            return self.answer
        now = int(time.time())
        token = make_jwt(token_use="access", client_id="m2m", iat=now, exp=now + self.lifetime, n=len(self.requests))
        return httpx.Response(200, json={"access_token": token, "expires_in": self.lifetime, "token_type": "Bearer"})

    def credential(self, clock: Callable[[], float] = time.time, scope: str | None = "stackflow/write") -> Any:
        return ClientCredentialsAuth(
            names=NAMES,
            token_url="https://pool.auth.eu-west-1.amazoncognito.com/oauth2/token",
            client_id="m2m",
            client_secret=CLIENT_SECRET,
            scope=scope,
            transport=httpx.MockTransport(self),
            clock=clock,
        )


def test_client_credentials_post_the_grant_with_basic_auth_and_cache_the_access_token(
    threads: tuple[ThreadPoolExecutor, ThreadPoolExecutor],
) -> None:
    endpoint = TokenEndpoint()
    credential = endpoint.credential()

    first = on(threads[0], credential.authorization)
    assert on(threads[1], credential.authorization) == first

    (request,) = endpoint.requests
    assert request.method == "POST"
    assert request.headers["authorization"] == "Basic " + base64.b64encode(f"m2m:{CLIENT_SECRET}".encode()).decode()
    assert parse_qs(request.content.decode()) == {"grant_type": ["client_credentials"], "scope": ["stackflow/write"]}
    assert jwt_claims(first.removeprefix("Bearer "))["token_use"] == "access"


def test_a_short_lived_token_is_replaced_at_80_percent_of_its_lifetime() -> None:
    endpoint = TokenEndpoint(lifetime=300)
    clock = FakeClock(time.time())
    credential = endpoint.credential(clock)
    issued = jwt_claims(credential.authorization().removeprefix("Bearer "))["iat"]

    clock.now = issued + 239
    credential.authorization()
    assert len(endpoint.requests) == 1
    clock.now = issued + 241
    credential.authorization()
    assert len(endpoint.requests) == 2


def test_a_clock_ahead_of_the_servers_does_not_make_every_call_a_login() -> None:
    endpoint = TokenEndpoint()
    clock = FakeClock(time.time() + 7200)  # tokens look expired on arrival
    credential = endpoint.credential(clock)

    first = credential.authorization()
    clock.now += 4
    assert credential.authorization() == first
    clock.now += 2
    assert credential.authorization() != first
    assert len(endpoint.requests) == 2


def test_renew_drops_the_sent_token_once_even_when_several_threads_report_it(
    threads: tuple[ThreadPoolExecutor, ThreadPoolExecutor],
) -> None:
    a, b = threads
    endpoint = TokenEndpoint()
    credential = endpoint.credential()
    first = on(a, credential.authorization)
    assert on(b, credential.authorization) == first

    # Both threads got a 401 for the same token. The first renews and gets a new token; when the second reports
    # the old token later, it may retry, but the new token is kept.
    assert on(a, credential.renew) is True
    second = on(a, credential.authorization)
    assert second != first
    assert on(b, credential.renew) is True
    assert on(b, credential.authorization) == second
    assert len(endpoint.requests) == 2

    # A second renew without a new token in between is not worth another retry.
    assert on(a, credential.renew) is True
    assert on(a, credential.renew) is False
    assert StaticToken("abc").renew() is False


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (
            httpx.Response(400, json={"error": "invalid_client"}),
            "stackfox:stackflowClientSecret / STACKFLOW_CLIENT_SECRET",
        ),
        (httpx.Response(400, json={"error": "invalid_scope"}), "Check stackfox:stackflowScope / STACKFLOW_SCOPE"),
        (httpx.Response(400, json={"error": "unauthorized_client"}), "must allow the client_credentials OAuth flow"),
        (httpx.Response(200, json={"token_type": "Bearer"}), "answered without an access token"),
        (httpx.Response(404, text="not here"), "(HTTP 404). Check stackfox:stackflowTokenUrl / STACKFLOW_TOKEN_URL"),
    ],
)
def test_token_endpoint_failures_name_the_setting_to_fix(answer: httpx.Response, expected: str) -> None:
    credential = TokenEndpoint(answer=answer).credential()

    with pytest.raises(StackFlowAuthError) as caught:
        credential.authorization()

    assert expected in str(caught.value)
    assert CLIENT_SECRET not in str(caught.value)


def test_an_unreachable_token_endpoint_names_the_token_url_setting() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused")

    credential = ClientCredentialsAuth(
        names=NAMES,
        token_url="https://nowhere.test/oauth2/token",
        client_id="m2m",
        client_secret=CLIENT_SECRET,
        transport=httpx.MockTransport(refuse),
    )

    with pytest.raises(StackFlowAuthError, match=r"^Cannot reach the token endpoint https://nowhere.test/oauth2/token"):
        credential.authorization()


# --- settings ---


def test_the_fingerprint_is_a_hash_of_the_identity_not_of_a_secret() -> None:
    def user(username: str, password: str) -> CognitoUserPasswordAuth:
        return CognitoUserPasswordAuth(names=NAMES, region=REGION, client_id="c", username=username, password=password)

    fingerprint = user("alice", PASSWORD).fingerprint
    assert fingerprint == user("alice", "another-password").fingerprint
    assert fingerprint != user("bob", PASSWORD).fingerprint
    assert len(fingerprint) == 32 and PASSWORD not in fingerprint and "alice" not in fingerprint
    assert StaticToken("tok-1").fingerprint != StaticToken("tok-2").fingerprint
    assert "tok-1" not in StaticToken("tok-1").fingerprint


@pytest.fixture
def proxy(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """``HTTPS_PROXY`` set, and the URLs httpx sends through the proxy transport it makes for it."""
    seen: list[str] = []

    class Proxy(httpx.BaseTransport):
        def handle_request(self, request: httpx.Request) -> httpx.Response:
            seen.append(str(request.url))
            if request.url.path.endswith("/oauth2/token"):
                return httpx.Response(200, json={"access_token": make_jwt(exp=int(time.time()) + 3600)})
            return signed_in()

    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.internal:3128")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.setattr(httpx.Client, "_init_proxy_transport", lambda self, proxy, **_: Proxy())
    return seen


def test_a_cognito_login_goes_through_the_proxy_the_environment_names(proxy: list[str]) -> None:
    """As the StackFlow API calls: a corporate network's HTTPS_PROXY reaches Cognito too."""
    credential = CognitoUserPasswordAuth(names=NAMES, region=REGION, client_id="app", username="svc", password=PASSWORD)

    assert credential.authorization().startswith("Bearer ey")
    assert proxy == [f"https://cognito-idp.{REGION}.amazonaws.com/"]


def test_a_client_credentials_grant_goes_through_the_proxy_the_environment_names(proxy: list[str]) -> None:
    token_url = "https://acme.auth.eu-west-1.amazoncognito.com/oauth2/token"
    credential = ClientCredentialsAuth(names=NAMES, token_url=token_url, client_id="m2m", client_secret="s")

    assert credential.authorization().startswith("Bearer ey")
    assert proxy == [token_url]


@pytest.mark.parametrize("kind", ["cognito", "client_credentials"])
def test_a_connection_that_failed_before_sending_is_tried_again(kind: str) -> None:
    attempts: list[httpx.Request] = []

    def flaky(request: httpx.Request) -> httpx.Response:
        attempts.append(request)
        if len(attempts) < 3:
            raise httpx.ConnectError("connection refused", request=request)
        if kind == "cognito":
            return signed_in()
        return httpx.Response(200, json={"access_token": make_jwt(exp=int(time.time()) + 3600)})

    transport = httpx.MockTransport(flaky)
    credential = (
        CognitoUserPasswordAuth(
            names=NAMES, region=REGION, client_id="app", username="svc", password=PASSWORD, transport=transport
        )
        if kind == "cognito"
        else ClientCredentialsAuth(
            names=NAMES,
            token_url="https://t.example.com/oauth2/token",
            client_id="m",
            client_secret="s",
            transport=transport,
        )
    )

    assert credential.authorization().startswith("Bearer ey")
    assert len(attempts) == 3
