"""The ``crg`` command line: argument parsing and the one place that maps errors to exit codes.

Adding a subcommand is one line in :data:`COMMANDS` (see :mod:`crg.commands`).
"""

from __future__ import annotations

import argparse
import itertools
import os
import sys
import traceback
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from crg import __version__
from crg.commands import (
    check,
    cleanup,
    clear,
    conform,
    crash,
    drain,
    export,
    fmt,
    importer,
    join,
    maintenance,
    offline,
    online,
    run,
    show,
    simulate,
    status,
    switchover,
    undrain,
)
from crg.dsl import ConfigError
from crg.dsl.redact import redact
from crg.errors import ExitCode, FileError, StreamError, Terminated
from crg.output import Output

if TYPE_CHECKING:
    from crg.commands import Subparsers


class Command(Protocol):
    def register(self, subparsers: Subparsers) -> None: ...
    def run(self, args: argparse.Namespace) -> int: ...


COMMANDS: tuple[Command, ...] = (
    check, fmt, show, simulate,
    export, importer,
    run,
    status,
    switchover,
    clear,
    offline,
    online,
    drain,
    undrain,
    cleanup,
    maintenance,
    crash,
    join,
    conform,
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="crg",
        description="Cooperative resource groups: validate, prove and run high-availability "
                    "groups of VIP, application and monitors.")
    parser.add_argument("--version", action="version", version=f"crg {__version__}")
    subparsers = parser.add_subparsers(title="commands", metavar="COMMAND", required=True,
                                       dest="subcommand")
    for command in COMMANDS:
        command.register(subparsers)
    return parser


# Commands that talk to a running runtime over its control socket: they read no .crg file.
RUNTIME_COMMANDS = ("status", "switchover", "clear", "offline", "online", "drain", "undrain",
                    "cleanup", "maintenance", "crash", "join")


def misplaced_config(argv: list[str], parser: argparse.ArgumentParser) -> str | None:
    """The message for ``crg status web.crg`` and the like, else None (argparse would
    only say "unrecognized arguments"). An option's value is not a file given by
    mistake: ``--run-dir /srv/web.crg`` is a run directory."""
    if not argv or argv[0] not in RUNTIME_COMMANDS:
        return None
    takes_value = {option for action in subcommand(parser, argv[0])._actions
                   if action.nargs != 0 for option in action.option_strings}
    files = [a for previous, a in itertools.pairwise(argv)
             if a.endswith(".crg") and not a.startswith("-") and previous not in takes_value]
    if not files:
        return None
    return (f"crg {argv[0]} reads no configuration file: it asks the runtime that "
            f"`crg run` started; drop '{files[0]}' (to choose among several runtimes "
            "here: --cluster NAME)")


def main(argv: list[str] | None = None) -> int:
    arguments = sys.argv[1:] if argv is None else argv
    parser = build_parser()
    if (message := misplaced_config(arguments, parser)) is not None:
        Output().error(message)
        return ExitCode.BAD_INPUT
    try:
        args = parse(parser, arguments)
    except SystemExit as exc:  # argparse exits by itself for --help, --version and misuse
        return exc.code if isinstance(exc.code, int) else ExitCode.BAD_INPUT
    run: Callable[[argparse.Namespace], int] = args.run
    return guarded(run, args)


def parse(parser: argparse.ArgumentParser, arguments: list[str]) -> argparse.Namespace:
    """``parser.parse_args``, except that arguments left over are the subcommand's usage
    error (``crg switchover web n2 n3``): argparse hands them up to the top-level parser,
    whose usage says nothing of the subcommand's arguments."""
    args, extra = parser.parse_known_args(arguments)
    if extra:
        subcommand(parser, args.subcommand).error(f"unrecognized arguments: {' '.join(extra)}")
    return args


def subcommand(parser: argparse.ArgumentParser, name: str) -> argparse.ArgumentParser:
    """The parser of subcommand ``name`` (registered by :func:`build_parser`)."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            found: argparse.ArgumentParser = action.choices[name]
            return found
    raise LookupError(f"no subcommand {name!r}")  # build_parser registers them all


def guarded(run: Callable[[argparse.Namespace], int], args: argparse.Namespace) -> int:
    """Run a command; every exception ends here and becomes an exit code."""
    try:
        code = int(run(args))
        Output().flush()
        return code
    except StreamError as exc:  # stdout unwritable: what stays buffered must not fail again
        _silence_stdout()
        Output().problem(exc)
        return ExitCode.BAD_INPUT
    except (ConfigError, FileError) as exc:
        Output().problem(exc)
        return ExitCode.BAD_INPUT
    except KeyboardInterrupt:
        Output().print(err=True)  # end the line the ^C was echoed on
        return ExitCode.INTERRUPTED
    except Terminated:
        return ExitCode.TERMINATED
    except BrokenPipeError:
        _silence_stdout()
        return ExitCode.BROKEN_PIPE
    except Exception as exc:
        signalled = _signal_inside(exc)
        if signalled is not None:
            # Python 3.11 wraps an exception raised while a class is being defined (a
            # dataclass's __set_name__, as a module loads) in a RuntimeError: a Ctrl-C
            # there is still the operator's, not a bug of crg.
            return signalled
        out = Output()
        if os.environ.get("CRG_DEBUG") == "1":
            out.print(redact(traceback.format_exc().rstrip()), err=True)
        out.error(f"internal error: {type(exc).__name__}: {exc}")
        out.print("This is a bug in crg. Please report it with the command and the input that "
                  "caused it (run with CRG_DEBUG=1 to include a traceback).", err=True)
        return ExitCode.INTERNAL


def _silence_stdout() -> None:
    """Point stdout at /dev/null so that Python's final flush cannot fail a second time."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass  # not a real file (captured in tests): nothing will be flushed to a pipe


def _signal_inside(exc: BaseException) -> ExitCode | None:
    """The exit code of a signal an exception wraps (its cause or context, a few deep),
    or None."""
    seen: BaseException | None = exc
    for _ in range(8):
        seen = seen.__cause__ or seen.__context__ if seen is not None else None
        if isinstance(seen, KeyboardInterrupt):
            return ExitCode.INTERRUPTED
        if isinstance(seen, Terminated):
            return ExitCode.TERMINATED
    return None
