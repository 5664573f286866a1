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
        description="on: the cluster service takes no action for each GROUP — no start, "
                    "stop, restart, move or VIP change — while its monitors keep running "
                    "and report (crg status shows what they say); refused for a group that "
                    "is not at rest. off: the cluster service takes the group back as it "
                    "finds it; a failure the monitors reported meanwhile counts then if "
                    "they still see it. Unless --no-wait, off follows each group until it "
                    "is at rest.",
        arguments=(("switch", "on or off"),))
    parser.add_argument("groups", metavar="GROUP", nargs="*", help="a group")
    parser.add_argument("--all", action="store_true", help="every group of the cluster")


def run(args: argparse.Namespace) -> int:
    if args.switch not in ("on", "off"):
        return _client.usage(args, f"crg maintenance: say on or off, not '{args.switch}'")
    if bool(args.groups) == bool(args.all):
        return _client.usage(args, "crg maintenance: name the groups, or --all (not both)"
                             if args.groups else "crg maintenance: name a group, or --all")
    return _client.command(f"maintenance-{args.switch}", "groups", every="all")(args)
