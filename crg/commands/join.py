"""``crg join NODE``: embedded mode's fault injection: a crashed node comes back, through
the running runtime's control socket."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from crg.commands import _client
from crg.errors import ExitCode

if TYPE_CHECKING:
    from crg.commands import Subparsers


def register(subparsers: Subparsers) -> None:
    _client.register(
        subparsers, "join",
        summary="Embedded mode: a crashed NODE comes back, empty",
        description="Embedded mode only (fault injection): a node that crg crash took down "
                    "comes back with a new lease and nothing on it; the cluster service "
                    "takes it from there (a group with failback auto returns home).",
        arguments=(("node", "the node"),), wait=False,
        exits=((ExitCode.OK, "joined"),
               (ExitCode.BAD_INPUT, "bad input: an unknown node, a node that is up, not the "
                                    "embedded runtime, no runtime running here, or the "
                                    "runtime stopped before it answered")))


def run(args: argparse.Namespace) -> int:
    return _client.command("join", "node")(args)
