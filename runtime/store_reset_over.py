"""Ending the ``store-reset`` runtime alert when an operator clears its note.

The alert (:func:`crg.runtime.node_watch.reset`) is raised once, by the node that claimed
the ``reset`` mark, to the sinks of the groups that may run on that node; ``crg cleanup
--store-reset`` (on any node) removes the mark once the operators have given again what
they still want. That is the episode's end, and a pager must hear it like every other
runtime alert's end, or the incident stays open for ever. The node that cleared the mark
says it — the node that raised the alert may be gone — to the same sinks: those of the
groups that may run on the node named in the mark (``node``), with ``by`` the node that
says it, as a node's loss and return are told (:meth:`Machine.node_alert`).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from crg.runtime.drivers.sinks import iso_time
from crg.runtime.node_watch import STORE_RESET

if TYPE_CHECKING:
    from crg.runtime.machine import Machine

log = logging.getLogger("crg.runtime")


def reset_over(machine: Machine, mark: dict[str, Any], client: str) -> None:
    """Tell the sinks that heard the store-reset alert of ``mark`` (as
    :func:`~crg.runtime.node_watch.forget_reset` removed it; ``{}``: unreadable) that it
    is over, ``client`` having cleared it. A mark that does not name a node of the
    configuration cannot say whose sinks heard it: every group's are told."""
    by = mark.get("by")
    node = by if by in machine.s.model.topology.nodes else None
    since = mark.get("since")
    when = f" on {iso_time(since)}" if isinstance(since, int | float) else ""
    seen = f", seen by {node}{when}" if node is not None else when
    reason = (f"the store's loss of what it held{seen}, is dealt with: its note was "
              f"cleared by crg cleanup --store-reset (from {client})")
    log.info("%s: %s is over: %s", machine.name, STORE_RESET, reason)
    payload: dict[str, Any] = {"event": "runtime-alert-over", "group": None, "node": node,
                               "action": STORE_RESET, "reason": reason, "by": machine.name}
    if isinstance(since, int | float):
        payload["since"] = iso_time(since)
    machine.tell(payload)
