"""The sandbox's IncidentFox config API: routes (both dialects), models, store, validation, merge rules, seed data."""
