"""Fixtures shared by every test suite: the local sandbox (``stackfox_sandbox.testing``)."""

pytest_plugins = ["stackfox_sandbox.testing"]
