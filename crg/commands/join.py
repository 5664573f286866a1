"""``crg join``: embedded mode: bring a crashed NODE back, empty. Sent to the running runtime
through its control socket."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from crg.commands import _client as client

if TYPE_CHECKING:
    from crg.commands import Subparsers

HELP = ("embedded mode: bring a crashed NODE back, empty")


def register(subparsers: Subparsers) -> None:
    client.simple(subparsers, "join", HELP,
                  ("node", "the node"))


def run(args: argparse.Namespace) -> int:
    return client.command("join", "node")(args)
