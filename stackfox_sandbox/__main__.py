"""``python -m stackfox_sandbox sandbox start|stop|status|serve``: the same as ``stackfox sandbox ...``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from stackfox_sandbox.cli import register


def main(argv: Sequence[str] | None = None) -> int:
    """Parse and run."""
    parser = argparse.ArgumentParser(prog="python -m stackfox_sandbox")
    register(parser.add_subparsers(title="commands", metavar="COMMAND", required=True))
    args = parser.parse_args(argv)
    code: int = args.handler(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
