"""``crg online GROUP``: the end of offline mode, carried out by the running runtime (its
control socket)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from crg.commands import _client

if TYPE_CHECKING:
    from crg.commands import Subparsers


def register(subparsers: Subparsers) -> None:
    _client.register(
        subparsers, "online",
        summary="End GROUP's offline mode: its application starts again",
        description="End GROUP's offline mode: the application starts again where the "
                    "VIP is. Refused when GROUP is not in offline mode.",
        arguments=(("group", "the group"),))


def run(args: argparse.Namespace) -> int:
    return _client.command("online", "group")(args)
