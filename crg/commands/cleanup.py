"""``crg cleanup GROUP [NODE]``: clear a group's failure record (its bans and the
restarts used), as ``pcs resource cleanup`` does, through the running runtime."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from crg.commands import _client

if TYPE_CHECKING:
    from crg.commands import Subparsers


def register(subparsers: Subparsers) -> None:
    _client.register(
        subparsers, "cleanup",
        summary="Clear GROUP's failure record: its bans and the restarts used",
        description="Clear GROUP's failure record on NODE — the ban left where it spent its "
                    "restart budget and, on its owner, the restarts used — or, without "
                    "NODE, on every node of its list that has one. A blocked group runs "
                    "again, a group that failed over may return. Refused when there is "
                    "nothing to clear. Unless --no-wait, it follows the group until it is "
                    "at rest and prints where it is.",
        arguments=(("group", "the group"),
                   ("node?", "the node to clear (default: every node of GROUP's list)")))


def run(args: argparse.Namespace) -> int:
    return _client.command("cleanup", "group", "node")(args)
