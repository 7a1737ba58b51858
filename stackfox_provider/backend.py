"""Where stack state goes: the backend the user chose for ``pulumi``, else stackfox's own file backend.

``pulumi`` takes its backend from, in this order, ``PULUMI_BACKEND_URL``, ``backend.url`` in the project's
``Pulumi.yaml``, and the ``current`` URL ``pulumi login`` recorded in ``credentials.json`` (in
``$PULUMI_CREDENTIALS_PATH``, ``$PULUMI_HOME`` or ``~/.pulumi``); with none of them it logs in to Pulumi Cloud
(``PULUMI_ACCESS_TOKEN``). :func:`choose_backend` asks the same questions in the same order, after stackfox's own
explicit choice (``--state-dir`` or ``$STACKFOX_STATE_DIR``). Only when the user chose nothing does stackfox keep
state in a file backend under the project, ``<project>/.stackfox``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from stackfox_provider.urls import mask_url

STATE_DIR_ENV = "STACKFOX_STATE_DIR"
#: stackfox's file backend when the user chose no backend, relative to the project directory.
DEFAULT_STATE_DIR = ".stackfox"
PULUMI_CLOUD_URL = "https://api.pulumi.com"
PROJECT_FILES = ("Pulumi.yaml", "Pulumi.yml")


@dataclass(frozen=True)
class Backend:
    """Where stacks keep their state (``url``) and what chose it (``chosen_by``).

    ``state_dir`` is set for stackfox's own file backend (stacks under ``<state_dir>/.pulumi/stacks``): stackfox
    then sets ``PULUMI_BACKEND_URL``, defaults the passphrase and, when ``pulumi_home`` is set, ``PULUMI_HOME``.
    A backend the user chose has neither: ``pulumi`` finds it, and its passphrase and ``PULUMI_HOME``, as it
    always does.
    """

    url: str
    chosen_by: str
    state_dir: Path | None = None
    pulumi_home: Path | None = None

    @classmethod
    def local(cls, state_dir: Path, chosen_by: str = "a state directory given", *, own_home: bool = True) -> Backend:
        """stackfox's file backend in ``state_dir``, with ``PULUMI_HOME`` in ``<state_dir>/home`` if ``own_home``."""
        state_dir = state_dir.resolve()
        return cls(f"file://{state_dir}", chosen_by, state_dir, state_dir / "home" if own_home else None)

    @property
    def is_stackfox_local(self) -> bool:
        """True for stackfox's own file backend, False for one the user chose."""
        return self.state_dir is not None

    def describe(self) -> str:
        """The one line stackfox prints on stderr before it runs the engine (a password in the URL masked)."""
        return f"stackfox: stack state in {mask_url(self.url)} ({self.chosen_by})"


def choose_backend(
    project_dir: Path, state_dir: Path | None = None, environ: Mapping[str, str] | None = None
) -> Backend:
    """The backend for a project: ``state_dir``, ``$STACKFOX_STATE_DIR``, the user's choice, else ``.stackfox``."""
    environ = os.environ if environ is None else environ
    if state_dir is not None:
        return Backend.local(state_dir, "--state-dir")
    if environ.get(STATE_DIR_ENV):
        return Backend.local(Path(environ[STATE_DIR_ENV]), STATE_DIR_ENV)
    chosen = users_backend(project_dir, environ)
    if chosen is not None:
        return chosen
    return Backend.local(
        project_dir / DEFAULT_STATE_DIR,
        "stackfox's default: no backend chosen with `pulumi login`, PULUMI_BACKEND_URL or Pulumi.yaml",
        own_home=not environ.get("PULUMI_HOME"),  # a PULUMI_HOME the user set stays theirs
    )


def users_backend(project_dir: Path, environ: Mapping[str, str]) -> Backend | None:
    """The backend ``pulumi`` would use in ``project_dir`` by the user's own choice, or None if they made none."""
    if environ.get("PULUMI_BACKEND_URL"):
        return Backend(environ["PULUMI_BACKEND_URL"], "PULUMI_BACKEND_URL")
    project = project_file(project_dir)
    if project is not None and (url := _project_backend_url(project)):
        return Backend(url, f"backend.url in {project}")
    credentials = credentials_file(environ)
    if url := _logged_in_url(credentials):
        return Backend(url, f"`pulumi login`, recorded in {credentials}")
    if environ.get("PULUMI_ACCESS_TOKEN"):
        return Backend(PULUMI_CLOUD_URL, "PULUMI_ACCESS_TOKEN")
    return None


def project_file(project_dir: Path) -> Path | None:
    """The ``Pulumi.yaml`` that ``pulumi`` run in ``project_dir`` uses: there or in the nearest parent."""
    for directory in (project_dir, *project_dir.parents):
        for name in PROJECT_FILES:
            if (directory / name).is_file():
                return directory / name
    return None


def credentials_file(environ: Mapping[str, str]) -> Path:
    """Where ``pulumi login`` records the current backend."""
    folder = environ.get("PULUMI_CREDENTIALS_PATH") or environ.get("PULUMI_HOME") or Path.home() / ".pulumi"
    return Path(folder).expanduser() / "credentials.json"


def _project_backend_url(project: Path) -> str | None:
    import yaml  # only here: `stackfox pulumi --state-dir` reads no Pulumi.yaml

    try:
        settings = yaml.safe_load(project.read_text())
    except (OSError, yaml.YAMLError):
        return None
    backend = settings.get("backend") if isinstance(settings, dict) else None
    url = backend.get("url") if isinstance(backend, dict) else None
    return url if isinstance(url, str) and url else None


def _logged_in_url(credentials: Path) -> str | None:
    try:
        current = json.loads(credentials.read_text()).get("current")
    except (OSError, ValueError, AttributeError):
        return None
    return current if isinstance(current, str) and current else None
