"""``crg online``: end GROUP's offline mode. Sent to the running runtime through its control
socket."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from crg.commands import _client as client

if TYPE_CHECKING:
    from crg.commands import Subparsers

HELP = ("end GROUP's offline mode")


def register(subparsers: Subparsers) -> None:
    client.simple(subparsers, "online", HELP,
                  ("group", "the group"))


def run(args: argparse.Namespace) -> int:
    return client.command("online", "group")(args)
