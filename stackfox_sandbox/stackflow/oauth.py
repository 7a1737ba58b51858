"""The sandbox's stand-in for the Cognito domain: ``POST /oauth2/token`` (client credentials) and its JWKS.

moto does not implement ``/oauth2/token``; real Cognito signs these access tokens with the pool's key and the
pool's issuer. The sandbox signs them with its own key, under the pool's issuer, and publishes that key.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from typing import Annotated
from urllib.parse import parse_qs

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from stackfox_sandbox.runtime import Runtime, runtime_of
from stackfox_sandbox.stackflow.cognito import SCOPES
from stackfox_sandbox.stackflow.tokens import client_credentials_claims

router = APIRouter(tags=["cognito"])
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def _oauth_error(error: str, status: int = 400, description: str | None = None) -> JSONResponse:
    body = {"error": error}
    if description:
        body["error_description"] = description
    headers = dict(NO_STORE)
    if status == 401:
        headers["WWW-Authenticate"] = 'Basic realm="stackfox-sandbox"'
    return JSONResponse(body, status_code=status, headers=headers)


def _client_auth(request: Request, form: dict[str, str]) -> tuple[str, str] | None:
    """HTTP Basic (``client_secret_basic``) or form fields (``client_secret_post``)."""
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "basic":
        try:
            client_id, _, secret = base64.b64decode(value.strip(), validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return None
        return client_id, secret
    if "client_id" in form and "client_secret" in form:
        return form["client_id"], form["client_secret"]
    return None


@router.post("/oauth2/token", summary="client_credentials grant")
async def token(request: Request, runtime: Annotated[Runtime, Depends(runtime_of)]) -> JSONResponse:
    """Issue an access token to the client-credentials app client."""
    if not request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        return _oauth_error("invalid_request", description="use application/x-www-form-urlencoded")
    raw = parse_qs((await request.body()).decode("utf-8", "replace"))
    form = {key: values[0] for key, values in raw.items()}
    credentials = _client_auth(request, form)
    pool = runtime.pool
    if credentials is None:
        return _oauth_error("invalid_client", 401, "client authentication required")
    client_id, secret = credentials
    if client_id == pool.app_client_id:
        return _oauth_error("unauthorized_client", description="client_credentials is not enabled for this client")
    if client_id != pool.m2m_client_id or not hmac.compare_digest(secret, pool.m2m_client_secret):
        return _oauth_error("invalid_client", 401)
    if form.get("grant_type") != "client_credentials":
        return _oauth_error("unsupported_grant_type")
    requested = form.get("scope", "").split()
    if any(scope not in SCOPES for scope in requested):
        return _oauth_error("invalid_scope")
    scopes = requested or list(SCOPES)
    validity = runtime.settings.token_validity
    claims = client_credentials_claims(pool.issuer, client_id, scopes, validity)
    body = {"access_token": runtime.signing_key.sign(claims), "expires_in": validity, "token_type": "Bearer"}
    return JSONResponse(body, headers=NO_STORE)


@router.get("/.well-known/jwks.json", summary="the sandbox's signing keys")
async def jwks(runtime: Annotated[Runtime, Depends(runtime_of)]) -> JSONResponse:
    """The public keys of client-credentials access tokens."""
    return JSONResponse(runtime.signing_key.jwks())
