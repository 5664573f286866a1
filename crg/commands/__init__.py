"""The subcommands of ``crg``: one module each, registered in :data:`crg.cli.COMMANDS`.

A command module has ``register(subparsers) -> None``, which adds its parser (through
:func:`add_command`, so that every ``--help`` looks alike) and sets ``run`` as its
default, and ``run(args) -> int``, which returns an :class:`ExitCode`.
"""

from __future__ import annotations

import argparse
import re
import textwrap
from collections.abc import Sequence
from typing import TYPE_CHECKING, TypeAlias

from crg.errors import ExitCode

if TYPE_CHECKING:  # generic only in typeshed, not at run time
    Subparsers: TypeAlias = argparse._SubParsersAction[argparse.ArgumentParser]

Exits = Sequence[tuple[ExitCode, str]]

COMMON_EXITS: Exits = (
    (ExitCode.INTERNAL, "a bug in crg (please report it; CRG_DEBUG=1 shows a traceback)"),
    (ExitCode.INTERRUPTED, "interrupted (Ctrl-C), at any moment"),
    (ExitCode.TERMINATED, "terminated (SIGTERM), at any moment"),
)
"""What every command may exit with besides its own codes."""


class _HelpFormatter(argparse.HelpFormatter):
    """Descriptions wrapped as usual; the exit status keeps one code per line."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        lines = []
        for line in text.splitlines():
            if line.startswith("  "):  # a code and its meaning
                lines.append(textwrap.fill(line, width, initial_indent=indent,
                                           subsequent_indent=indent + " " * 7))
            else:
                lines.append(textwrap.fill(line, width, initial_indent=indent,
                                           subsequent_indent=indent))
        return "\n".join(lines)

    def _format_args(self, action: argparse.Action, default_metavar: str) -> str:
        # argparse has no "one or two": an action that takes them says so, and reads
        # "GROUP [NODE]" instead of nargs='+''s "GROUP [NODE ...]".
        if getattr(action, "one_or_two", False) and isinstance(action.metavar, tuple):
            first, second = action.metavar
            return f"{first} [{second}]"
        return super()._format_args(action, default_metavar)


def exit_status(exits: Exits) -> str:
    codes = sorted([*exits, *(c for c in COMMON_EXITS if c[0] not in dict(exits))],
                   key=lambda c: int(c[0]))
    return "exit status:\n" + "\n".join(f"  {int(code):<5}{meaning}" for code, meaning in codes)


def add_command(subparsers: Subparsers, name: str, *, summary: str, description: str,
                exits: Exits) -> argparse.ArgumentParser:
    """A subcommand with the house style of ``--help``: ``summary`` is its line in
    ``crg --help`` and ``description`` its paragraph (both capitalised sentences), and
    the epilog lists every exit code it may end with (``exits``, and those of
    :data:`COMMON_EXITS` it does not word otherwise), in order."""
    return subparsers.add_parser(name, help=summary, description=description,
                                 epilog=exit_status(exits), formatter_class=_HelpFormatter)


def add_format(parser: argparse.ArgumentParser, choices: tuple[str, ...],
               default: str) -> None:
    parser.add_argument("--format", choices=choices, default=default,
                        help=f"output format (default: {default})")


def negative_values_are_values(parser: argparse.ArgumentParser) -> None:
    """Let ``-5s`` and ``-1G`` through as the value of an option of ``parser``, so that the
    option's check can say that it is negative. argparse takes only ``-5`` and ``-.5`` for
    values: ``--memory -1G`` would be "expected one argument", as if the value were
    missing. ``parser`` must have no option that starts with a dash and a digit."""
    parser._negative_number_matcher = re.compile(r"^-\.?\d")
