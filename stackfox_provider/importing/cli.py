"""``stackfox import``: registered on the ``stackfox`` command line by :func:`register`."""

from __future__ import annotations

import argparse
import datetime
import json
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stackfox_provider import settings
from stackfox_provider.clients.stackflow.models import Category
from stackfox_provider.engine import LocalEngine, add_project_arguments
from stackfox_provider.errors import StackfoxError
from stackfox_provider.importing.codegen import Source, body, module_source
from stackfox_provider.importing.incidentfox import ConfigSecret, TeamDeclarations, team_declarations

DEFAULT_MODULE = "stackfox_imported.py"
SERVICES = ("stackflow", "incidentfox", "all")
DESCRIPTION = """\
Reads what the services hold, with the stack's own settings and read calls only, and writes a Python module
declaring it (default: stackfox_imported.py beside the project's __main__.py, which imports it): IncidentFox's
team settings, webhooks and MCP servers (the team's own overrides, never what it inherits) and StackFlow's
categories. The first `pulumi up` then adopts everything with no write. Secrets (MCP env and headers values,
webhook URLs that embed a credential, integrations) are read from secret stack config: the command prints the
keys to set, or sets them with --set-secrets. An existing file is replaced only with --force, and left as it is
when what was read has not changed."""


@dataclass(frozen=True)
class StackConfig:
    """The stack imported with: its name, its project's name and its config (secrets decrypted)."""

    name: str
    project: str
    values: dict[str, str]

    def ours(self, stack: str) -> bool:
        """Whether ``stack`` (org/project/stack, as the team's ownership record names it) is this one."""
        return stack.split("/")[1:] == [self.project, self.name]


@dataclass
class Read:
    """What was read, and from where."""

    categories: list[Category] | None = None
    stackflow_url: str | None = None
    team: TeamDeclarations | None = None
    incidentfox_url: str | None = None
    team_id: str | None = None


def register(commands: Any) -> None:
    """Add ``import`` to the ``stackfox`` subcommands (an ``add_subparsers()`` object)."""
    command = commands.add_parser(
        "import", help="declare what the services already hold, as a module of resources", description=DESCRIPTION
    )
    add_project_arguments(command)
    command.add_argument("--stack", help="the stack whose settings to read with (default: the selected stack)")
    command.add_argument(
        "--service", choices=SERVICES, default="all",
        help="what to import (default: all, i.e. each service the stack's settings configure)",
    )  # fmt: skip
    command.add_argument("--out", type=Path, help=f"the module to write (default: CWD/{DEFAULT_MODULE})")
    command.add_argument("--force", action="store_true", help="replace the module if it exists and differs")
    command.add_argument(
        "--set-secrets", action="store_true",
        help="write the secrets read into the stack's secret config (encrypted by Pulumi) instead of printing "
        "the keys to set",
    )  # fmt: skip
    command.set_defaults(handler=import_command)


def import_command(args: argparse.Namespace) -> int:
    """Read, generate, write; 0 when the module is written or already up to date, 1 otherwise (said on stderr)."""
    project = args.cwd.resolve()
    out = (args.out or project / DEFAULT_MODULE).resolve()
    began = time.monotonic()
    try:
        engine = LocalEngine.for_project(project, args.state_dir)
        stack = _load_stack_settings(engine, project, args.stack)
        read = _read(_services(args.service), stack)
    except StackfoxError as error:
        return _fail(str(error))
    read_at = datetime.datetime.now(datetime.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    source = Source(stack.name, read_at, read.stackflow_url, read.incidentfox_url, read.team_id)
    text = module_source(source, read.categories, read.team)
    took = f"{_what(read)} read (stack {stack.name}) in {time.monotonic() - began:.1f}s"
    for note in read.team.notes if read.team else []:
        print(f"note: left out, IncidentFox keeps it as it is: {note}", file=sys.stderr)
    if out.exists() and body(out.read_text()) == body(text):
        print(f"{took}; {out} already declares it as it is.", file=sys.stderr)
    elif out.exists() and not args.force:
        return _fail(f"{out} exists and differs from what was read; pass --force to replace it")
    else:
        out.write_text(text)
        print(f"{took}; wrote {out}. Import it from __main__.py: `import {out.stem}`.", file=sys.stderr)
    secrets = read.team.secrets() if read.team else []
    return _set_secrets(engine, project, stack, secrets) if args.set_secrets else _say_secrets(stack, secrets)


def _services(choice: str) -> list[str]:
    """The services to import: the one asked for, or (``all``) each one the stack's settings configure."""
    if choice != "all":
        return [choice]
    configured = [
        service for service, key in (("incidentfox", "incidentfoxUrl"), ("stackflow", "stackflowUrl"))
        if settings.setting(key) is not None
    ]  # fmt: skip
    if not configured:
        fox, flow = (settings.BY_KEY[key].config_key for key in ("incidentfoxUrl", "stackflowUrl"))
        raise StackfoxError(
            f"the stack configures neither service: set {fox} (and its token) or {flow} (and its "
            "credentials), or run `stackfox use-sandbox`"
        )
    return configured


def _read(services: list[str], stack: StackConfig) -> Read:
    read = Read()
    if "incidentfox" in services:
        from stackfox_provider.clients.incidentfox import incidentfox_client_for

        url = settings.require("incidentfoxUrl", "stackfox import --service incidentfox")
        token = settings.require("incidentfoxToken", "stackfox import --service incidentfox")
        client = incidentfox_client_for(
            url, token, settings.rate_limits("incidentfox"), unauthorized_hint=settings.INCIDENTFOX_UNAUTHORIZED_HINT
        )
        snapshot = client.team_overrides()
        if snapshot.source != "raw":
            raise StackfoxError(
                f"IncidentFox at {url} does not serve the team's own overrides (GET /config/me/raw), only its "
                "effective config: importing that would declare every inherited value as the team's own. "
                "Import with --service stackflow, and declare the team's settings by hand."
            )
        read.team = team_declarations(snapshot.overrides, ours=stack.ours)
        read.incidentfox_url, read.team_id = url, snapshot.team_id or client.team_id()
    if "stackflow" in services:
        from stackfox_provider.clients.stackflow import stackflow_client_for

        auth = settings.StackFlowAuthSettings.current()
        read.stackflow_url = auth.require_url()
        client_ = stackflow_client_for(read.stackflow_url, auth.credential(), settings.rate_limits("stackflow"))
        read.categories = client_.list_categories()
    return read


def _what(read: Read) -> str:
    parts = []
    if read.team is not None:
        parts.append(
            f"IncidentFox team {read.team_id} at {read.incidentfox_url} "
            f"({len(read.team.webhooks)} webhooks, {len(read.team.mcp_servers)} MCP servers"
            f"{', its settings' if read.team.team_config else ''})"
        )
    if read.categories is not None:
        parts.append(f"{len(read.categories)} categories from StackFlow at {read.stackflow_url}")
    return " and ".join(parts)


def _say_secrets(stack: StackConfig, secrets: list[ConfigSecret]) -> int:
    """Print the ``pulumi config set --secret`` steps for the secrets the stack does not hold yet (no values)."""
    missing = [secret for secret in secrets if not _held(stack, secret)]
    if missing:
        print(
            f"Before `pulumi up`, set {len(missing)} secrets the module reads (their values are not shown; "
            "pipe each from a file or stdin, or run again with --set-secrets):"
        )
        for secret in missing:
            print(f"  pulumi config set --secret --stack {stack.name} {secret.key} < FILE   # {secret.where}")
    return 0


def _set_secrets(engine: LocalEngine, project: Path, stack: StackConfig, secrets: list[ConfigSecret]) -> int:
    """Write each secret into the stack's secret config, its value on the CLI's stdin (never in its arguments)."""
    written = 0
    for secret in secrets:
        if _held(stack, secret):
            continue
        result = subprocess.run(
            [str(engine.toolchain.pulumi), "config", "set", "--secret", "--stack", stack.name, secret.key],
            input=_config_text(secret.value), cwd=project, env=engine.process_env(), capture_output=True, text=True,
            check=False,
        )  # fmt: skip
        if result.returncode != 0:
            return _fail(f"`pulumi config set --secret {secret.key}` failed: {result.stderr.strip()}")
        written += 1
    print(f"{written} secrets written to stack {stack.name}'s secret config ({len(secrets) - written} already set).")
    return 0


def _held(stack: StackConfig, secret: ConfigSecret) -> bool:
    return stack.values.get(f"{stack.project}:{secret.key}") == _config_text(secret.value)


def _config_text(value: Any) -> str:
    """A secret as stack config holds it: text as it is, anything else as JSON (``require_secret_object``)."""
    return value if isinstance(value, str) else json.dumps(value)


def _load_stack_settings(engine: LocalEngine, project: Path, stack: str | None) -> StackConfig:
    """Load ``stack``'s ``stackfox:*`` config (secrets decrypted, as the provider gets them)."""
    from pulumi import automation as auto

    workspace = auto.LocalWorkspace(**vars(engine.workspace_options(work_dir=str(project))))
    if stack is None:
        selected = workspace.stack()
        if selected is None:
            raise StackfoxError("no stack is selected: pass --stack NAME (or run `pulumi stack select` first)")
        stack = selected.name
    try:
        config = workspace.get_all_config(stack)
    except auto.CommandError as error:
        raise StackfoxError(f"cannot read the config of stack {stack}: {error}") from error
    values = {key: value.value for key, value in config.items()}
    settings.load_stack_config(values)
    return StackConfig(stack, workspace.project_settings().name, values)


def _fail(message: str) -> int:
    print(f"stackfox import: {message}", file=sys.stderr)
    return 1
