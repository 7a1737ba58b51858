"""IncidentFox's team config API (hosted and open-source dialects)."""

from stackfox_provider.clients.incidentfox.client import (
    ConcurrentWriteError,
    Identity,
    IncidentFoxClient,
    PendingApprovalError,
    TeamSnapshot,
    TeamToken,
    WriteResult,
    incidentfox_client_for,
    unwrap,
)

__all__ = [
    "ConcurrentWriteError",
    "Identity",
    "IncidentFoxClient",
    "PendingApprovalError",
    "TeamSnapshot",
    "TeamToken",
    "WriteResult",
    "incidentfox_client_for",
    "unwrap",
]
