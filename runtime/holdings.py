"""What one node physically holds of each group, as the spec counts it: its *facts*.

The facts change in two places only — a committed step of this node
(:meth:`crg.runtime.agent.Agent.apply`) and a change of the node's own status recorded
by its lease keeper (``heal``, ``expire``) — and two parties must hear of every change:
the fencing watchdog's feed (what to take away if the agent stalls) and the lease keeper
waiting for the lanes to finish fencing. This object is what they share, instead of the
whole agent.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from crg.runtime.records import Facts

log = logging.getLogger("crg.runtime")


class Holdings:
    def __init__(self) -> None:
        self._facts: Facts = {}
        self.changed = asyncio.Event()
        """Set at every change (a fence step may have completed); cleared by whoever
        waits for the next one."""
        self.listeners: list[Callable[[], None]] = []
        """Called after every change (e.g. the fencing watchdog's feed)."""

    @property
    def facts(self) -> Facts:
        return self._facts

    def get(self, group: str) -> frozenset[str]:
        return self._facts.get(group, frozenset())

    def update(self, facts: Facts) -> bool:
        """Replace the facts; tell the listeners if they changed (and return whether)."""
        if facts == self._facts:
            return False
        self._facts = facts
        self.changed.set()
        for listener in self.listeners:
            try:
                listener()
            except Exception:  # a listener's bug must not undo a committed step
                log.exception("a holdings listener failed")
        return True
