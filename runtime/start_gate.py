"""Waiting for the other hosts at a cold start (``crg run --node N --start-wait DURATION``).

When a cluster starts from nothing — every host booting, or every agent started by hand —
the first agent to register sees the other nodes down and, left to itself, would place
every group it can on its own node: applications started there only to move to their
preferred nodes seconds later, as those register, and a last-node alert for each group
the moment it lands (the other nodes are down, as far as the store says). Pacemaker waits
for its peers at start-up for the same reason (``dc-deadtime``).

So an agent with a start wait takes no step of the spec's (no placement, no alert) until
every node of the configuration is registered (but those an operator drained: out of
service on purpose), or some group already has an owner (the cluster runs: this host
joins it, or another agent's wait ended first), or its own wait since it registered has
passed. Then it acts for good: the gate is closed again only when the store lost what
it held (:meth:`StartGate.after_loss`), which is a cold start of the cluster's state. An
agent that restarts so fast that its previous run's lease still held its node's key (a
crash, a watchdog kill under systemd's ``Restart=``) does not wait at all: it was running
a moment ago, perhaps as the last node of the cluster, whose groups went down with it.

This decides nothing the spec does not: every step it holds back stays enabled, and the
rules take it once the gate opens, from the state as it then is. An asynchronous
system's steps may always come later; holding them back for a bounded time changes which
of the spec's runs the cluster takes (the one where the nodes joined before anything was
placed), never what a run may contain.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from crg.dsl.diagnostics import and_list
from crg.dsl.export import duration_text
from crg.runtime.commit import Services
from crg.runtime.records import SHUTDOWN_MARK
from crg.runtime.store.base import Entry, Snapshot
from crg.spec import State

log = logging.getLogger("crg.runtime")


class StartGate:
    """Whether one agent may act yet, at a cold start."""

    def __init__(self, services: Services, node: str, wait_s: float) -> None:
        self.s = services
        self.node = node
        self.wait_s = wait_s
        self.began = time.monotonic()
        self.open = wait_s <= 0
        """Once open, for good."""
        self.missing: tuple[str, ...] = ()
        """The nodes not registered at the last look (while closed)."""
        self.cause = "--start-wait"
        """What the wait is, in its messages."""
        self.expected: frozenset[str] | None = None
        """After a loss of the store, the nodes waited for (those registered before it);
        None: every node of the configuration, at a cold start."""
        self._said = False

    def after_loss(self, live: tuple[str, ...], wait_s: float) -> None:
        """The store lost what it held (started again empty, restored from a backup):
        every agent registers again into a store where no group has an owner, and the
        first one saw every other node down — it paged each group stranded or on its
        last node and placed them all, to move them back a moment later. So the gate
        closes again, as at a cold start, for the nodes ``live`` before the loss (the
        others were not running: nothing is waited for them), ``wait_s`` at most."""
        if not live:
            return
        self.open, self.began, self.wait_s = False, time.monotonic(), wait_s
        self.expected, self.missing, self._said = frozenset(live), (), False
        self.cause = "the wait after the store's loss"

    def left_s(self) -> float:
        """Seconds of the wait left (0 once it has passed)."""
        return max(0.0, self.wait_s - (time.monotonic() - self.began))

    def holding(self) -> str | None:
        """Why this agent places no group yet, as of its last look (None: it acts): its
        lanes' decision, systemd's STATUS=, and what an operator whose command waited in
        vain for a group to come to rest is told (the refusal read as a group stuck for
        no reason)."""
        if self.open or not self.missing:
            return None
        return (f"{self.node} waits for {and_list(self.missing)} to register before it places "
                f"any group, {left_text(self.left_s())} of {self.cause} left")

    def waiting(self) -> dict[str, Any] | None:
        """What the operator surfaces show while it holds (None: it acts): ``{"for":
        [NODE...], "left_s"}``, the nodes not registered at its last look and the seconds
        of the wait left — ``crg status --json``'s ``waiting`` and ``/health``'s."""
        if self.open or not self.missing:
            return None
        return {"for": list(self.missing), "left_s": round(self.left_s(), 1)}

    def closed(self, snap: Snapshot, state: State) -> str | None:
        """Why this agent must not act yet on what it read (None: it may act)."""
        if self.open:
            return None
        keys, model = self.s.keys, self.s.model
        missing = tuple(n for n in model.topology.nodes if snap.get(keys.node(n)) is None
                        and not _drained_by_operator(snap.get(keys.drained(n)))
                        and (self.expected is None or n in self.expected))
        running = any(model.group_vars(state, g).owner
                      for g in range(len(model.groups)))
        left = self.left_s()
        if missing and not running and left > 0:
            self.missing = missing
            if not self._said:
                self._said = True
                log.info("%s: waits up to %.0f s for %s to register before it places any "
                         "group (%s)", self.node, left, and_list(missing), self.cause)
                self.s.events.emit({"event": "start-wait", "node": self.node,
                                    "waiting_for": list(missing), "seconds": round(left, 1)})
            return self.holding()
        self.open, self.missing, self.expected = True, (), None
        why = ("every node is registered (or drained by an operator)" if not missing
               else "the cluster already runs" if running
               else f"{self.cause} is over; it acts without {and_list(missing)}")
        log.info("%s: starts acting: %s", self.node, why)
        if self._said:  # the event log says the wait ended only if it said it began
            self.s.events.emit({"event": "start-wait-over", "node": self.node, "reason": why})
        return None


def _drained_by_operator(mark: Entry | None) -> bool:
    """A node an operator drained is out of service on purpose: nothing is waited for it.
    One its own shutdown drained (a clean stop, as of every node of a cluster stopped as a
    whole) is waited for: it takes its groups back when it starts."""
    return mark is not None and mark.value != SHUTDOWN_MARK


def left_text(seconds: float) -> str:
    """``41.5 s``, or from two minutes on ``23m10s`` (a day's wait in seconds is noise)."""
    if seconds < 120:
        return f"{seconds:.1f} s"
    return duration_text(int(seconds) * 1000)
