"""``crg undrain``: let a drained NODE host groups again. Sent to the running runtime through
its control socket."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from crg.commands import _client as client

if TYPE_CHECKING:
    from crg.commands import Subparsers

HELP = ("let a drained NODE host groups again")


def register(subparsers: Subparsers) -> None:
    client.simple(subparsers, "undrain", HELP,
                  ("node", "the node"))


def run(args: argparse.Namespace) -> int:
    return client.command("undrain", "node")(args)
