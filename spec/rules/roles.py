"""What each node should hold of a group now (SPEC.md, "Derived notions"): the role the
placement gives it, what is in excess there, and when the group is at rest.

The run method adds what is wanted and missing; the halt method and the watchdog remove
what is held and not wanted.
"""

from __future__ import annotations

from crg.spec.rules.placement import blocked, moving
from crg.spec.rules.view import (
    View,
    _cached,
    any_available,
    cluster_coordinator,
    has_owner,
    holds,
    owned,
    up,
)
from crg.spec.vocabulary.algebra import Bool, Word


def runs_app(v: View, n: Word) -> Bool:
    """The group's role on ``n`` includes the application (claims 30-44 for instances).

    A failover group runs its application wherever it is placed; an instance group only on
    its preferred node, and elsewhere holds the VIP alone (offline mode). An operator's
    offline command makes every node VIP-only, and so does a blocked group (it cannot run
    anywhere: it keeps its VIP so clients are refused at once, and stops restarting).
    """
    a = v.a
    role = a.and_(a.not_(v.g.offline), a.not_(blocked(v)))
    if v.topo.failover:
        return role
    return a.and_(a.eq(n, v.topo.preferred), role)


def app_wanted(v: View, n: Word) -> Bool:
    """The application (and its monitors) should run on ``n`` now. Nothing is wanted on a
    node cut off from the store: it must fence."""
    a = v.a
    return a.and_(owned(v, n), a.not_(moving(v)), runs_app(v, n), a.not_(v.g.failed),
                  a.not_(a.bit(v.nodes.cut, n)))


def vip_wanted(v: View, n: Word) -> Bool:
    a = v.a
    return a.and_(owned(v, n), a.not_(moving(v)), a.not_(a.bit(v.nodes.cut, n)))


def excess(v: View, n: Word) -> Bool:
    """Node ``n`` holds more of the group than it should: a halt or clean-up is pending."""
    a = v.a
    return a.or_(
        a.and_(a.bit(v.g.vip, n), a.not_(vip_wanted(v, n))),
        a.and_(a.or_(a.bit(v.g.app, n), a.bit(v.g.mon, n)), a.not_(app_wanted(v, n))),
    )


def leftovers(v: View, n: Word) -> Bool:
    """What a watchdog must exist for (claims 3, 17, 34, 41): the node holds something of a
    group it no longer hosts, or hosts a group whose application failed there."""
    a = v.a
    return a.or_(a.and_(a.not_(owned(v, n)), holds(v, n)), a.and_(owned(v, n), v.g.failed))


def settled(v: View) -> Bool:
    """The group is at rest: owned, not moving, not failed, its stack on the owner exactly
    what its role asks (VIP, plus application, monitors and *service up* where it runs its
    application), nothing of it anywhere else, no watchdog running. Operator commands are
    accepted only then (SPEC.md, section 10, choice 11)."""
    return _cached("settled", v, -1, lambda: _settled(v))


def _settled(v: View) -> Bool:
    a, g = v.a, v.g
    on_owner = []
    for c in range(v.n_nodes):
        here = owned(v, c)
        full = a.and_(a.bit(g.vip, c), a.bit(g.app, c), a.bit(g.mon, c), g.announced)
        vip_only = a.and_(a.bit(g.vip, c), a.not_(a.bit(g.app, c)), a.not_(a.bit(g.mon, c)),
                          a.not_(g.announced))
        on_owner.append(a.or_(a.not_(here), a.ite(runs_app(v, c), full, vip_only)))
    own_bit = a.const(0)
    for c in range(v.n_nodes):
        own_bit = a.bor(own_bit, a.ite(owned(v, c), a.const(1 << c), a.const(0)))
    elsewhere = a.or_(a.not_(a.is_zero(a.without(g.vip, own_bit))),
                      a.not_(a.is_zero(a.without(g.app, own_bit))),
                      a.not_(a.is_zero(a.without(g.mon, own_bit))))
    return a.and_(has_owner(v), a.not_(moving(v)), a.not_(g.failed), a.is_zero(g.wd),
                  a.not_(elsewhere), *on_owner)


def orphaned_down(v: View, n: Word) -> Bool:
    """A *service down* is owed for a group nobody hosts and no candidate can host, and
    ``n`` is the node to send it: the cluster's coordinator — once it runs nothing of the
    group itself. A lost node of a ``fencing none`` group keeps its stack; healed and
    drained it is up but no candidate, and may be the coordinator: its watchdog stops the
    application first (halt-order: a down only from a node whose application stopped)."""
    a, g = v.a, v.g
    return a.and_(g.announced, a.not_(has_owner(v)), a.not_(any_available(v)),
                  a.eq(cluster_coordinator(v), a.add(n, 1)), up(v, n),
                  a.not_(a.bit(g.app, n)), a.not_(a.bit(g.mon, n)))
