"""``crg cleanup GROUP [NODE]``: clear a group's failure record (its bans and the restarts
used), as ``pcs resource cleanup`` does, through the running runtime; and ``crg cleanup
--store-reset``: clear the note that the store lost what it held."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from crg.commands import _client
from crg.runtime.operator import CLEANUP_STORE_RESET

if TYPE_CHECKING:
    from crg.commands import Subparsers


def register(subparsers: Subparsers) -> None:
    parser = _client.register(
        subparsers, "cleanup",
        summary="Clear GROUP's failure record: its bans and the restarts used",
        description="Clear GROUP's failure record on NODE — the ban left where it spent its "
                    "restart budget and, on its owner, the restarts used — or, without "
                    "NODE, on every node of its list that has one. A blocked group runs "
                    "again, a group that failed over may return. Refused when there is "
                    "nothing to clear. Unless --no-wait, it follows the group until it is "
                    "at rest and prints where it is. With --store-reset instead of GROUP: "
                    "clear the note that the store lost what it held (crg status says it "
                    "until then), once the commands still wanted are given again.",
        arguments=(("group?", "the group"),
                   ("node?", "the node to clear (default: every node of GROUP's list)")))
    parser.add_argument("--store-reset", action="store_true",
                        help="clear the note that the store lost what it held, not a "
                             "group's record")
    parser.set_defaults(run=run)


_group_cleanup = _client.command("cleanup", "group", "node")
_store_reset = _client.command(CLEANUP_STORE_RESET)


def run(args: argparse.Namespace) -> int:
    if args.store_reset:
        if args.group is not None:
            return _client.usage(args, "--store-reset clears the store's note, not a "
                                 f"group's record: drop '{args.group}'")
        return _store_reset(args)
    if args.group is None:
        return _client.usage(args, "cleanup needs the GROUP whose failure record to clear "
                             "(or --store-reset)")
    return _group_cleanup(args)
