"""``crg crash NODE``: embedded mode's fault injection: everything on NODE dies at once,
through the running runtime's control socket."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from crg.commands import _client
from crg.errors import ExitCode

if TYPE_CHECKING:
    from crg.commands import Subparsers


def register(subparsers: Subparsers) -> None:
    _client.register(
        subparsers, "crash",
        summary="Embedded mode: crash NODE (everything on it dies at once)",
        description="Embedded mode only (fault injection): NODE's applications, commands "
                    "and monitors are killed and its addresses released at once, and its "
                    "agent stops; the others notice when its lease runs out, as with a real "
                    "crash (meanwhile crg status shows it suspect). It returns at once.",
        arguments=(("node", "the node"),), wait=False,
        exits=((ExitCode.OK, "crashed"),
               (ExitCode.BAD_INPUT, "bad input: an unknown node, a node down already, not "
                                    "the embedded runtime, no runtime running here, or "
                                    "the runtime stopped before it answered")))


def run(args: argparse.Namespace) -> int:
    return _client.command("crash", "node")(args)
