"""``crg fmt FILE... [--check] [--diff]``: rewrite configurations in the canonical layout.

Status lines go to stderr, so that ``--diff`` and formatting standard input (``-``) leave
stdout with nothing but the diff or the formatted text.
"""

from __future__ import annotations

import argparse
import difflib
from typing import TYPE_CHECKING

from crg import files
from crg.commands import add_command
from crg.dsl import ConfigError
from crg.dsl.format import format_source
from crg.errors import ExitCode, FileError
from crg.output import Output

if TYPE_CHECKING:
    from crg.commands import Subparsers


def register(subparsers: Subparsers) -> None:
    parser = add_command(
        subparsers, "fmt", summary="Format configurations canonically (comments kept)",
        description="Rewrite each FILE in the canonical layout; '-' formats standard input "
                    "to standard output.",
        exits=((ExitCode.OK, "done (--check: nothing would change)"),
               (ExitCode.VIOLATED, "--check: a file would be reformatted"),
               (ExitCode.BAD_INPUT, "a syntax error, an unreadable file or a usage error")))
    parser.add_argument("files", nargs="+", metavar="FILE", help="a .crg file, or - for stdin")
    parser.add_argument("--check", action="store_true",
                        help="change nothing; exit 1 if a file would be reformatted")
    parser.add_argument("--diff", action="store_true",
                        help="change nothing; print what would change as a unified diff")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    out = Output()
    files.stdin_once(args.files)
    changed: list[str] = []
    bad = 0
    for path in args.files:
        try:
            source = files.read(path)
            formatted = format_source(source)
        except (ConfigError, FileError) as exc:
            out.problem(exc)
            bad += 1
            continue
        if path == files.STDIN and not (args.check or args.diff):
            out.raw(formatted)
            continue
        if formatted == source.text:
            continue
        changed.append(path)
        if args.diff:
            out.raw(_diff(source.text, formatted, source.path))
        if args.check:
            out.print(f"would reformat {source.path}", err=True)
        elif not args.diff:
            files.write(path, formatted)
            out.print(f"reformatted {source.path}", err=True)
    if bad:
        return ExitCode.BAD_INPUT
    if args.check and changed:
        return ExitCode.VIOLATED
    return ExitCode.OK


def _diff(before: str, after: str, path: str) -> str:
    def lines(text: str) -> list[str]:
        # Every line newline-terminated, so that a missing final newline cannot glue the
        # diff's lines together.
        return [line if line.endswith("\n") else line + "\n"
                for line in text.splitlines(keepends=True)]

    # git's labels: a/ and b/ before the path, which for an absolute path replace its
    # leading slash (a/tmp/x.crg, not a//tmp/x.crg), so `patch -p1` applies it from /.
    name = path.lstrip("/")
    return "".join(difflib.unified_diff(lines(before), lines(after), f"a/{name}", f"b/{name}"))
