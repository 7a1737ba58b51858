"""The root of every error stackfox raises on purpose, so callers can tell its refusals from bugs.

* :class:`StackfoxError`: every error below derives from it. The API, token, toolchain and review errors are
  defined next to their code.
* :class:`SettingsError`: a setting is missing, incomplete or not valid; the message names where it is set.
* :class:`RefusedError`: stackfox stopped rather than lose or overwrite something the service holds (a
  path another stack manages, a category that differs, a token of another team). The message says what
  was found and how to go on.
"""

from __future__ import annotations


class StackfoxError(Exception):
    """An error stackfox raises on purpose; its message names what to fix."""


class RefusedError(StackfoxError):
    """stackfox stopped before a write that would lose or overwrite something; the message says how to go on."""


class SettingsError(StackfoxError, ValueError):
    """A setting stackfox needs is missing from stack config and the environment, or is not valid."""
