"""Helpers for testing stackfox and programs that use it."""

from stackfox_provider.testing.local_file import LocalFile, LocalFileProvider

__all__ = ["LocalFile", "LocalFileProvider"]
