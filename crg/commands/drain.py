"""``crg drain``: take NODE out of service: its groups halt in order and move away. Sent to
the running runtime through its control socket."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from crg.commands import _client as client

if TYPE_CHECKING:
    from crg.commands import Subparsers

HELP = ("take NODE out of service: its groups halt in order and move away")


def register(subparsers: Subparsers) -> None:
    client.simple(subparsers, "drain", HELP,
                  ("node", "the node"))


def run(args: argparse.Namespace) -> int:
    return client.command("drain", "node")(args)
