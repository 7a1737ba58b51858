"""API clients for the services stackfox manages. Nothing here knows about Pulumi."""
