"""The command-line side of the control API, shared by ``crg status``, the operator
commands (``crg switchover``, ``offline``/``online``, ``drain``/``undrain``,
``cleanup``, ``maintenance``) and ``crg crash``/``join``.

It lives with the commands, not in ``crg.runtime``: it reports through
:class:`crg.output.Output` and :class:`crg.errors.ExitCode`, which no lower layer may
import."""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from crg.commands import Exits, add_command, negative_values_are_values
from crg.dsl.builder import duration_ms
from crg.dsl.diagnostics import did_you_mean
from crg.errors import ExitCode, StreamError
from crg.output import Output
from crg.runtime.control import (
    OWN_RUN_DIR,
    ControlError,
    NoRuntime,
    Unanswered,
    find_socket,
    request,
)
from crg.runtime.operator import MAX_TIMEOUT_S
from crg.runtime.rundir import base_dir

if TYPE_CHECKING:
    from crg.commands import Subparsers

DEFAULT_TIMEOUT = "60s"
ANSWER_MARGIN_S = 15.0
"""How much longer than ``--timeout`` the client waits for the runtime's answer."""

RESULT_CODES = {"done": ExitCode.OK, "accepted": ExitCode.OK, "refused": ExitCode.REFUSED,
                "unsettled": ExitCode.UNFINISHED, "otherwise": ExitCode.UNFINISHED}
"""The runtime's ``result`` of an operator command (crg.runtime.operator) -> exit code."""

OPERATOR_EXITS = (
    (ExitCode.OK, "accepted, and (with --wait) its groups came to rest as it asked"),
    (ExitCode.BAD_INPUT, "bad input: an unknown group or node (with a did-you-mean), no "
                         "runtime running here, or the runtime stopped before it answered "
                         "(whether the command was taken is then not known)"),
    (ExitCode.REFUSED, "refused: the command cannot take effect now (the reason is printed: "
                       "a node down, banned, drained or not a candidate, switching disabled, "
                       "nothing to do, the group not at rest within --timeout, the store "
                       "out of reach); nothing changed"),
    (ExitCode.UNFINISHED, "accepted, but its groups did not come to rest as it asked within "
                          "--timeout (what they did is printed; the command stays in force); "
                          "or, of several groups, some taken and some refused (each is said); "
                          "or the store stopped answering meanwhile (whether it was taken, or "
                          "came to rest, is not known: it says so)"),
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    where = parser.add_argument_group("which runtime (default: the only one running here)")
    where.add_argument("--cluster", metavar="NAME", help="the cluster's name")
    where.add_argument("--run-dir", metavar="DIR", type=run_dir_argument,
                       help="the run directory given to crg run")


def run_dir_argument(text: str) -> str:
    """``--run-dir``: a path, never empty. crg run took '' for its default and the other
    commands for the current directory, so a script with an unset variable started a
    runtime that its own commands could not reach."""
    if not text.strip():
        raise argparse.ArgumentTypeError("an empty path: give the directory, or leave "
                                         "--run-dir out for the default")
    return text


def add_wait_arguments(parser: argparse.ArgumentParser) -> None:
    wait = parser.add_argument_group("following the command")
    wait.add_argument("--wait", dest="wait", action="store_true", default=True,
                      help="follow the command until its groups come to rest and print "
                           "where they are (the default)")
    wait.add_argument("--no-wait", dest="wait", action="store_false",
                      help="return as soon as the command is accepted")
    wait.add_argument("--timeout", metavar="DURATION", type=wait_timeout,
                      default=DEFAULT_TIMEOUT,
                      help="how long to wait for a group to come to rest, before the command "
                           "is accepted and (with --wait) after (default: "
                           f"{DEFAULT_TIMEOUT}, at most {_LONGEST}; e.g. 90s, 2m)")
    # so that wait_timeout can say that a negative timeout is a bad value
    negative_values_are_values(parser)


_DURATION = re.compile(r"(?:\d+(?:ms|s|m|h))+|\d+(?:\.\d+)?")


def duration(text: str) -> str:
    """``text`` if it is a duration (``30s``, ``2m``, ``500ms`` or seconds), else a usage
    error."""
    if not _DURATION.fullmatch(text):
        raise argparse.ArgumentTypeError(f"not a duration: '{text}' (e.g. 30s, 2m, 500ms)")
    return text


_LONGEST = f"{MAX_TIMEOUT_S / 3600:g}h"
"""The longest ``--timeout``: the runtime's limit (it refuses a request that asks for more),
in the words of a duration."""


def wait_timeout(text: str) -> str:
    """``text`` if it is a duration the runtime accepts as a timeout (0 up to
    MAX_TIMEOUT_S), else a usage error: the runtime's answer to one out of range reads as
    a bad request, and one too large for a socket's timeout would not even be sent."""
    if text.startswith("-"):
        raise argparse.ArgumentTypeError(f"'{text}' is negative: a timeout is a duration "
                                         f"from 0 to {_LONGEST} (e.g. 30s, 2m)")
    if seconds(duration(text)) > MAX_TIMEOUT_S:
        raise argparse.ArgumentTypeError(f"'{text}' is too long: a timeout is a duration "
                                         f"from 0 to {_LONGEST} (e.g. 30s, 2m)")
    return text


def seconds(text: str) -> float:
    """``30s``, ``1m30s``, ``500ms`` or a plain number of seconds."""
    return float(text) if re.fullmatch(r"\d+(?:\.\d+)?", text) else duration_ms(text) / 1000


def call(args: argparse.Namespace, op: str, *params: str, timeout_s: float | None = None,
         **fields: Any) -> dict[str, Any]:
    """Send one request; raises ControlError with a message for the operator."""
    path = socket_of(args)
    payload = {"op": op, "args": list(params), **fields}
    if args.cluster is not None:
        payload["cluster"] = args.cluster  # the runtime refuses if it runs another one
    if timeout_s is None:
        return request(path, payload)
    return request(path, payload, timeout_s=timeout_s)


def socket_of(args: argparse.Namespace) -> Path:
    """The control socket ``--run-dir``/``--cluster`` name (or the only one); a
    ``--cluster`` that runs nowhere here gets the names that do, with a did-you-mean."""
    path = find_socket(args.run_dir, args.cluster)
    if args.run_dir is None and args.cluster is not None and not path.exists():
        base = base_dir()
        running = sorted(p.parent.name for p in base.glob(f"*/{path.name}")) \
            if base.is_dir() else []
        if not running:
            raise NoRuntime(f"no crg runtime of cluster '{args.cluster}' is running here "
                            f"(no socket {path}), nor of any other cluster under {base}; "
                            f"{OWN_RUN_DIR}")
        hint = did_you_mean(args.cluster, running)
        raise NoRuntime(f"no crg runtime of cluster '{args.cluster}' is running here "
                        f"(no socket {path})" + (f"; {hint}" if hint else "")
                        + f" (running here: {', '.join(running)}); {OWN_RUN_DIR}")
    return path


def command(op: str, *names: str, every: str | None = None
            ) -> Callable[[argparse.Namespace], int]:
    """A ``run`` function for a command that sends ``op`` with the named arguments (a name
    ending in ``s`` is a list) and prints the runtime's answer. ``every``: the name of a
    flag that stands for every group (``--all``)."""

    def run(args: argparse.Namespace) -> int:
        out = Output()
        params: list[str] = []
        for name in names:
            value = getattr(args, name)
            if isinstance(value, list):
                params.extend(value)
            elif value is not None:
                params.append(value)
        fields: dict[str, Any] = {}
        timeout_s = None
        if hasattr(args, "wait"):
            wait_s = seconds(args.timeout)
            fields = {"wait": args.wait, "timeout": wait_s}
            timeout_s = wait_s + ANSWER_MARGIN_S
        if every is not None:
            fields["all"] = bool(getattr(args, every))
        try:
            answer = call(args, op, *params, timeout_s=timeout_s, **fields)
        except Unanswered as exc:
            out.error(f"{exc}; whether {op.replace('-', ' ')} was taken before is not "
                      "known: crg status says where the groups are once a runtime runs")
            return ExitCode.BAD_INPUT
        except ControlError as exc:
            out.error(str(exc))
            return ExitCode.BAD_INPUT
        message = str(answer.get("message", "done"))
        result = str(answer.get("result", "done"))
        try:
            for line in message.splitlines():
                out.print(line, err=result == "refused")
            out.flush()  # a full disk shows here, and is said with what the runtime did
        except StreamError as exc:
            words = [op.replace("-", " "), *params, *(["--all"] if fields.get("all") else [])]
            typed = " ".join(words)
            raise StreamError(exc.path, f"{exc.reason}; {outcome(typed, result)}") from None
        return RESULT_CODES.get(result, ExitCode.OK)

    return run


def outcome(typed: str, result: str) -> str:
    """What the runtime did with the command ``typed`` (``switchover web n2``) whose
    answer, ``result``, could not be printed: the operator must not give it again
    blindly, as if it had failed."""
    if result == "refused":
        return (f"the runtime refused {typed} all the same (its reason is above): nothing "
                "was changed")
    if result in ("done", "accepted"):
        did = "carried out" if result == "done" else "took"
        return (f"the runtime {did} {typed} all the same: do not give it again; crg status "
                "shows where the groups are")
    return (f"the runtime took {typed} all the same, though not all of it came about as "
            "asked (within --timeout): do not give it again; crg status shows where the "
            "groups are")


def usage(args: argparse.Namespace, message: str) -> int:
    """A usage mistake argparse cannot see: the message, exit code 2."""
    Output().error(message)
    return ExitCode.BAD_INPUT


def register(subparsers: Subparsers, op: str, *, summary: str, description: str,
             arguments: Sequence[tuple[str, str]], exits: Exits = OPERATOR_EXITS,
             wait: bool = True) -> argparse.ArgumentParser:
    """Register a command ``op ARG...`` that the runtime carries out (each argument:
    (name, help); a name ending in ``?`` is optional), with ``--wait``/``--no-wait`` and
    ``--timeout`` when ``wait``."""
    parser = add_command(subparsers, op, summary=summary, description=description,
                         exits=exits)
    names = []
    for name, text in arguments:
        optional = name.endswith("?")
        name = name.rstrip("?")
        names.append(name)
        parser.add_argument(name, metavar=name.upper(), help=text,
                            nargs="?" if optional else None)
    if wait:
        add_wait_arguments(parser)
    add_arguments(parser)
    parser.set_defaults(run=command(op, *names))
    return parser
