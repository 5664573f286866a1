"""Enabledness invariants: what must be *possible* in every reachable state.

The other invariants say what a step may do when it is taken; these say that it can be
taken. A guard a little too strict passes every one of them: the checker explores a
smaller world than the assumption describes (a crash that never happens where one is
allowed proves nothing about the crash), or the runtime refuses an operator's command the
claims say it accepts. So each event of the environment and each command is stated here
on its own — from the failure assumption and from the notion of rest, not from its rule —
and the rule's guard, as the model runs it (read through the registry, so the mutation
harness's rules are the ones judged), must allow at least that. The step invariants
``events`` and ``commands`` hold the other direction: the guard allows nothing more.
"""

from __future__ import annotations

from crg.spec.invariants.state import (
    StateInvariant,
    at_rest,
    cannot_run,
    no_node_left,
    role_runs_app,
)
from crg.spec.invariants.words import available, holds, owned, switching_disabled, up
from crg.spec.rules import registry
from crg.spec.rules.view import View
from crg.spec.vocabulary.actions import ActionKind
from crg.spec.vocabulary.algebra import Bool

_K = ActionKind


def _implies(v: View, premise: Bool, conclusion: Bool) -> Bool:
    return v.a.or_(v.a.not_(premise), conclusion)


def _node_guard(v: View, kind: ActionKind, n: int) -> Bool:
    return registry.node_guard(kind, v.a, v.nodes, n, v.n_nodes,
                               v.topo.max_down)


def _group_guard(v: View, kind: ActionKind, n: int) -> Bool:
    rule = registry.KINDS[kind].rule
    assert rule is not None
    guard, _ = rule(v, n)
    return guard


def events_enabled(v: View) -> Bool:
    """Every event the failure assumption allows can happen: a crash of any node not
    crashed, a partition of any node up and in service, and a drain of any node not
    drained, whenever taking that node out keeps at most K nodes out (a drained node
    counts as out); a rejoin of any crashed node, a heal of any node cut off or lost, an
    undrain of any drained node, and the lease of a cut-off node can run out; an
    application fault wherever the application runs on its owner in contact with the
    store, under its monitors, in its role, managed and not already being handled; and the
    restart window can pass whenever the group has a failure record (a ban, or restarts
    used).

    Claims 1, 2, 6, 15, 16, 20: "upon an unavailability of the preferred node", "the node
    being shut down", "responsive to a failover of the application" — the checker proves
    the claims for every such failure, so every one of them must be explored."""
    a, nodes, g = v.a, v.nodes, v.g
    out = a.bor(a.bor(nodes.down, nodes.cut), a.bor(nodes.lost, nodes.drained))
    parts = []
    for n in range(v.n_nodes):
        room = a.popcount_le(a.with_bit(out, n, a.true), v.topo.max_down, v.n_nodes)
        allowed = {
            _K.CRASH: a.and_(a.not_(a.bit(nodes.down, n)), room),
            _K.PARTITION: a.and_(a.not_(a.bit(out, n)), room),
            _K.DRAIN: a.and_(a.not_(a.bit(nodes.drained, n)), room),
            _K.REJOIN: a.bit(nodes.down, n),
            _K.HEAL: a.or_(a.bit(nodes.cut, n), a.bit(nodes.lost, n)),
            _K.EXPIRE: a.bit(nodes.cut, n),
            _K.UNDRAIN: a.bit(nodes.drained, n),
        }
        parts += [_implies(v, when, _node_guard(v, kind, n)) for kind, when in allowed.items()]
    for c in v.topo.candidates:
        running = a.and_(owned(v, c), up(v, c), a.bit(g.app, c), a.bit(g.mon, c),
                         a.not_(g.failed), role_runs_app(v, c), a.not_(g.maintenance))
        parts.append(_implies(v, running, _group_guard(v, _K.FAULT, c)))
    record = a.or_(a.not_(a.is_zero(g.ban)), a.not_(a.eq(g.restarts, 0)))
    parts.append(_implies(v, record, _group_guard(v, _K.FORGIVE, 0)))
    return a.and_(*parts)


def commands_accepted(v: View) -> Bool:
    """A group at rest accepts every operator command that has something to do: a
    switchover to any candidate in contact with the store, not drained, not banned and not
    its owner, unless switching is disabled on its last node; offline while online, online
    while offline; maintenance on while not in maintenance; a clear while a switchover
    target is set. In any state, maintenance off
    while in maintenance, and a cleanup of any candidate with a failure record there (a
    ban, or restarts used on the owner). In maintenance, in any state, a switchover, a
    clear, an offline and an online as well: otherwise one given there could not be taken
    back, nor a group far from rest meanwhile be told where to go when it ends.

    Claims 5, 9, 19, 23: the cluster service "operates in an off-line mode" and
    "transfers the service ... responsive to a switchover" — an operator's command is not
    refused where the claims have it take effect."""
    a, g = v.a, v.g
    intent = []
    for c in v.topo.candidates:
        wanted = a.and_(up(v, c), available(v, c), a.not_(a.bit(g.ban, c)),
                        a.not_(owned(v, c)), a.not_(switching_disabled(v)),
                        a.not_(a.eq(g.target, a.const(c + 1))))  # not already asked
        intent.append(_implies(v, wanted, _group_guard(v, _K.SWITCHOVER, c)))
    intent += [
        _implies(v, a.not_(g.offline), _group_guard(v, _K.OFFLINE, 0)),
        _implies(v, g.offline, _group_guard(v, _K.ONLINE, 0)),
        _implies(v, a.not_(a.eq(g.target, 0)), _group_guard(v, _K.CLEAR, 0)),
    ]
    at_rest_now = [*intent,
                   _implies(v, a.not_(g.maintenance), _group_guard(v, _K.MAINTENANCE_ON, 0))]
    anytime = [_implies(v, g.maintenance, a.and_(_group_guard(v, _K.MAINTENANCE_OFF, 0),
                                                 *intent))]
    for c in v.topo.candidates:
        record = a.or_(a.bit(g.ban, c), a.and_(owned(v, c), a.not_(a.eq(g.restarts, 0))))
        anytime.append(_implies(v, record, _group_guard(v, _K.CLEANUP, c)))
    return a.and_(_implies(v, at_rest(v), a.and_(*at_rest_now)), *anytime)


def care_enabled(v: View) -> Bool:
    """What the cluster service must be able to do at once, whatever else is under way: a
    node cut off from the store can fence a group with ``fencing self`` that it holds
    something of (in maintenance too: its lease runs out all the same); the owner in
    contact with the store can raise the last-node alert as soon as switching is disabled
    and the blocked alert as soon as the group cannot run, each while its flag is down;
    and the first node in contact can raise the stranded alert as soon as no node of the
    group's list is left. A guard that made one of them wait would pass every other
    invariant: the checker never lets a lease run out before its node fenced (so a fence
    that waits hides two holders of the VIP), and an alert that waits is still raised
    once the cluster settles.

    Claims 1, 11, 15, 25: the VIP kept "available" through a failure, and the cluster
    service "disables switching ... for a last such possible node ... and issues an
    alert"."""
    a, g = v.a, v.g
    parts = []
    if v.topo.self_fencing:
        for n in range(v.n_nodes):
            cut_off = a.and_(a.bit(v.nodes.cut, n), holds(v, n))
            parts.append(_implies(v, cut_off, _group_guard(v, _K.FENCE, n)))
    for c in v.topo.candidates:
        host = a.and_(owned(v, c), up(v, c))
        parts.append(_implies(v, a.and_(host, switching_disabled(v), a.not_(g.alerted)),
                              _group_guard(v, _K.ALERT, c)))
        parts.append(_implies(v, a.and_(host, cannot_run(v), a.not_(g.blocked_alerted)),
                              _group_guard(v, _K.ALERT_BLOCKED, c)))
    first: Bool = a.true  # no node before n is in contact
    for n in range(v.n_nodes):
        stranded = a.and_(no_node_left(v), first, up(v, n), a.not_(g.stranded_alerted))
        parts.append(_implies(v, stranded, _group_guard(v, _K.ALERT_STRANDED, n)))
        first = a.and_(first, a.not_(up(v, n)))
    return a.and_(*parts)


ENABLED_INVARIANTS: tuple[StateInvariant, ...] = (
    StateInvariant("events-enabled", "always", (1, 2, 6, 15, 16, 20), events_enabled),
    StateInvariant("commands-accepted", "always", (5, 9, 19, 23), commands_accepted),
    StateInvariant("care-enabled", "always", (1, 11, 15, 25), care_enabled),
)
