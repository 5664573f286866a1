"""``crg maintenance on|off [GROUP...|--all]``: take groups out of the cluster service's
hands and give them back, through the running runtime."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from crg.commands import _client

if TYPE_CHECKING:
    from crg.commands import Subparsers


def register(subparsers: Subparsers) -> None:
    parser = _client.register(
        subparsers, "maintenance",
        summary="Put groups in maintenance (no action taken for them) or end it",
        description="With on, the cluster service takes no action for each GROUP — no "
                    "start, stop, restart, move or VIP change — while its monitors keep "
                    "running and report (crg status shows what they say); refused for a "
                    "group that is not at rest. With off, the cluster service takes the "
                    "group back as it finds it, and a failure the monitors reported "
                    "meanwhile counts then if they still see it. Unless --no-wait, each "
                    "group is followed until it is at rest.",
        arguments=())
    parser.add_argument("switch", metavar="on|off", choices=("on", "off"),
                        help="start or end the maintenance")
    # default=[]: argparse otherwise lists GROUP among the required arguments when on|off
    # is missing, though --all can stand for it
    parser.add_argument("groups", metavar="GROUP", nargs="*", default=[], help="a group")
    parser.add_argument("--all", action="store_true", help="every group of the cluster")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if bool(args.groups) == bool(args.all):
        return _client.usage(args, "crg maintenance: name the groups, or --all (not both)"
                             if args.groups else "crg maintenance: name a group, or --all")
    return _client.command(f"maintenance-{args.switch}", "groups", every="all")(args)
