"""Load, in the background, what the first API calls of a provider process will need.

The engine calls ``check`` and ``diff`` for one resource at a time, and the first ``diff`` of each service
verifies its credentials: on its own that diff would also import httpx (~0.15 s), load the CA bundle (~0.04 s)
and, for the admin Cognito login, import boto3 (~0.15 s), while the whole run waits.
The provider process is idle for much of a run (waiting for the program and the engine), so that loading starts
at its first ``configure()``, on a daemon thread, for the services the stack's settings name. Nothing goes over
the network: a wrong setting is still reported by the call that needs it.

Then what is loaded is moved out of the garbage collector's sight (``gc.freeze()``): modules, classes and
clients live as long as the process anyway, and the engine waits for the process to exit after every run, whose
final collection would otherwise walk all of them (~0.12 s with boto3 and httpx loaded, ~0.02 s frozen).
"""

from __future__ import annotations

import gc
import importlib
import logging
import threading

from stackfox_provider import process, settings
from stackfox_provider.clients.stackflow.auth import CognitoUserPasswordAuth

log = logging.getLogger("stackfox.warm_up")

_lock = threading.Lock()
_started = False


def start() -> None:
    """Start loading, once per process."""
    global _started
    with _lock:
        if _started:
            return
        _started = True
    threading.Thread(target=_load, name="stackfox-warm-up", daemon=True).start()


def _forget() -> None:
    global _started
    with _lock:
        _started = False


process.on_reset(_forget)


def _load() -> None:
    try:
        services = [service for service in ("incidentfox", "stackflow") if settings.setting(f"{service}Url")]
        for service in services:
            importlib.import_module(f"stackfox_provider.clients.{service}.client")
        if services:
            from stackfox_provider.clients.http import default_ssl_context

            default_ssl_context()
        if "stackflow" in services:
            credential = settings.StackFlowAuthSettings.current().credential()
            if isinstance(credential, CognitoUserPasswordAuth):  # the admin flow too, which derives from it
                credential.prepare()
    except Exception as error:  # said, with its fix, by the call that needs what failed here
        log.debug("warming up the clients stopped: %s", error)
    gc.freeze()
