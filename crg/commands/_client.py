"""The command-line side of the control API, shared by ``crg status``, ``crg switchover``,
``crg offline``/``online``, ``crg drain``/``undrain`` and ``crg crash``/``join``.

It lives with the commands, not in ``crg.runtime``: it reports through
:class:`crg.output.Output` and :class:`crg.errors.ExitCode`, which no lower layer may
import."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from crg.errors import ExitCode
from crg.output import Output
from crg.runtime.control import ControlError, find_socket, request


def add_arguments(parser: argparse.ArgumentParser) -> None:
    where = parser.add_argument_group("which runtime (default: the only one running here)")
    where.add_argument("--cluster", metavar="NAME", help="the cluster's name")
    where.add_argument("--run-dir", metavar="DIR", help="the run directory given to crg run")


def call(args: argparse.Namespace, op: str, *params: str) -> dict[str, Any]:
    """Send one request; raises ControlError with a message for the operator."""
    path = find_socket(args.run_dir, args.cluster)
    return request(path, {"op": op, "args": list(params)})


def command(op: str, *names: str) -> Callable[[argparse.Namespace], int]:
    """A ``run`` function for a command that sends ``op`` with the named arguments and
    prints the runtime's answer."""

    def run(args: argparse.Namespace) -> int:
        out = Output()
        try:
            answer = call(args, op, *(getattr(args, n) for n in names))
        except ControlError as exc:
            out.error(str(exc))
            return ExitCode.BAD_INPUT
        out.print(str(answer.get("message", "done")))
        return ExitCode.OK

    return run


def simple(subparsers: Any, op: str, help_text: str, *arguments: tuple[str, str]) -> None:
    """Register a command ``op ARG...`` (each argument: (name, help))."""
    parser = subparsers.add_parser(op, help=help_text, description=help_text)
    for name, text in arguments:
        parser.add_argument(name, metavar=name.upper(), help=text)
    add_arguments(parser)
    parser.set_defaults(run=command(op, *(name for name, _ in arguments)))
