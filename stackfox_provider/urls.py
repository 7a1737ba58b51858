"""URLs as stackfox shows them. Standard library only: the ``stackfox`` command masks the backend URL it names
before it runs ``pulumi``, and imports nothing of the provider for that."""

from __future__ import annotations


def mask_url(url: str) -> str:
    """``url`` with any ``user:password@`` replaced by ``***@`` (a lone user name may be a token too)."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url
    authority, slash, tail = rest.partition("/")
    _, at, host = authority.rpartition("@")
    if not at:
        return url
    return f"{scheme}://***@{host}{slash}{tail}"
