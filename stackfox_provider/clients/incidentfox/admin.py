"""IncidentFox's admin API (an org-admin token): the organisation's team nodes and their team tokens.

Routes (``docs/incidentfox.md`` and the open-source config service): ``/admin/orgs/{org}/nodes`` (list,
create), ``…/nodes/{node}`` (get, PATCH of ``name``/``parent_id``; there is no delete), and
``/admin/orgs/{org}/teams/{team}/tokens`` (list, mint; ``…/{token_id}/revoke``, idempotent). A token is
shown once, when it is minted: a mint whose answer is lost is found by its label, revoked, and minted again,
so no token that nobody holds is left valid.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable
from typing import Any

import httpx
import pydantic

from stackfox_provider import process
from stackfox_provider.clients.http import AmbiguousWriteError, ApiClient, RetryPolicy
from stackfox_provider.clients.incidentfox.client import API, TeamToken, unwrap
from stackfox_provider.clients.ratelimit import RateLimits

#: How long a list of the org's nodes (or a team's tokens) serves reads: one list call refreshes them all.
NODES_MAX_AGE_SECONDS = 30.0


class Node(pydantic.BaseModel):
    """A node of the organisation: the org root (``node_id`` = org id) or a team, under ``parent_id``."""

    model_config = pydantic.ConfigDict(extra="ignore")

    node_id: str
    name: str | None = None
    parent_id: str | None = None
    node_type: str = "team"


class TokenInfo(pydantic.BaseModel):
    """A team token's metadata (never its secret)."""

    model_config = pydantic.ConfigDict(extra="ignore")

    token_id: str
    label: str | None = None
    issued_at: str | None = None
    expires_at: str | None = None
    revoked_at: str | None = None


class IssuedToken(pydantic.BaseModel):
    """A token as minted: ``token`` is shown this once."""

    model_config = pydantic.ConfigDict(extra="ignore")

    token: str = pydantic.Field(repr=False)
    issued_at: str | None = None

    @property
    def token_id(self) -> str:
        """The part before the first ``.``: what revokes it."""
        return self.token.split(".", 1)[0]


class IncidentFoxAdminClient:
    """One organisation of IncidentFox, through an org-admin token. Safe to share between threads."""

    def __init__(
        self,
        base_url: str,
        token: str,
        org: str,
        *,
        limits: RateLimits | None = None,
        retry: RetryPolicy | None = None,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        unauthorized_hint: str | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.org = org
        self._api = ApiClient(
            API, self.base_url, TeamToken(token), limits=limits, retry=retry, transport=transport, sleep=sleep,
            unauthorized_hint=unauthorized_hint,
        )  # fmt: skip
        self._nodes_lock = threading.Lock()
        self._nodes: tuple[dict[str, Node], float] | None = None
        self._tokens_lock = threading.Lock()
        self._tokens: dict[str, tuple[list[TokenInfo], float]] = {}

    # -- team nodes ------------------------------------------------------------------------------------

    def nodes(self, max_age: float = NODES_MAX_AGE_SECONDS) -> dict[str, Node]:
        """Every node of the organisation by id; callers within ``max_age`` share one list call."""
        with self._nodes_lock:
            if self._nodes is None or time.monotonic() - self._nodes[1] > max_age:
                listed = unwrap(self._api.request("GET", f"/admin/orgs/{self.org}/nodes").json())
                nodes = [Node.model_validate(item) for item in listed]
                self._nodes = ({node.node_id: node for node in nodes}, time.monotonic())
            return dict(self._nodes[0])

    def node(self, node_id: str) -> Node | None:
        """The node now (one GET), or None when the organisation has none of that id."""
        response = self._api.request("GET", f"/admin/orgs/{self.org}/nodes/{node_id}", accept=frozenset({404}))
        return None if response.status_code == 404 else Node.model_validate(unwrap(response.json()))

    def create_team(self, node_id: str, name: str, parent_id: str | None) -> Node:
        """Create a team node (under the org root when ``parent_id`` is None)."""
        body = {"node_id": node_id, "name": name, "node_type": "team", "parent_id": parent_id or self.org}
        self._forget_nodes()
        return Node.model_validate(unwrap(self._api.request("POST", f"/admin/orgs/{self.org}/nodes", json=body).json()))

    def update_team(self, node_id: str, changes: dict[str, Any]) -> Node:
        """Change a team node's ``name`` and/or ``parent_id`` (re-parenting it)."""
        self._forget_nodes()
        path = f"/admin/orgs/{self.org}/nodes/{node_id}"
        return Node.model_validate(unwrap(self._api.request("PATCH", path, json=changes, idempotent=True).json()))

    def _forget_nodes(self) -> None:
        with self._nodes_lock:
            self._nodes = None

    # -- team tokens -----------------------------------------------------------------------------------

    def tokens(self, team_id: str, max_age: float = NODES_MAX_AGE_SECONDS) -> list[TokenInfo]:
        """The team's tokens (metadata only), revoked ones included; callers within ``max_age`` share one list
        call (this process's mints and revokes make it read again)."""
        with self._tokens_lock:
            cached = self._tokens.get(team_id)
            if cached is None or time.monotonic() - cached[1] > max_age:
                listed = unwrap(self._api.request("GET", f"/admin/orgs/{self.org}/teams/{team_id}/tokens").json())
                cached = ([TokenInfo.model_validate(item) for item in listed], time.monotonic())
                self._tokens[team_id] = cached
            return list(cached[0])

    def mint_token(self, team_id: str, label: str) -> IssuedToken:
        """A new token of the team, labelled ``label`` plus a nonce. When the answer is lost, the token it may
        have minted is revoked (found by that label) and one is minted again: none is left that nobody holds.
        A service that keeps no label (the open-source one documents a mint without a body) cannot tell its
        new token from another: the error then names the tokens that appeared meanwhile, for an admin to revoke."""
        path = f"/admin/orgs/{self.org}/teams/{team_id}/tokens"
        for attempt in (1, 2):
            labelled = f"{label} {secrets.token_hex(4)}"
            before = {token.token_id for token in self.tokens(team_id, max_age=0)}
            self._forget_tokens(team_id)
            try:
                response = self._api.request("POST", path, json={"label": labelled})
                return IssuedToken.model_validate(unwrap(response.json()))
            except AmbiguousWriteError as lost:
                appeared = [t for t in self.tokens(team_id, max_age=0) if t.token_id not in before and not t.revoked_at]
                ours = [token for token in appeared if token.label == labelled]
                for token in ours:
                    self.revoke_token(team_id, token.token_id)
                unlabelled = [token.token_id for token in appeared if token.label is None]
                if unlabelled and not ours:
                    raise AmbiguousWriteError(
                        API, "POST", path,
                        f"the answer to a token mint for team {team_id!r} was lost, and IncidentFox keeps no label "
                        f"to tell its token apart: token(s) {', '.join(unlabelled)} appeared meanwhile. Revoke the "
                        "one nobody holds in IncidentFox, then run `pulumi up` again.",
                    ) from lost  # fmt: skip
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def revoke_token(self, team_id: str, token_id: str) -> None:
        """Revoke a token of the team; idempotent (an unknown or revoked id is fine)."""
        path = f"/admin/orgs/{self.org}/teams/{team_id}/tokens/{token_id}/revoke"
        self._forget_tokens(team_id)
        self._api.request("POST", path, idempotent=True)

    def _forget_tokens(self, team_id: str) -> None:
        with self._tokens_lock:
            self._tokens.pop(team_id, None)


#: One client per (base URL, org, token) in the process: Team resources share its list of nodes.
_clients: process.Registry[tuple[str, str, str], IncidentFoxAdminClient] = process.registry("IncidentFox admin")


def admin_client_for(
    base_url: str, token: str, org: str, limits: RateLimits | None = None, *, unauthorized_hint: str | None = None
) -> IncidentFoxAdminClient:
    """The process-wide admin client for a (base URL, org, token)."""
    key = (base_url.rstrip("/"), org, TeamToken(token).fingerprint)
    return _clients.get(
        key, lambda: IncidentFoxAdminClient(base_url, token, org, limits=limits, unauthorized_hint=unauthorized_hint)
    )


def use_admin_client(client: IncidentFoxAdminClient) -> None:
    """Make ``client`` the process-wide one for its base URL, org and token (tests: a client on a mock transport)."""
    _clients.put((client.base_url, client.org, client._api.credential.fingerprint), client)
