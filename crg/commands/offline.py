"""``crg offline``: put GROUP in offline mode: the VIP stays, the application stops and
clients are refused at once. Sent to the running runtime through its control socket."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from crg.commands import _client as client

if TYPE_CHECKING:
    from crg.commands import Subparsers

HELP = ("put GROUP in offline mode: the VIP stays, the application stops and "
        "clients are refused at once")


def register(subparsers: Subparsers) -> None:
    client.simple(subparsers, "offline", HELP,
                  ("group", "the group"))


def run(args: argparse.Namespace) -> int:
    return client.command("offline", "group")(args)
