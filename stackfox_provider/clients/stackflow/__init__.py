"""Client for the StackFlow incidents API (standing incident categories and incidents)."""

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
