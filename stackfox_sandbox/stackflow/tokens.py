"""JWTs: the sandbox's own signing key, the JWKS cache, and StackFlow's token verification."""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

from stackfox_sandbox.context import Principal
from stackfox_sandbox.settings import RuntimeSettings

ALGORITHM = "RS256"
LEEWAY_SECONDS = 30
REQUIRED_CLAIMS = ["exp", "iat", "iss", "sub", "token_use"]


class TokenError(Exception):
    """A token was refused; the message goes into ``error_description``."""


class SigningKey:
    """The sandbox's RSA key for client-credentials access tokens."""

    def __init__(self, pem: str) -> None:
        key = serialization.load_pem_private_key(pem.encode(), password=None)
        if not isinstance(key, RSAPrivateKey):
            raise ValueError("the sandbox signing key must be RSA")
        self._key = key
        der = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
        self.kid = "sandbox-" + hashlib.sha256(der).hexdigest()[:16]

    def jwk(self) -> dict[str, Any]:
        """The public half as a JWK."""
        jwk: dict[str, Any] = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self._key.public_key()))
        jwk.update({"kid": self.kid, "alg": ALGORITHM, "use": "sig"})
        return jwk

    def jwks(self) -> dict[str, Any]:
        """A JWKS holding just this key."""
        return {"keys": [self.jwk()]}

    def public_key(self) -> Any:
        """The verification key."""
        return self._key.public_key()

    def sign(self, claims: dict[str, Any]) -> str:
        """An RS256 JWT with this key's ``kid``."""
        return jwt.encode(claims, self._key, algorithm=ALGORITHM, headers={"kid": self.kid})


def client_credentials_claims(issuer: str, client_id: str, scopes: list[str], validity: int) -> dict[str, Any]:
    """The claims of a Cognito client-credentials access token."""
    now = int(time.time())
    return {
        "sub": client_id,
        "token_use": "access",
        "scope": " ".join(scopes),
        "auth_time": now,
        "iss": issuer,
        "exp": now + validity,
        "iat": now,
        "version": 2,
        "jti": str(uuid.uuid4()),
        "client_id": client_id,
    }


@dataclass
class JwksCache:
    """Keys by ``kid``: the sandbox's own key plus the keys fetched from ``url``.

    An unknown ``kid`` causes one reload, at most once per ``min_interval`` seconds, so a flood of bogus kids
    cannot force reloads. If no keys can be loaded, lookups fail (closed).
    """

    url: str
    static_keys: dict[str, Any]
    min_interval: float = 5.0
    clock: Callable[[], float] = time.monotonic
    fetches: int = 0
    _keys: dict[str, Any] = field(default_factory=dict)
    _last_fetch: float | None = None
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def key_for(self, kid: str) -> Any | None:
        """The key for ``kid``, reloading the JWKS if allowed."""
        if kid in self.static_keys:
            return self.static_keys[kid]
        if kid in self._keys:
            return self._keys[kid]
        async with self._lock:
            if kid not in self._keys and self._may_fetch():
                await self._fetch()
        return self._keys.get(kid)

    def preload(self) -> None:
        """Fetch the keys once, synchronously (at start-up, before serving)."""
        self._last_fetch = self.clock()
        self.fetches += 1
        try:
            response = httpx.get(self.url, timeout=5.0, trust_env=False)
            response.raise_for_status()
            self._store(response.json())
        except (httpx.HTTPError, ValueError, jwt.PyJWKSetError):
            return

    def _store(self, data: Any) -> None:
        keyset = jwt.PyJWKSet.from_dict(data)
        self._keys = {key.key_id: key.key for key in keyset.keys if key.key_id}

    def _may_fetch(self) -> bool:
        return self._last_fetch is None or self.clock() - self._last_fetch >= self.min_interval

    async def _fetch(self) -> None:
        self._last_fetch = self.clock()
        self.fetches += 1
        try:
            async with httpx.AsyncClient(timeout=5.0, trust_env=False) as client:
                response = await client.get(self.url)
            response.raise_for_status()
            self._store(response.json())
        except (httpx.HTTPError, ValueError, jwt.PyJWKSetError):
            return


@dataclass
class StackFlowVerifier:
    """Verifies bearer tokens the way StackFlow does.

    RS256 only (the header's ``alg`` is not trusted), key by ``kid``, exact ``iss``, ``exp`` with 30 s leeway,
    sane ``iat``. ID tokens need ``aud`` in ``id_audiences``; access tokens (client credentials) need
    ``client_id`` in ``access_clients``. ``max_token_age`` (runtime setting) bounds ``now - iat``.
    """

    issuer: str
    id_audiences: frozenset[str]
    access_clients: frozenset[str]
    jwks: JwksCache
    runtime: RuntimeSettings

    async def verify(self, token: str) -> Principal:
        """The caller behind ``token``; raises :class:`TokenError`."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as error:
            raise TokenError("malformed token") from error
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise TokenError("token has no kid")
        key = await self.jwks.key_for(kid)
        if key is None:
            raise TokenError("unknown signing key")
        claims = self._decode(token, key)
        self._check_age(claims)
        return self._principal(claims)

    def _decode(self, token: str, key: Any) -> dict[str, Any]:
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=[ALGORITHM],
                issuer=self.issuer,
                leeway=LEEWAY_SECONDS,
                options={"require": REQUIRED_CLAIMS, "verify_aud": False},
            )
        except jwt.ExpiredSignatureError as error:
            raise TokenError("token expired") from error
        except jwt.InvalidIssuerError as error:
            raise TokenError("wrong issuer") from error
        except jwt.InvalidSignatureError as error:
            raise TokenError("bad signature") from error
        except jwt.PyJWTError as error:
            raise TokenError(f"invalid token: {error}") from error
        return claims

    def _check_age(self, claims: dict[str, Any]) -> None:
        iat = claims.get("iat")
        if not isinstance(iat, int | float):
            raise TokenError("iat is not a number")
        age = time.time() - iat
        max_age = self.runtime.max_token_age
        if max_age is not None and age > max_age:
            raise TokenError(f"token older than {max_age:g} s")

    def _principal(self, claims: dict[str, Any]) -> Principal:
        token_use = claims.get("token_use")
        sub = str(claims["sub"])
        if token_use == "id":
            if claims.get("aud") not in self.id_audiences:
                raise TokenError("audience not allowed")
            username = str(claims.get("cognito:username", sub))
            return Principal(kind="user", identity=f"user:{username}", subject=sub, claims=claims)
        if token_use == "access":
            client_id = claims.get("client_id")
            if client_id not in self.access_clients:
                raise TokenError("access tokens are accepted only from client-credentials clients")
            scopes = frozenset(str(claims.get("scope", "")).split())
            return Principal(kind="client", identity=f"client:{client_id}", subject=sub, scopes=scopes, claims=claims)
        raise TokenError("token_use must be id")
