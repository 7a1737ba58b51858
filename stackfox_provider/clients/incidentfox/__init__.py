"""IncidentFox's team config API (hosted and open-source dialects).

The names below load with the client on first use (see ``clients._exports``): importing ``reset`` or
``managers`` alone loads neither the client nor httpx.
"""

from typing import TYPE_CHECKING

from stackfox_provider.clients._exports import lazy_exports

if TYPE_CHECKING:
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

if not TYPE_CHECKING:  # type checkers see the imports above, and so refuse a name that is not exported
    __getattr__ = lazy_exports(__name__, {"client": tuple(__all__)})
