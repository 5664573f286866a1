"""``crg drain NODE``: take a node out of service, carried out by the running runtime (its
control socket) and followed until its groups have moved away."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from crg.commands import _client

if TYPE_CHECKING:
    from crg.commands import Subparsers


def register(subparsers: Subparsers) -> None:
    _client.register(
        subparsers, "drain",
        summary="Take NODE out of service: its groups halt in order and move away",
        description="Take NODE out of service: every group on it halts in order and moves "
                    "to its next available node, and no group comes to it until crg "
                    "undrain. Refused when NODE is drained already. Unless --no-wait, it "
                    "follows the groups until they are at rest and prints where they are.",
        arguments=(("node", "the node"),))


def run(args: argparse.Namespace) -> int:
    return _client.command("drain", "node")(args)
