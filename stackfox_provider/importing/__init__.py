"""``stackfox import``: declare, as stackfox resources, what the services already hold.

It reads the services with a stack's own settings (read-only) and writes a Python module of resource
declarations that the project's ``__main__.py`` imports, so that the first ``pulumi up`` adopts everything
with no write. :mod:`.codegen` turns what was read into source text and knows nothing of HTTP; :mod:`.cli`
reads and writes.
"""
