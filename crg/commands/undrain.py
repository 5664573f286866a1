"""``crg undrain NODE``: put a drained node back in service, carried out by the running
runtime (its control socket)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from crg.commands import _client

if TYPE_CHECKING:
    from crg.commands import Subparsers


def register(subparsers: Subparsers) -> None:
    _client.register(
        subparsers, "undrain",
        summary="Put a drained NODE back in service",
        description="Put NODE back in service: groups may come to it again (those with "
                    "failback auto return to it if it is their preferred node). Refused "
                    "when NODE is not drained.",
        arguments=(("node", "the node"),))


def run(args: argparse.Namespace) -> int:
    return _client.command("undrain", "node")(args)
