"""``crg status``: where every group is, from the running runtime (its control socket).

The words are the spec's (:func:`crg.spec.present.modes.placements`), the same as ``crg simulate``.
``--json`` prints the runtime's answer (README, "crg status --json"); ``--watch`` keeps a
live table on the terminal until Ctrl-C.
"""

from __future__ import annotations

import argparse
import json
import time
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.live import Live
from rich.table import Table

from crg.commands import _client as client
from crg.errors import ExitCode
from crg.output import Output
from crg.runtime.control import ControlError
from crg.runtime.status import HEADERS, config_line, nodes_line, rows, sink_lines, title

if TYPE_CHECKING:
    from crg.commands import Subparsers

WATCH_INTERVAL_S = 0.5


def register(subparsers: Subparsers) -> None:
    parser = subparsers.add_parser(
        "status", help="show where every group runs, from the running runtime",
        description="Ask the running runtime where every group is: node, mode, VIP holder, "
                    "application, whether switching is enabled and whether the last-node "
                    "alert was raised.")
    parser.add_argument("--json", action="store_true", help="print the status as JSON")
    parser.add_argument("--watch", action="store_true",
                        help="keep a live table on the terminal until Ctrl-C")
    client.add_arguments(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    out = Output()
    try:
        status = client.call(args, "status")["status"]
        if args.watch:
            return watch(args)
    except ControlError as exc:
        out.error(str(exc))
        return ExitCode.BAD_INPUT
    if args.json:
        out.raw(json.dumps(status, indent=2) + "\n")
        return ExitCode.OK
    out.print(f"{title(status)}, {nodes_line(status)}")
    out.table(HEADERS, rows(status))
    if (line := config_line(status)) is not None:
        out.print(line)
    for line in sink_lines(status):
        out.print(f"output {line}", style="bold red")
    return ExitCode.OK


def table(status: dict[str, Any]) -> Table:
    failing = "\n".join(f"output {line}" for line in sink_lines(status))
    grid = Table(*HEADERS, title=f"{title(status)} — {nodes_line(status)}",
                 caption=failing or None, caption_style="bold red", caption_justify="left",
                 header_style="bold", title_justify="left")
    for row in rows(status):
        grid.add_row(*row)
    return grid


def watch(args: argparse.Namespace) -> int:
    """Refresh until Ctrl-C (which the command line turns into exit code 130)."""
    with Live(console=Console(), auto_refresh=False) as live:
        while True:
            try:
                status = client.call(args, "status")["status"]
                live.update(table(status), refresh=True)
            except ControlError as exc:
                live.update(f"[red]{exc}[/red]", refresh=True)
            time.sleep(WATCH_INTERVAL_S)
