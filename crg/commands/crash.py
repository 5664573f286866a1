"""``crg crash``: embedded mode: crash NODE (everything on it dies at once; the others notice
when its lease runs out). Sent to the running runtime through its control socket."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from crg.commands import _client as client

if TYPE_CHECKING:
    from crg.commands import Subparsers

HELP = ("embedded mode: crash NODE (everything on it dies at once; the others "
        "notice when its lease runs out)")


def register(subparsers: Subparsers) -> None:
    client.simple(subparsers, "crash", HELP,
                  ("node", "the node"))


def run(args: argparse.Namespace) -> int:
    return client.command("crash", "node")(args)
