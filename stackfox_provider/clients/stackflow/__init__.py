"""Client for the StackFlow incidents API (standing incident categories and incidents).

The names below load with their module on first use (see ``clients._exports``): importing ``auth`` alone
loads neither the client nor httpx.
"""

from typing import TYPE_CHECKING

from stackfox_provider.clients._exports import lazy_exports

if TYPE_CHECKING:
    from stackfox_provider.clients.stackflow.client import (
        CategorySnapshot,
        ConflictError,
        NotFoundError,
        PreconditionFailed,
        StackFlowClient,
        reset_stackflow_clients,
        stackflow_client_for,
    )
    from stackfox_provider.clients.stackflow.models import Category, Incident, Priority, Subcategory

__all__ = [
    "Category",
    "CategorySnapshot",
    "ConflictError",
    "Incident",
    "NotFoundError",
    "PreconditionFailed",
    "Priority",
    "StackFlowClient",
    "Subcategory",
    "reset_stackflow_clients",
    "stackflow_client_for",
]

if not TYPE_CHECKING:  # type checkers see the imports above, and so refuse a name that is not exported
    __getattr__ = lazy_exports(
        __name__,
        {
            "client": ("CategorySnapshot", "ConflictError", "NotFoundError", "PreconditionFailed", "StackFlowClient",
                       "reset_stackflow_clients", "stackflow_client_for"),
            "models": ("Category", "Incident", "Priority", "Subcategory"),
        },
    )  # fmt: skip
