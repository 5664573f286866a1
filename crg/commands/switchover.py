"""``crg switchover GROUP NODE``: a planned switchover, carried out by the running runtime
(its control socket) and followed until the group has moved."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from crg.commands import _client

if TYPE_CHECKING:
    from crg.commands import Subparsers


def register(subparsers: Subparsers) -> None:
    _client.register(
        subparsers, "switchover",
        summary="Move GROUP to NODE, one of its possible nodes (a planned switchover)",
        description="Move GROUP to NODE: it halts in order where it is and runs in order "
                    "there. Refused at once, with the reason, when NODE is not one of its "
                    "nodes, not up, drained, or where GROUP spent its restart budget, when "
                    "switching is disabled (GROUP is on the last available node of its "
                    "list) or the same switchover is in force; while GROUP is moving, the "
                    "command waits (up to --timeout) for it to come to rest first. Then, "
                    "unless --no-wait, it follows the move and prints where GROUP ended. "
                    "The switchover stays in force while NODE may host GROUP (GROUP does "
                    "not fail back meanwhile); crg clear withdraws it.",
        arguments=(("group", "the group to move"), ("node", "the node to move it to")))


def run(args: argparse.Namespace) -> int:
    return _client.command("switchover", "group", "node")(args)
