"""``stackfox import``: registered on the ``stackfox`` command line by :func:`register`."""

from __future__ import annotations

import argparse
import datetime
import sys
import time
from pathlib import Path
from typing import Any

from stackfox_provider import settings
from stackfox_provider.engine import LocalEngine, add_project_arguments
from stackfox_provider.errors import StackfoxError
from stackfox_provider.importing.codegen import Source, body, module_source

DEFAULT_MODULE = "stackfox_imported.py"
SERVICES = ("stackflow", "incidentfox", "all")
DESCRIPTION = """\
Reads what StackFlow holds, with the stack's own settings and read calls only, and writes a Python module
declaring it (default: stackfox_imported.py beside the project's __main__.py, which imports it). The first
`pulumi up` then adopts every category with no write. An existing file is replaced only with --force, and left
as it is when what was read has not changed. IncidentFox teams are not imported yet."""


def register(commands: Any) -> None:
    """Add ``import`` to the ``stackfox`` subcommands (an ``add_subparsers()`` object)."""
    command = commands.add_parser(
        "import", help="declare what the services already hold, as a module of resources", description=DESCRIPTION
    )
    add_project_arguments(command)
    command.add_argument("--stack", help="the stack whose settings to read with (default: the selected stack)")
    command.add_argument("--service", choices=SERVICES, default="stackflow", help="what to import (default: stackflow)")
    command.add_argument("--out", type=Path, help=f"the module to write (default: CWD/{DEFAULT_MODULE})")
    command.add_argument("--force", action="store_true", help="replace the module if it exists and differs")
    command.set_defaults(handler=import_command)


def import_command(args: argparse.Namespace) -> int:
    """Read, generate, write; 0 when the module is written or already up to date, 1 otherwise (said on stderr)."""
    if args.service != "stackflow":
        return _fail(
            "only StackFlow categories can be imported so far (--service stackflow); declare IncidentFox's "
            "TeamConfig, Webhook and McpServer resources by hand"
        )
    project = args.cwd.resolve()
    out = (args.out or project / DEFAULT_MODULE).resolve()
    began = time.monotonic()
    try:
        stack = _load_stack_settings(LocalEngine.for_project(project, args.state_dir), project, args.stack)
        auth = settings.StackFlowAuthSettings.current()
        url = auth.require_url()
        from stackfox_provider.clients.stackflow import stackflow_client_for

        categories = stackflow_client_for(url, auth.credential(), settings.rate_limits("stackflow")).list_categories()
    except StackfoxError as error:
        return _fail(str(error))
    read_at = datetime.datetime.now(datetime.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    text = module_source(Source(stack=stack, stackflow_url=url, read_at=read_at), categories)
    seconds = time.monotonic() - began
    took = f"{len(categories)} categories read from StackFlow at {url} (stack {stack}) in {seconds:.1f}s"
    if out.exists():
        if body(out.read_text()) == body(text):
            print(f"{took}; {out} already declares them as they are.", file=sys.stderr)
            return 0
        if not args.force:
            return _fail(f"{out} exists and differs from what was read; pass --force to replace it")
    out.write_text(text)
    print(f"{took}; wrote {out}. Import it from __main__.py: `import {out.stem}`.", file=sys.stderr)
    return 0


def _load_stack_settings(engine: LocalEngine, project: Path, stack: str | None) -> str:
    """Load ``stack``'s ``stackfox:*`` config (secrets decrypted, as the provider gets them); its name."""
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
    settings.load_stack_config({key: value.value for key, value in config.items()})
    return stack


def _fail(message: str) -> int:
    print(f"stackfox import: {message}", file=sys.stderr)
    return 1
