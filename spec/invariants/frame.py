"""The frame of every step: what each kind of action may change, and on which node.

The other step invariants say what a step does to the variables it is about; a slip
that makes a step do one thing *more* — a crash that also undrains the node, a switchover
that also brings an offline group online, a lost lease that lifts every ban — changes
none of those and passes them all, while the runtime, which executes the rules, would do
it. So each kind of action lists the variables it may write, written from SPEC.md's
description of the step, not read off its rule; every other variable keeps its value.
A per-node variable marked ``@n`` may change only on the action's own node.

The three alert flags are not listed: ``last-node-alert``, ``blocked`` and ``stranded``
pin each of them on every step already (raised only by its alert step, dropped exactly
when its episode ends, which any event may do).
"""

from __future__ import annotations

from collections.abc import Mapping

from crg.spec.rules.view import View
from crg.spec.vocabulary.actions import Action, ActionKind
from crg.spec.vocabulary.algebra import Bool
from crg.spec.vocabulary.variables import FLAG_FIELDS, GroupVars, NodeVars

_K = ActionKind

EPISODE_FLAGS = frozenset({"alerted", "blocked_alerted", "stranded_alerted"})
"""Group flags whose every change the episode invariants pin."""

_REMOVES = ("vip@n", "app@n", "mon@n", "wd@n")
"""What a watchdog, a fence or a crash takes off a node."""

GROUP_WRITES: Mapping[ActionKind, frozenset[str]] = {
    # The run method: each step adds its layer on its own node; the claim takes the key
    # and starts the tenure's count (``restart-budget`` says it may only go back to 0).
    _K.CLAIM: frozenset({"owner", "restarts"}),
    _K.ACQUIRE_VIP: frozenset({"vip@n"}),
    _K.START_APP: frozenset({"app@n"}),
    _K.START_MONITORS: frozenset({"mon@n"}),
    _K.NOTIFY_UP: frozenset({"announced"}),
    # The halt method: each step removes its layer and spawns (or retires) the watchdog;
    # stopping the failed application ends the failure; the release ends the tenure.
    _K.STOP_MONITORS: frozenset({"mon@n", "wd@n"}),
    _K.STOP_APP: frozenset({"app@n", "wd@n", "failed"}),
    _K.RELEASE_VIP: frozenset({"vip@n", "wd@n"}),
    _K.NOTIFY_DOWN: frozenset({"announced"}),
    _K.RELEASE_OWNERSHIP: frozenset({"owner", "restarts", "wd@n"}),
    # The watchdog removes leftovers from a node that does not own the group; a cut-off
    # node fencing itself removes its own stack, failed application included.
    _K.WATCHDOG_CLEAN: frozenset(_REMOVES),
    _K.WATCHDOG_RETIRE: frozenset({"wd@n"}),
    _K.FENCE: frozenset({*_REMOVES, "failed"}),
    _K.ALERT: frozenset(),
    _K.ALERT_BLOCKED: frozenset(),
    _K.ALERT_STRANDED: frozenset(),
    # A crash takes everything on the node; with a lost lease (crash, expire) go the
    # ownership, the tenure's restarts and failure, the node's ban and a target there.
    _K.CRASH: frozenset({*_REMOVES, "owner", "target", "restarts", "failed", "ban@n"}),
    _K.EXPIRE: frozenset({"owner", "target", "restarts", "failed", "ban@n"}),
    _K.REJOIN: frozenset(),
    _K.PARTITION: frozenset(),
    _K.HEAL: frozenset({"wd@n"}),
    _K.DRAIN: frozenset({"target"}),
    _K.UNDRAIN: frozenset(),
    # Faults and the operator's commands.
    _K.FAULT: frozenset({"failed", "wd@n", "restarts", "ban@n", "target"}),
    _K.SWITCHOVER: frozenset({"target"}),
    _K.CLEAR: frozenset({"target"}),
    _K.FORGIVE: frozenset({"ban", "restarts"}),
    _K.CLEANUP: frozenset({"ban@n", "restarts"}),
    _K.OFFLINE: frozenset({"offline"}),
    _K.ONLINE: frozenset({"offline"}),
    _K.MAINTENANCE_ON: frozenset({"maintenance"}),
    _K.MAINTENANCE_OFF: frozenset({"maintenance"}),
}
"""The group variables each kind of action may change (``@n``: on its node only)."""

NODE_WRITES: Mapping[ActionKind, frozenset[str]] = {
    _K.CRASH: frozenset({"down", "cut", "lost"}),
    _K.REJOIN: frozenset({"down"}),
    _K.PARTITION: frozenset({"cut"}),
    _K.HEAL: frozenset({"cut", "lost"}),
    _K.EXPIRE: frozenset({"cut", "lost"}),
    _K.DRAIN: frozenset({"drained"}),
    _K.UNDRAIN: frozenset({"drained"}),
}
"""The node status masks each node event may change, on its own node only (a crash does
not undrain, a rejoin does not heal); no other action changes the node status."""


def within_frame(v: View, action: Action, w: View) -> Bool:
    """Every variable ``action`` may not write keeps its value, and a per-node one it may
    write only on its own node keeps it on every other node."""
    a, n = v.a, action.node
    writes = GROUP_WRITES[action.kind]
    kept = [_kept(v, getattr(v.g, f), getattr(w.g, f), f, writes, n)
            for f in GroupVars._fields if f not in EPISODE_FLAGS]
    if action.group < 0:
        node_writes = frozenset(f"{f}@n" for f in NODE_WRITES.get(action.kind, ()))
        kept += [_kept(v, getattr(v.nodes, f), getattr(w.nodes, f), f, node_writes, n)
                 for f in NodeVars._fields]
    return a.and_(*kept)


def _kept(v: View, before: object, after: object, field: str, writes: frozenset[str],
          n: int) -> Bool:
    a = v.a
    if after is before or field in writes:  # the very same term, or any change allowed
        return a.true
    if field in FLAG_FIELDS:
        return a.or_(a.and_(before, after), a.and_(a.not_(before), a.not_(after)))
    if f"{field}@n" in writes and n >= 0:
        only_n = a.const(1 << n)
        return a.eq(a.without(after, only_n), a.without(before, only_n))
    return a.eq(after, before)
