"""``crg switchover``: move GROUP to NODE, one of its possible nodes (a planned switchover).
Sent to the running runtime through its control socket."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from crg.commands import _client as client

if TYPE_CHECKING:
    from crg.commands import Subparsers

HELP = ("move GROUP to NODE, one of its possible nodes (a planned switchover)")


def register(subparsers: Subparsers) -> None:
    client.simple(subparsers, "switchover", HELP,
                  ("group", "the group to move"),
                  ("node", "the node to move it to"))


def run(args: argparse.Namespace) -> int:
    return client.command("switchover", "group", "node")(args)
