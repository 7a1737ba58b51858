"""StackFlow as code: the standing incident categories every incident is filed under.

Connection and credentials: the ``stackfox:stackflow*`` stack config keys or ``STACKFLOW_*``
environment variables (see docs/stackflow-auth.md), or a ``connection`` input carrying the
non-secret references (URL, user pool id, app client id, region, token URL) from pulumi-aws.

Nested inputs have ``TypedDict`` types (``SubcategoryArgs``, ``StackFlowConnectionArgs``), so editors complete
their keys and type checkers refuse a misspelt one; dict literals need no import.
"""

from stackfox_provider.resources.incident_category import (
    DeletionPolicy,
    IncidentCategory,
    Priority,
    StackFlowConnection,
    StackFlowConnectionArgs,
    SubcategoryArgs,
)

__all__ = [
    "DeletionPolicy",
    "IncidentCategory",
    "Priority",
    "StackFlowConnection",
    "StackFlowConnectionArgs",
    "SubcategoryArgs",
]
