"""``crg run FILE``: run the configuration's groups on this machine (see README, "crg run").

Embedded by default: every node of FILE is an agent in this process, sharing an
in-memory store, with VIPs in 127.0.0.0/8 (the ``loopback`` address driver).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from crg import files
from crg.commands import add_command, negative_values_are_values
from crg.commands._client import run_dir_argument
from crg.config_trust import others_can_change
from crg.dsl.builder import duration_ms
from crg.dsl.diagnostics import ConfigError, Diagnostic, headline
from crg.dsl.model import Config
from crg.dsl.redact import redact
from crg.dsl.source import Source
from crg.errors import ExitCode, FileError
from crg.output import Output
from crg.program_trust import untrusted
from crg.runtime import launch, rundir
from crg.runtime.address.privileges import privilege_problem
from crg.runtime.endpoint.server import HttpAddressError, parse_address
from crg.runtime.linefile import open_output, user_name
from crg.runtime.logs import FORMATS, JournalFormatter, JsonFormatter, chosen
from crg.runtime.operator import CommandError
from crg.runtime.records import RecordError
from crg.runtime.rundir import RunDirError
from crg.runtime.store.access import PASSWORD_ENV, AccessError, StoreAccess, read_password
from crg.runtime.store.base import StoreError

if TYPE_CHECKING:
    from crg.commands import Subparsers


def register(subparsers: Subparsers) -> None:
    parser = add_command(
        subparsers, "run",
        summary="Run the groups of FILE (every node in this process by default)",
        description="Run the configuration: one agent per node executing the spec's rules, "
                    "real application processes, monitors, VIPs and events. Ctrl-C or "
                    "SIGTERM halts every group in order and exits; a second one kills "
                    "everything at once.",
        # Ctrl-C drains as SIGTERM does but exits 130, as any interrupted crg command.
        exits=((ExitCode.OK, "stopped by SIGTERM after every group halted in order"),
               (ExitCode.BAD_INPUT, "nothing started: an invalid configuration or option, "
                                    "a run directory in use, a store or an address that "
                                    "cannot be had"),
               (ExitCode.INTERRUPTED, "stopped by Ctrl-C (SIGINT) after every group halted "
                                      "in order; a second Ctrl-C or SIGTERM while draining: "
                                      "everything killed at once; or Ctrl-C before the "
                                      "cluster runs"),
               (ExitCode.TERMINATED, "SIGTERM before the cluster runs")))
    parser.add_argument("file", metavar="FILE", help="a .crg configuration")
    parser.add_argument("--address", choices=launch.ADDRESS_DRIVERS, default="loopback",
                        help="how VIPs are held: loopback (127.0.0.0/8 and ::1, no "
                             "privileges; the default), null (dry run), linux (real "
                             "addresses, needs CAP_NET_ADMIN and CAP_NET_RAW)")
    parser.add_argument("--garp-refresh", metavar="DURATION",
                        help="with --address linux: announce every held VIP again this "
                             "often (e.g. 60s), for switches that forget addresses that "
                             "stay silent; off by default")
    parser.add_argument("--node", metavar="NODE",
                        help="run only this node's agent (one per host), coordinated with "
                             "the others through --store")
    parser.add_argument("--start-wait", metavar="DURATION",
                        help="with --node: at a cold start (no group placed yet), wait up "
                             "to this long (e.g. 60s) for every node to register before "
                             "placing any group, so that groups start on their preferred "
                             "nodes rather than on the first host up, with no last-node "
                             "alert meanwhile; off by default")
    parser.add_argument("--store", metavar="URL",
                        help="with --node: the shared coordination store, etcd://HOST:PORT,... "
                             "(etcds://... for TLS)")
    parser.add_argument("--store-ca", metavar="FILE",
                        help="etcds: CA certificates (PEM) etcd's certificate must chain to "
                             "(default: the system's)")
    parser.add_argument("--store-cert", metavar="FILE",
                        help="etcds: a client certificate (PEM), with --store-key")
    parser.add_argument("--store-key", metavar="FILE",
                        help="etcds: the client certificate's private key (PEM)")
    parser.add_argument("--store-user", metavar="USER",
                        help="etcd user to log in as; the password comes from "
                             f"--store-password-file or ${PASSWORD_ENV}, never the "
                             "command line")
    parser.add_argument("--store-password-file", metavar="FILE",
                        help="a file whose first line is the etcd user's password")
    parser.add_argument("--run-dir", metavar="DIR", type=run_dir_argument,
                        help="control socket and logs (default: $XDG_RUNTIME_DIR/crg/CLUSTER "
                             "or /tmp/crg-UID/CLUSTER)")
    parser.add_argument("--trace", metavar="FILE",
                        help="write the spec-level transitions as JSON lines (for crg conform)")
    parser.add_argument("--events", metavar="FILE",
                        help="append every event (service up/down, alerts...) as JSON lines")
    parser.add_argument("--json", action="store_true",
                        help="print the events as JSON lines on standard output")
    parser.add_argument("--http", metavar="HOST:PORT",
                        help="serve /metrics (Prometheus), /health and /groups/NAME over "
                             "HTTP; embedded, FILE's nodes on PORT, PORT + 1... in their order "
                             "(off by default)")
    parser.add_argument("--log-format", choices=FORMATS, default="auto",
                        help="text, journal (syslog priorities, no timestamp: for "
                             "journald), json (one object per line); auto: journal when "
                             "standard error is the journal, else text")
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="log every cycle, also those with nothing to do")
    # so that the checks of --start-wait and --garp-refresh say what is wrong with `-5s`
    negative_values_are_values(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    out = Output()

    def error(message: str) -> None:
        fatal(out, args.log_format, message)

    try:
        config = files.load(args.file)
    except FileError as exc:
        error(str(exc))
        return ExitCode.BAD_INPUT
    except ConfigError as exc:
        diagnose(out, args.log_format, exc.source, exc.diagnostics, with_summary=True)
        return ExitCode.BAD_INPUT
    if args.file != files.STDIN and (why := others_can_change(args.file)) is not None:
        error(f"{args.file}: crg run takes no configuration another user could change "
              f"(its commands would run as {user_name(os.geteuid())}): {why}")
        return ExitCode.BAD_INPUT
    if planted := untrusted(config):
        diagnose(out, args.log_format, config.source, planted)
        return ExitCode.BAD_INPUT
    diagnose(out, args.log_format, config.source, config.warnings)
    # Every process crg starts (applications, hooks, alert commands, the fencing watchdog)
    # inherits its environment: the store's password leaves it before any is started, so
    # that none of them can log it or write the cluster's store with it.
    password = os.environ.pop(PASSWORD_ENV, None)
    # The password is read here first; a regular --store-password-file is read again
    # only when etcd refuses it (a rotation), never a pipe (/dev/stdin, <(pass show
    # etcd)), which a second read would find empty (crg.runtime.store.access).
    try:
        access = store_access(args, {PASSWORD_ENV: password} if password else {})
    except AccessError as exc:
        error(str(exc))
        return ExitCode.BAD_INPUT
    problems = refusals(args, config, access)
    if problems:
        for problem in problems:
            error(problem)
        return ExitCode.BAD_INPUT
    run_dir = (Path(args.run_dir) if args.run_dir
               else rundir.run_dir_for(config.cluster.name, args.node))
    # The run directory itself must be private (crg.runtime.rundir); a directory above it
    # that another user may change lets them swap it for their own after the start (and
    # read the applications' output in its logs). The default base's parent is /tmp or
    # $XDG_RUNTIME_DIR: sticky, or the user's.
    if args.run_dir and (why := others_can_change(str(run_dir.absolute().parent))):
        error(f"--run-dir {run_dir}: another user could replace it: {why}")
        return ExitCode.BAD_INPUT
    options = launch.Options(run_dir=run_dir, default_run_dir=not args.run_dir,
                             address=args.address, node=args.node,
                             store=args.store, store_access=access,
                             trace=Path(args.trace) if args.trace else None,
                             events=Path(args.events) if args.events else None,
                             json=args.json, verbose=args.verbose, http=args.http,
                             garp_refresh_s=optional_seconds(args.garp_refresh),
                             start_wait_s=optional_seconds(args.start_wait) or 0.0)
    launch.setup_logging(args.verbose, args.log_format)
    try:
        return asyncio.run(launch.serve(config, options))
    except (RunDirError, CommandError, StoreError) as exc:
        error(str(exc))
        return ExitCode.BAD_INPUT
    except RecordError as exc:  # only before anything started (launch.serve)
        error(f"the store holds a record crg cannot read: {exc} (written by something "
              "other than crg? until it is repaired no agent can decide anything)")
        return ExitCode.BAD_INPUT
    except OSError as exc:  # only before anything started (launch.serve)
        error(os_problem(exc, options))
        return ExitCode.BAD_INPUT
    finally:
        launch.flush_logging()


def fatal(out: Output, log_format: str, message: str) -> None:
    """The error that ends ``crg run``, as the last line of its log: in the log's shape
    (``--log-format``), so that under systemd the journal files it as an error (``<3>``)
    and ``journalctl -p warning`` shows why the service failed, and a JSON log stays JSON.
    What the log still holds is written first: this line comes last."""
    launch.flush_logging()
    shape = chosen(log_format, sys.stderr)
    if shape not in ("journal", "json"):
        out.error(message)
        return
    said = redact(message)
    logged(out, shape, logging.ERROR, f"crg: error: {said}" if shape == "journal" else said)


def diagnose(out: Output, log_format: str, source: Source, found: Sequence[Diagnostic], *,
             with_summary: bool = False) -> None:
    """The configuration's diagnostics as ``crg check`` prints them, or, when the log is
    the journal's or JSON (``--log-format``), one record each in the log's shape (its
    severity the record's level): a JSON log stays JSON from its first line, and the
    journal files a configuration error as an error."""
    shape = chosen(log_format, sys.stderr)
    if shape not in ("journal", "json"):
        out.diagnostics(source, found, with_summary=with_summary)
        return
    for diagnostic in found:
        logged(out, shape, logging.ERROR if diagnostic.is_error else logging.WARNING,
               headline(source, diagnostic, hint=True))


def logged(out: Output, shape: str, level: int, message: str) -> None:
    """One line on standard error, formatted as the log's ``shape`` formats a record."""
    record = logging.LogRecord("crg", level, __file__, 0, message, None, None)
    formatter = JournalFormatter("%(message)s") if shape == "journal" else JsonFormatter()
    out.print(formatter.format(record), err=True)


def refusals(args: argparse.Namespace, config: Config,
             access: StoreAccess | None) -> list[str]:
    """Why this ``crg run`` cannot start, found before anything is touched (no run
    directory, no store, no address, no process); ``access``: :func:`store_access`'s."""
    if (args.node is None) != (args.store is None):
        return ["--node and --store go together: one agent per host, sharing a store "
                "(without both, every node runs here with an in-memory store)"]
    if args.node is None and args.address == "linux":
        return ["--address linux moves real addresses between hosts: run one agent per "
                "host with --node NODE --store etcd://..."]
    if args.node is not None and args.node not in config.cluster.nodes:
        return [f"--node {args.node}: not a node of cluster {config.cluster.name} "
                f"({', '.join(config.cluster.nodes)})"]
    problem = None
    if args.store is None and any(getattr(args, f) is not None for f, _ in STORE_FLAGS):
        given = next(flag for f, flag in STORE_FLAGS if getattr(args, f) is not None)
        return [f"{given} is for a store shared by several hosts: it goes with --node and "
                "--store"]
    if args.store is not None:
        problem = launch.store_problem(args.store, access)
    if problem is None and args.garp_refresh is not None:
        problem = garp_refresh_problem(args.garp_refresh, args.address)
    if problem is None and args.start_wait is not None:
        problem = start_wait_problem(args.start_wait, args.node)
    if problem is None and args.http is not None:
        problem = http_problem(args.http, 1 if args.node else len(config.cluster.nodes))
    if problem is None and args.address == "linux":
        problem = (launch.missing_extra("crg.runtime.address.linux", "--address linux")
                   or privilege_problem())
    if problem is not None:
        return [problem]
    outputs = [unwritable(flag, Path(path)) for flag, path in (("--events", args.events),
                                                              ("--trace", args.trace))
               if path is not None]
    found = [p for p in outputs if p is not None]
    if args.address != "linux":
        found += launch.address_problems(config, launch.address_driver(args.address))
    return found


STORE_FLAGS = (("store_ca", "--store-ca"), ("store_cert", "--store-cert"),
               ("store_key", "--store-key"), ("store_user", "--store-user"),
               ("store_password_file", "--store-password-file"))


def store_access(args: argparse.Namespace, environ: dict[str, str]) -> StoreAccess | None:
    """The TLS files and credentials of ``--store`` (AccessError: an unreadable password
    file). The password is read here, from its file or ``environ`` (what crg's own
    environment had), and from then on only travels as a Secret."""
    if args.store is None:
        return None

    def path(value: str | None) -> Path | None:
        return Path(value) if value is not None else None

    password_file = path(args.store_password_file)
    return StoreAccess(tls=args.store.startswith("etcds://"), ca=path(args.store_ca),
                       cert=path(args.store_cert), key=path(args.store_key),
                       user=args.store_user,
                       password=read_password(password_file, environ)
                       if args.store_user or password_file else None)


DURATION = re.compile(r"(?:\d+(?:ms|s|m|h))+")
GARP_REFRESH_MIN_MS = 1000


def optional_seconds(text: str | None) -> float | None:
    """A duration option's seconds (None: not given)."""
    return duration_ms(text) / 1000 if text is not None else None


def garp_refresh_problem(text: str, address: str) -> str | None:
    if address != "linux":
        return (f"--garp-refresh announces real addresses: it goes with --address linux, "
                f"not --address {address}")
    if text.startswith("-"):
        return f"--garp-refresh {text}: negative; a refresh is a duration from 1s to 24h"
    if not DURATION.fullmatch(text):
        return (f"--garp-refresh {text}: not a duration (a whole number with ms, s, m or "
                "h, e.g. 60s or 1m30s)")
    if not GARP_REFRESH_MIN_MS <= duration_ms(text) <= 86_400_000:
        return f"--garp-refresh {text}: must be between 1s and 24h"
    return None


def start_wait_problem(text: str, node: str | None) -> str | None:
    if node is None:
        return ("--start-wait waits for the other hosts' agents: it goes with --node and "
                "--store (the embedded runtime starts every node at once)")
    if text.startswith("-"):
        return f"--start-wait {text}: negative; a wait is a duration from 0s (off) to 24h"
    if not DURATION.fullmatch(text):
        return (f"--start-wait {text}: not a duration (a whole number with ms, s, m or h, "
                "e.g. 60s or 2m)")
    if duration_ms(text) > 86_400_000:
        return f"--start-wait {text}: must be at most 24h"
    return None


def http_problem(address: str, endpoints: int) -> str | None:
    """Why ``--http ADDRESS`` cannot serve ``endpoints`` endpoints (PORT, PORT + 1...)."""
    try:
        _, port = parse_address(address)
    except HttpAddressError as exc:
        return f"--http: {exc}"
    if port and port + endpoints - 1 > 65535:
        return (f"--http {address}: {endpoints} nodes need ports {port} to "
                f"{port + endpoints - 1}, beyond 65535")
    return None


def unwritable(flag: str, path: Path) -> str | None:
    """Why ``path`` (of ``--events`` or ``--trace``) cannot be written, if so: asked
    before anything starts (the runtime writes it from a thread of its own, and a
    failure then is an output's, which never stops the service). A new file is made
    0600; a link or another user's file is refused (:func:`open_output`)."""
    try:
        fd = open_output(path, wait=False)
    except OSError as exc:
        return f"{flag} {path}: cannot write this file: {exc.strerror or exc}"
    if fd >= 0:
        os.close(fd)
    return None


def os_problem(exc: OSError, options: launch.Options) -> str:
    """An operating system error while starting, naming the file it concerns."""
    reason = exc.strerror or str(exc)
    name = Path(exc.filename) if exc.filename else None
    for flag, path in (("--events", options.events), ("--trace", options.trace)):
        if path is not None and name == path:
            return f"{flag} {path}: cannot write this file: {reason}"
    if name is None or name.is_relative_to(options.run_dir) or name == options.run_dir:
        where = f" ({name})" if name is not None and name != options.run_dir else ""
        return f"cannot use the run directory {options.run_dir}{where}: {reason}"
    return f"cannot use {name}: {reason}"
