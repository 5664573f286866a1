"""Recorders: who writes the trace and accounts for changes the store makes by itself.

:class:`ClusterRecorder` (embedded mode) sees the whole cluster: the store holds every
variable of the spec, so it keeps the global state, records each committed transition,
and records a node's ``crash`` the moment its lease is seen to have run out — before
anyone may act on it, since every commit calls :meth:`observe` under the commit lock
first. With ``verify`` it also re-reads the store after each commit and checks that it
says exactly what ``model.apply`` computed (a mismatch is a bug in the key mapping).

:class:`NodeRecorder` (one node per process, e.g. with etcd) records this node's own
transitions and, for information, the liveness changes it observes.
"""

from __future__ import annotations

import logging

from crg.runtime.records import Keys, encode
from crg.runtime.store.base import Snapshot
from crg.runtime.trace import TraceWriter
from crg.spec import Action, ActionKind, IllegalAction, Model, State

log = logging.getLogger("crg.runtime")


def differences(model: Model, a: State, b: State) -> str:
    out = []
    na, nb = model.node_vars(a), model.node_vars(b)
    if na != nb:
        out.append(f"nodes {na} != {nb}")
    for topo in model.groups:
        ga, gb = model.group_vars(a, topo.index), model.group_vars(b, topo.index)
        for field in ga._fields:
            if getattr(ga, field) != getattr(gb, field):
                out.append(f"{topo.name}.{field} {getattr(ga, field)} != {getattr(gb, field)}")
    return "; ".join(out) or "none"


class ClusterRecorder:
    def __init__(self, model: Model, keys: Keys, trace: TraceWriter | None) -> None:
        self.model = model
        self.keys = keys
        self.trace = trace
        self.state: State = model.initial()
        self.mismatches: list[str] = []
        self.transitions: list[tuple[Action, str, State]] = []
        """Everything recorded, in order (tests read it; the trace file is the same)."""

    def _record(self, action: Action, by: str, after: State, revision: int) -> None:
        before, self.state = self.state, after
        self.transitions.append((action, by, after))
        if self.trace is not None:
            self.trace.record(action, by, before, after, revision)

    async def observe(self, snap: Snapshot) -> None:
        self.reconcile(snap)

    def reconcile(self, snap: Snapshot) -> None:
        """Record the crashes the store shows (a node's lease ran out) that are not yet
        in the recorded state; then the store must say exactly the recorded state."""
        now = encode(self.model, self.keys, snap)
        if now == self.state:
            return
        down = self.model.node_vars(self.state).down
        for n, name in enumerate(self.model.topology.nodes):
            if not (down >> n) & 1 and snap.get(self.keys.node(name)) is None:
                action = Action(ActionKind.CRASH, -1, n)
                try:
                    after = self.model.apply(self.state, action)
                except IllegalAction:  # pragma: no cover - crash is always enabled
                    continue
                self._record(action, "runtime", after, snap.revision)
                log.info("%s is down (its lease ran out)", name)
        if now != self.state:
            problem = (f"the store changed outside any recorded transition: "
                       f"{differences(self.model, self.state, now)}")
            log.error("%s", problem)
            self.mismatches.append(problem)
            self.state = now

    def committed(self, action: Action, by: str, before: State, after: State,
                  revision: int, snap_after: Snapshot | None) -> None:
        self._record(action, by, after, revision)
        if snap_after is not None:
            stored = encode(self.model, self.keys, snap_after)
            if stored != after:
                # A lease may have run out since: that is a crash to record, not a bug.
                self.reconcile(snap_after)


class NodeRecorder:
    def __init__(self, model: Model, keys: Keys, node: str, trace: TraceWriter | None) -> None:
        self.model = model
        self.keys = keys
        self.node = node
        self.trace = trace
        self.live: frozenset[str] | None = None
        self.transitions: list[tuple[Action, str, State]] = []

    async def observe(self, snap: Snapshot) -> None:
        live = frozenset(n for n in self.model.topology.nodes
                         if snap.get(self.keys.node(n)) is not None)
        if self.live is not None and live != self.live:
            for gone in sorted(self.live - live):
                log.info("%s: %s is no longer live", self.node, gone)
            for back in sorted(live - self.live):
                log.info("%s: %s is live", self.node, back)
        self.live = live

    def committed(self, action: Action, by: str, before: State, after: State,
                  revision: int, snap_after: Snapshot | None) -> None:
        self.transitions.append((action, by, after))
        if self.trace is not None:
            self.trace.record(action, by, before, after, revision)
