"""The sandbox's bootstrap identity: generated on first start, kept in the database, reused afterwards.

moto keeps Cognito in memory, so every start re-creates the pool, clients and user from this record (pool and
client ids are reproducible, and the user's ``sub`` and the client secret are put back), which keeps every
credential in ``sandbox.json`` valid across restarts.
"""

from __future__ import annotations

import secrets
import uuid

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from pydantic import BaseModel

from stackfox_sandbox.store import Store

IDENTITY_KEY = "identity"


def new_token() -> tuple[str, str, str]:
    """A fresh IncidentFox token: ``(token, token_id, secret)`` with ``token = "<32 hex>.<43 chars>"``."""
    token_id = uuid.uuid4().hex
    secret = secrets.token_urlsafe(32)
    return f"{token_id}.{secret}", token_id, secret


class Identity(BaseModel):
    """Credentials and ids that must stay the same across restarts of one state directory."""

    suffix: str
    username: str
    email: str
    password: str
    user_sub: str
    m2m_client_secret: str
    token_pepper: str
    signing_key_pem: str
    team_token: str
    org_admin_token: str
    port: int | None = None
    moto_port: int | None = None

    @property
    def pool_name(self) -> str:
        """Unique per state directory, so two sandboxes never share a pool id (and an issuer)."""
        return f"stackfox-sandbox-{self.suffix}"

    @property
    def domain(self) -> str:
        """The Cognito user-pool domain prefix."""
        return f"stackfox-sandbox-{self.suffix}"

    @classmethod
    def generate(cls) -> Identity:
        """A brand-new identity."""
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode()
        return cls(
            suffix=secrets.token_hex(4),
            username="sandbox-user",
            email="sandbox-user@example.com",
            # Cognito's default policy wants upper, lower, digit and symbol.
            password=f"Sbx-{secrets.token_urlsafe(12)}-9a!",
            user_sub=str(uuid.uuid4()),
            m2m_client_secret=secrets.token_urlsafe(36),
            token_pepper=secrets.token_hex(16),
            signing_key_pem=pem,
            team_token=new_token()[0],
            org_admin_token=new_token()[0],
        )

    @classmethod
    def load_or_create(cls, store: Store) -> Identity:
        """The stored identity, created and stored on first use."""
        stored = store.get_meta(IDENTITY_KEY)
        if stored is not None:
            return cls.model_validate(stored)
        identity = cls.generate()
        identity.save(store)
        return identity

    def save(self, store: Store) -> None:
        """Persist (e.g. after the ports changed)."""
        store.set_meta(IDENTITY_KEY, self.model_dump())
