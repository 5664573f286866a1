"""``crg offline GROUP``: offline mode, carried out by the running runtime (its control
socket)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from crg.commands import _client

if TYPE_CHECKING:
    from crg.commands import Subparsers


def register(subparsers: Subparsers) -> None:
    _client.register(
        subparsers, "offline",
        summary="Put GROUP in offline mode: its VIP stays, its application stops",
        description="Put GROUP in offline mode: the VIP stays where it is and the "
                    "application stops, so clients are refused at once (crg online ends "
                    "it). Refused when GROUP is already offline or placed nowhere.",
        arguments=(("group", "the group"),))


def run(args: argparse.Namespace) -> int:
    return _client.command("offline", "group")(args)
