"""``crg show FILE``: the validated model with every default filled in.

``--format json`` is for tools (shape in README.md, schema in crg/schemas/), with the
userinfo and query of every URL hidden (:func:`crg.dsl.redact.redact`); the text format
is a summary for people. A file that does not validate gives, with ``--format
json``, the diagnostics document of ``crg check --format json`` on stdout, so a tool
reading stdout always gets JSON.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from crg import files
from crg.commands import add_command, add_format
from crg.commands.check import Report, reports_to_dict
from crg.dsl import Config, ConfigError, Group
from crg.dsl.export import config_to_dict, duration_text
from crg.dsl.model import OtherGroups
from crg.dsl.redact import redact_data
from crg.errors import ExitCode, FileError
from crg.output import Output, count

if TYPE_CHECKING:
    from crg.commands import Subparsers


def register(subparsers: Subparsers) -> None:
    parser = add_command(
        subparsers, "show", summary="Print the validated configuration, defaults filled in",
        description="Validate FILE and print the model that the checker and the runtime "
                    "use, with every default applied.",
        exits=((ExitCode.OK, "valid (warnings do not count)"),
               (ExitCode.BAD_INPUT, "bad input (with --format json, the diagnostics are "
                                    "printed as crg check --format json prints them)")))
    parser.add_argument("file", metavar="FILE", help="a .crg configuration")
    add_format(parser, ("text", "json"), "text")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    out = Output()
    if args.format == "json":
        try:
            config = files.load(args.file)
        except (ConfigError, FileError) as exc:
            out.json(reports_to_dict([Report(args.file, problem=exc,
                                             verdict=ExitCode.BAD_INPUT)]))
            return ExitCode.BAD_INPUT
        # The model for tools, with the secrets of URLs hidden (a webhook's credentials
        # are for crg to call it, not for whoever reads this).
        out.json(redact_data(config_to_dict(config)))
        return ExitCode.OK
    config = files.load(args.file)
    out.diagnostics(config.source, config.warnings, with_summary=False)
    print_summary(out, config)
    return ExitCode.OK


def print_summary(out: Output, config: Config) -> None:
    cluster = config.cluster
    out.print(f"cluster {cluster.name}: nodes {' '.join(cluster.nodes)}", style="bold")
    out.print(f"  lease {duration_text(cluster.lease_ms)}, "
              f"heartbeat {duration_text(cluster.heartbeat_ms)}, "
              f"store-timeout {duration_text(cluster.store_timeout_ms)}, "
              f"fence-margin {duration_text(cluster.fence_margin_ms)}")
    out.print(f"  assume at most {count(cluster.max_down, 'node')} down; faults: "
              + ", ".join(sorted(f.value for f in cluster.faults)))
    out.print()
    out.table(("group", "kind", "vip", "preferred", "possible", "failback", "restarts",
               "monitors", "notify", "avoid", "fencing", "alerts", "hooks"),
              [_row(group) for group in config.groups])


def _row(group: Group) -> list[str]:
    vip = str(group.vip) + (f" dev {group.vip.device}" if group.vip.device else "")
    return [
        group.name, group.kind.value, vip, group.preferred,
        ", ".join(group.possible) or "-", group.failback.value,
        f"{group.restarts} within {duration_text(group.restart_window_ms)}",
        ", ".join(m.kind.value for m in group.monitors),
        ("all" if isinstance(group.notify, OtherGroups) else ", ".join(group.notify)) or "-",
        # avoid decides placement; fencing, alerts and hooks what a failure does and who
        # hears of it: a summary without them hid half of what a group is.
        ", ".join(group.avoid) or "-", group.fencing.value,
        ", ".join(s.kind.value for s in group.alerts) or "-",
        ", ".join(s.kind.value for s in group.hooks) or "-",
    ]
