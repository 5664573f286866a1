"""``crg status``: where every group is, from the running runtime (its control socket).

The words are the spec's (:func:`crg.spec.present.modes.placements`), the same as ``crg simulate``;
the runtime adds what only it knows (failure records, reports, suspect nodes).
``--json`` prints the runtime's answer (README, "crg status --json"); ``--watch`` keeps a
live table on a terminal until Ctrl-C, and elsewhere (a pipe, a file) prints the whole
status again at every refresh, each one flushed as it is written. Once the runtime it
watches is gone (no socket, nobody listening) the watch says so once and exits 2, as
``crg status`` does when no runtime runs: refreshing an empty screen for ever helps nobody,
and a script reading the pipe learns that the runtime stopped. A runtime that is slow to
answer is waited out, its error shown once until it answers again.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import TYPE_CHECKING, Any

from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from crg.commands import _client, add_command
from crg.errors import ExitCode
from crg.output import Output
from crg.runtime.control import ControlError, NoRuntime
from crg.runtime.status import (
    HEADERS,
    config_line,
    nodes_line,
    notes,
    rows,
    sink_lines,
    store_reset_line,
    title,
)

if TYPE_CHECKING:
    from crg.commands import Subparsers

WATCH_INTERVAL_S = 0.5


def register(subparsers: Subparsers) -> None:
    parser = add_command(
        subparsers, "status", summary="Show where every group runs, from the running runtime",
        description="Ask the running runtime where every group is: node, mode, VIP holder, "
                    "application, restarts used of its budget, whether switching is "
                    "enabled and which alerts are raised; under the table, what a group "
                    "has more to say (bans and until when, a pending switchover, the last "
                    "fault, maintenance, a failure its monitors reported), and which nodes "
                    "are suspect (they stopped renewing their lease: what they host may be "
                    "dead already).",
        exits=((ExitCode.OK, "the status was printed (--watch: until Ctrl-C, exit 130)"),
               (ExitCode.BAD_INPUT, "no runtime running here (with a did-you-mean for "
                                    "--cluster), or it does not answer (or stopped "
                                    "before it answered); --watch: the "
                                    "runtime it watched stopped")))
    parser.add_argument("--json", action="store_true", help="print the status as JSON")
    parser.add_argument("--watch", action="store_true",
                        help="refresh until Ctrl-C: a live table on a terminal, the whole "
                             "status again at every refresh elsewhere; ends (exit 2) "
                             "when the runtime stops")
    _client.add_arguments(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    out = Output()
    try:
        status = _client.call(args, "status")["status"]
        if args.watch:
            return watch(args, out)
    except ControlError as exc:
        out.error(str(exc))
        return ExitCode.BAD_INPUT
    show(out, status, as_json=args.json)
    return ExitCode.OK


def show(out: Output, status: dict[str, Any], *, as_json: bool) -> None:
    if as_json:
        out.raw(json.dumps(status, indent=2) + "\n")
        return
    out.print(f"{title(status)}, {nodes_line(status)}")
    out.table(HEADERS, rows(status))
    for line in notes(status):
        out.print(line)
    if (config := config_line(status)) is not None:
        out.print(config)
    if (reset := store_reset_line(status)) is not None:
        out.print(reset, style="bold red")
    for line in sink_lines(status):
        out.print(f"output {line}", style="bold red")


def table(status: dict[str, Any], width: int | None = None) -> Group:
    """The live table of ``--watch``, for a terminal ``width`` columns wide."""
    reset = store_reset_line(status)
    failing = "\n".join([*([reset] if reset else []),
                         *(f"output {line}" for line in sink_lines(status))])
    # No box, as the one-shot table (Output.table), and no cell cut short: a boxed table
    # squeezed on an 80-column terminal showed every VIP as "127.0.…". Where room is
    # short, the headers give way ("rest…"), not what they head.
    grid = Table(title=f"{title(status)} — {nodes_line(status)}",
                 caption=failing or None, caption_style="bold red", caption_justify="left",
                 header_style="bold", title_justify="left", box=None, pad_edge=False)
    cells = rows(status)
    content = [max((len(row[i]) for row in cells), default=1) for i in range(len(HEADERS))]
    whole = [max(size, len(header)) for size, header in zip(content, HEADERS, strict=True)]
    fits = width is None or sum(whole) + 2 * (len(whole) - 1) <= width
    for header, size, full in zip(HEADERS, content, whole, strict=True):
        grid.add_column(header, width=full if fits else size, no_wrap=True)
    for row in cells:
        grid.add_row(*row)
    return Group(grid, *(Text(line) for line in notes(status)))


def watch(args: argparse.Namespace, out: Output) -> int:
    """Refresh until Ctrl-C (which the command line turns into exit code 130), or until
    the runtime is gone (exit 2)."""
    if not sys.stdout.isatty():
        return watch_lines(args, out)
    with Live(console=Console(), auto_refresh=False) as live:
        while True:
            try:
                status = _client.call(args, "status")["status"]
                live.update(table(status, live.console.width), refresh=True)
            except NoRuntime as exc:
                stopped = exc
                break  # said below, once the live display is closed
            except ControlError as exc:
                live.update(f"[red]{exc}[/red]", refresh=True)
            time.sleep(WATCH_INTERVAL_S)
    return gone(out, stopped)


def watch_lines(args: argparse.Namespace, out: Output) -> int:
    """Not a terminal: each refresh is the whole status again (JSON with --json), a blank
    line after it, flushed at once — a reader of the pipe sees it as it comes. An error
    is said once, not at every refresh, until the runtime answers again."""
    said = None
    while True:
        try:
            show(out, _client.call(args, "status")["status"], as_json=args.json)
            said = None
        except NoRuntime as exc:
            return gone(out, exc)
        except ControlError as exc:
            if str(exc) != said:
                out.error(str(exc))
            said = str(exc)
        else:
            out.print()
        out.stdout.flush()
        time.sleep(WATCH_INTERVAL_S)


def gone(out: Output, exc: NoRuntime) -> int:
    """The runtime stopped while watched: said once, exit 2 (as ``crg status`` without a
    runtime)."""
    # The reason first: the socket's absence alone reads as "none ever ran here, start
    # one", which is not what happened to a runtime that was just being watched.
    out.error(f"the runtime stopped while watched, nothing left to watch ({exc})")
    return ExitCode.BAD_INPUT
