"""``crg clear GROUP``: withdraw a group's switchover target, as ``pcs resource clear``
does, through the running runtime (its control socket)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from crg.commands import _client

if TYPE_CHECKING:
    from crg.commands import Subparsers


def register(subparsers: Subparsers) -> None:
    _client.register(
        subparsers, "clear",
        summary="Withdraw GROUP's switchover target: its placement decides again",
        description="Withdraw GROUP's switchover target. A switchover stays in force for "
                    "as long as its node may host the group, so the group does not go back "
                    "by itself until it is cleared; after a clear a group with failback "
                    "auto returns to its preferred node when it is eligible, and one with "
                    "failback manual stays where it is. Refused when GROUP has no target. "
                    "Unless --no-wait, it follows the group until it is at rest and prints "
                    "where it is.",
        arguments=(("group", "the group"),))


def run(args: argparse.Namespace) -> int:
    return _client.command("clear", "group")(args)
