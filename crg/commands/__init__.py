"""The subcommands of ``crg``: one module each, registered in :data:`crg.cli.COMMANDS`.

A command module has ``register(subparsers) -> None``, which adds its parser and sets
``run`` as its default, and ``run(args) -> int``, which returns an :class:`ExitCode`.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, TypeAlias

if TYPE_CHECKING:  # generic only in typeshed, not at run time
    Subparsers: TypeAlias = argparse._SubParsersAction[argparse.ArgumentParser]


def add_format(parser: argparse.ArgumentParser, choices: tuple[str, ...],
               default: str) -> None:
    parser.add_argument("--format", choices=choices, default=default,
                        help=f"output format (default: {default})")
