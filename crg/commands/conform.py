"""``crg conform FILE TRACE...``: replay runtime traces against the spec.

Exit 0 when every trace conforms, 1 at the first step that is not a transition of the
spec or breaks an invariant, 2 for an unreadable trace or one of another configuration.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, TextIO

from crg import files
from crg.commands import add_command, add_format
from crg.errors import ExitCode, FileError
from crg.output import Output, count
from crg.runtime.conform import Result, TraceError, check

if TYPE_CHECKING:
    from crg.commands import Subparsers


def register(subparsers: Subparsers) -> None:
    parser = add_command(
        subparsers, "conform", summary="Check that runtime traces follow the spec",
        description="Replay each TRACE (written by crg run --trace) against the spec of "
                    "FILE and report the first step that is not a legal transition or "
                    "breaks an invariant.",
        exits=((ExitCode.OK, "every trace conforms"),
               (ExitCode.VIOLATED, "a step is not a transition of the spec, or breaks an "
                                   "invariant (TRACE:LINE names it)"),
               (ExitCode.BAD_INPUT, "an invalid configuration, an unreadable trace, or a "
                                    "trace of another configuration")))
    parser.add_argument("file", metavar="FILE", help="the .crg configuration that ran")
    parser.add_argument("traces", metavar="TRACE", nargs="+",
                        help="a trace file, or - for standard input")
    add_format(parser, ("text", "json"), "text")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    out = Output()
    files.stdin_once([args.file, *args.traces])
    config = files.load(args.file)
    results: list[tuple[str, Result]] = []
    for path in args.traces:
        try:
            with _opened(path) as handle:
                results.append((path, check(config, handle)))
        except OSError as exc:
            raise FileError(path, exc.strerror or str(exc)) from None
        except TraceError as exc:
            out.error(f"{files.shown(path)}: {exc}")
            return ExitCode.BAD_INPUT
        except UnicodeDecodeError:
            out.error(f"{files.shown(path)}: not a trace: it is not UTF-8 text (crg writes "
                      "its traces as JSON lines)")
            return ExitCode.BAD_INPUT
    if args.format == "json":
        out.json({"traces": [_as_dict(path, r) for path, r in results]})
    else:
        for path, result in results:
            name = files.shown(path)  # <stdin> for -, as every message of crg names it
            for warning in result.warnings:
                out.print(f"{name}: warning: {warning}", err=True)
            if result.conforms:
                out.print(f"{name}: conforms ({count(result.steps, 'transition')}, "
                          f"{count(result.settled, 'settled state')})")
            else:
                out.print(f"{name}:{result.line}: {result.problem}")
    return ExitCode.OK if all(r.conforms for _, r in results) else ExitCode.VIOLATED


@contextlib.contextmanager
def _opened(path: str) -> Iterator[TextIO]:
    """The trace ``path`` as UTF-8 text; ``-`` is standard input (``ssh n1 cat
    /var/lib/crg/trace.jsonl | crg conform web.crg -``), as for every file crg reads."""
    if path != files.STDIN:
        with open(path, encoding="utf-8") as handle:
            yield handle
        return
    if sys.stdin is None:  # started with standard input closed (<&-)
        raise FileError(path, "standard input is closed")
    handle = io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8")
    try:
        yield handle
    finally:
        handle.detach()  # sys.stdin's buffer is not this wrapper's to close


def _as_dict(path: str, result: Result) -> dict[str, Any]:
    return {"path": path, "conforms": result.conforms, "steps": result.steps,
            "settled": result.settled, "problem": result.problem, "line": result.line,
            "warnings": result.warnings}
