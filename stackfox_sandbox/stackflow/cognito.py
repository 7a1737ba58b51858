"""moto as the sandbox's Cognito: a threaded moto server on 127.0.0.1 plus the bootstrap of the pool."""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.config import Config
from werkzeug.serving import BaseWSGIServer, make_server

from stackfox_sandbox.identity import Identity

log = logging.getLogger(__name__)

AWS_ACCOUNT_ID = "123456789012"
DUMMY_CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
RESOURCE_SERVER = "stackflow"
SCOPES = (f"{RESOURCE_SERVER}/read", f"{RESOURCE_SERVER}/write")
APP_CLIENT_NAME = "stackfox-cli"
M2M_CLIENT_NAME = "stackfox-m2m"


class MotoServer:
    """moto's server in a daemon thread. Unlike ``ThreadedMotoServer``, binding happens in the caller's
    thread, so a busy port raises instead of hanging."""

    def __init__(self, host: str, port: int) -> None:
        # Reproducible pool and client ids: the same state directory gets the same ids after a restart.
        os.environ["MOTO_COGNITO_IDP_USER_POOL_ID_STRATEGY"] = "HASH"
        os.environ["MOTO_COGNITO_IDP_USER_POOL_CLIENT_ID_STRATEGY"] = "HASH"
        from moto.moto_server.werkzeug_app import (
            DomainDispatcherApplication,
            MotoRequestHandler,
            create_backend_app,
        )

        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        app = DomainDispatcherApplication(create_backend_app)
        self._server: BaseWSGIServer = make_server(host, port, app, threaded=True, request_handler=MotoRequestHandler)
        self._thread = threading.Thread(target=self._server.serve_forever, name="moto", daemon=True)

    @property
    def port(self) -> int:
        """The bound port."""
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        """Base URL, used as boto3's ``endpoint_url``."""
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        """Serve in the background."""
        self._thread.start()

    def stop(self) -> None:
        """Stop serving and wait for the thread."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


@dataclass(frozen=True)
class CognitoPool:
    """What the bootstrap created: everything clients and the token verifier need."""

    endpoint_url: str
    region: str
    user_pool_id: str
    app_client_id: str
    m2m_client_id: str
    m2m_client_secret: str
    username: str
    password: str

    @property
    def issuer(self) -> str:
        """The AWS-style issuer moto puts in ``iss``."""
        return f"https://cognito-idp.{self.region}.amazonaws.com/{self.user_pool_id}"

    @property
    def jwks_url(self) -> str:
        """moto's JWKS for the pool (served from localhost, not from the issuer's host)."""
        return f"{self.endpoint_url}/{self.user_pool_id}/.well-known/jwks.json"


def cognito_client(endpoint_url: str, region: str) -> Any:
    """A boto3 cognito-idp client for the moto server."""
    return boto3.client(
        "cognito-idp",
        endpoint_url=endpoint_url,
        region_name=region,
        config=Config(retries={"max_attempts": 2}, connect_timeout=5, read_timeout=30),
        aws_access_key_id=DUMMY_CREDENTIALS["aws_access_key_id"],
        aws_secret_access_key=DUMMY_CREDENTIALS["aws_secret_access_key"],
    )


def bootstrap(endpoint_url: str, region: str, identity: Identity) -> CognitoPool:
    """Create the pool, the password client, the client-credentials client and the user."""
    client = cognito_client(endpoint_url, region)
    pool_id = client.create_user_pool(
        PoolName=identity.pool_name,
        AutoVerifiedAttributes=["email"],
        Policies={
            "PasswordPolicy": {
                "MinimumLength": 8,
                "RequireUppercase": True,
                "RequireLowercase": True,
                "RequireNumbers": True,
                "RequireSymbols": True,
            }
        },
    )["UserPool"]["Id"]
    app_client_id = client.create_user_pool_client(
        UserPoolId=pool_id,
        ClientName=APP_CLIENT_NAME,
        GenerateSecret=False,
        ExplicitAuthFlows=[
            "ALLOW_USER_PASSWORD_AUTH",
            "ALLOW_REFRESH_TOKEN_AUTH",
            "ALLOW_ADMIN_USER_PASSWORD_AUTH",
        ],
        ReadAttributes=["email", "email_verified"],
    )["UserPoolClient"]["ClientId"]
    client.create_resource_server(
        UserPoolId=pool_id,
        Identifier=RESOURCE_SERVER,
        Name="StackFlow API",
        Scopes=[
            {"ScopeName": "read", "ScopeDescription": "read incidents and categories"},
            {"ScopeName": "write", "ScopeDescription": "change incidents and categories"},
        ],
    )
    client.create_user_pool_domain(UserPoolId=pool_id, Domain=identity.domain)
    m2m_client_id = client.create_user_pool_client(
        UserPoolId=pool_id,
        ClientName=M2M_CLIENT_NAME,
        GenerateSecret=True,
        AllowedOAuthFlows=["client_credentials"],
        AllowedOAuthScopes=list(SCOPES),
        AllowedOAuthFlowsUserPoolClient=True,
    )["UserPoolClient"]["ClientId"]
    client.admin_create_user(
        UserPoolId=pool_id,
        Username=identity.username,
        UserAttributes=[
            {"Name": "email", "Value": identity.email},
            {"Name": "email_verified", "Value": "true"},
        ],
        MessageAction="SUPPRESS",
    )
    client.admin_set_user_password(
        UserPoolId=pool_id, Username=identity.username, Password=identity.password, Permanent=True
    )
    _restore_random_parts(region, pool_id, m2m_client_id, identity)
    return CognitoPool(
        endpoint_url=endpoint_url,
        region=region,
        user_pool_id=pool_id,
        app_client_id=app_client_id,
        m2m_client_id=m2m_client_id,
        m2m_client_secret=identity.m2m_client_secret,
        username=identity.username,
        password=identity.password,
    )


def _restore_random_parts(region: str, pool_id: str, m2m_client_id: str, identity: Identity) -> None:
    """moto draws the user's ``sub`` and the client secret at random; put back the persisted ones.

    This reaches into moto's in-process backend (the server runs in this process): there is no API to choose
    them, and without it ``sub`` and the secret would change on every restart.
    """
    from moto.cognitoidp.models import cognitoidp_backends

    pool = cognitoidp_backends[AWS_ACCOUNT_ID][region].user_pools[pool_id]
    user = pool.users[identity.username]
    user.id = identity.user_sub
    user.update_attributes([{"Name": "sub", "Value": identity.user_sub}])
    pool.clients[m2m_client_id].secret = identity.m2m_client_secret
