"""The stackfox sandbox: a local, persistent stand-in for StackFlow and IncidentFox with real Cognito tokens.

Install with the ``sandbox`` extra; start it with ``stackfox sandbox start`` (or ``python -m stackfox_sandbox
sandbox start``); tests use the fixtures in :mod:`stackfox_sandbox.testing`.
"""

__all__: list[str] = []
