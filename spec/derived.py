"""Derived predicates and the placement decision (SPEC.md, "Derived notions", "Placement").

A :class:`View` is what one group's rules may read: the node status, the group's own
variables and, for anti-affinity, the owners of the groups it avoids. Everything here is
written in the algebra (see :mod:`crg.spec.algebra`), so it means the same thing to the
runtime, the explicit checker and z3.

Node arguments are node *indices* (ints, or z3 terms); ``owner``/``target`` hold index + 1.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from crg.spec.algebra import Algebra, Bool, Word
from crg.spec.topology import GroupTopology
from crg.spec.variables import GroupVars, NodeVars


@dataclass(frozen=True, slots=True)
class View:
    a: Algebra
    topo: GroupTopology
    nodes: NodeVars
    g: GroupVars
    avoided_owners: Mapping[int, Any]
    """Owner value of each group in ``topo.avoid`` (by group index)."""
    n_nodes: int
    """Width of the node masks."""
    cache: dict[tuple[str, int], Any] = field(default_factory=dict, compare=False)
    """Derived values already computed for this view (a view never changes)."""


T = TypeVar("T")


def _cached(name: str, v: View, n: Any, compute: Callable[[], T]) -> T:
    # Only concrete node indices are cache keys: z3 terms do not compare with ``==``.
    if not isinstance(n, int):
        return compute()
    key = (name, n)
    try:
        return v.cache[key]  # type: ignore[no-any-return]
    except KeyError:
        value = v.cache[key] = compute()
        return value


# --- nodes ----------------------------------------------------------------------------


def live(v: View, n: Word) -> Bool:
    """The node's lease is valid: the store counts it (it is up, or cut off but not yet
    expired)."""
    a = v.a
    return _cached("live", v, n,
                   lambda: a.not_(a.or_(a.bit(v.nodes.down, n), a.bit(v.nodes.lost, n))))


def up(v: View, n: Word) -> Bool:
    """Live and in contact with the store: the only nodes that take cluster actions."""
    a = v.a
    return a.and_(live(v, n), a.not_(a.bit(v.nodes.cut, n)))


def available(v: View, n: Word) -> Bool:
    """Live and not drained: the node may host groups."""
    a = v.a
    return _cached("available", v, n,
                   lambda: a.and_(live(v, n), a.not_(a.bit(v.nodes.drained, n))))


def running(v: View, n: Word) -> Bool:
    """Processes can run there (up, cut off, or lost — but not crashed)."""
    return v.a.not_(v.a.bit(v.nodes.down, n))


def ref_node(v: View, ref: Word) -> Word:
    """The node index held in an owner/target reference (meaningless when ``ref`` is 0)."""
    return v.a.add(ref, -1)


def ref_live(v: View, ref: Word) -> Bool:
    a = v.a
    return a.and_(a.not_(a.eq(ref, 0)), live(v, ref_node(v, ref)))


def ref_available(v: View, ref: Word) -> Bool:
    a = v.a
    return a.and_(a.not_(a.eq(ref, 0)), available(v, ref_node(v, ref)))


# --- the group on one node ------------------------------------------------------------


def owned(v: View, n: Word) -> Bool:
    return v.a.eq(v.g.owner, v.a.add(n, 1))


def has_owner(v: View) -> Bool:
    return v.a.not_(v.a.eq(v.g.owner, 0))


def holds(v: View, n: Word) -> Bool:
    """Anything of the group is on node ``n``: VIP, application or monitors."""
    a = v.a
    return a.or_(a.bit(v.g.vip, n), a.bit(v.g.app, n), a.bit(v.g.mon, n))


def runs_app(v: View, n: Word) -> Bool:
    """The group's role on ``n`` includes the application (claims 30-44 for instances).

    A failover group runs its application wherever it is placed; an instance group only on
    its preferred node, and elsewhere holds the VIP alone (offline mode). An operator's
    offline command makes every node VIP-only.
    """
    a = v.a
    if v.topo.failover:
        return a.not_(v.g.offline)
    return a.and_(a.eq(n, v.topo.preferred), a.not_(v.g.offline))


def is_candidate(v: View, n: Word) -> Bool:
    return v.a.bit(v.a.const(v.topo.candidate_mask), n)


def eligible(v: View, n: int) -> Bool:
    """Available and still within its restart budget for this group."""
    a = v.a
    return a.and_(available(v, n), a.not_(a.bit(v.g.ban, n)))


def avoided_on(v: View, n: int) -> Bool:
    """Node ``n`` is held by a group this one avoids and which will not leave it by itself:
    ``n`` is that group's preferred node, or that group has manual failback. A group away
    from home with automatic failback is on its way back and blocks nothing — otherwise
    two groups avoiding each other could settle swapped, each on the other's preferred
    node, neither able to go home (``crg check`` found this on examples/anti-affinity.crg).
    """
    a = v.a
    blockers = []
    for h, home, stays in v.topo.avoided():
        if stays or n == home:
            blockers.append(a.eq(v.avoided_owners[h], n + 1))
    return a.or_(a.false, *blockers)


# --- the cluster service's decision -----------------------------------------------------


def switching_disabled(v: View) -> Bool:
    """The group sits on the last live node of its sequenced list (claims 11, 25, 35, 42):
    its owner is available and no other candidate is. Switching between possible nodes is
    then disabled — the group stays, restarting locally whatever its budget — and the
    last-node alert is due. (A drained owner is being emptied on purpose: not disabled.)"""
    return _cached("switching_disabled", v, -1, lambda: _switching_disabled(v))


def _switching_disabled(v: View) -> Bool:
    a = v.a
    others_gone = a.and_(*(a.or_(owned(v, c), a.not_(available(v, c)))
                           for c in v.topo.candidates))
    owner_stays = a.or_(a.false, *(a.and_(owned(v, c), available(v, c))
                                   for c in v.topo.candidates))
    return a.and_(owner_stays, others_gone)


def placement(v: View) -> Word:
    """Where the group should be (node index + 1; 0 when no candidate is live).

    In order: stay put when switching is disabled; an operator's switchover target while
    that node is available and not banned (a spent restart budget outranks the operator's
    wish, or a failing application would restart there forever); with manual failback,
    stay on an owner that is neither banned nor drained; otherwise the first candidate of
    the sequence that is eligible and not hosting a group this one avoids, then the first
    eligible one, then the first available one (a banned node is better than no node: the
    VIP must stay available). Drained nodes are never chosen.
    """
    return _cached("placement", v, -1, lambda: _placement(v))


def _placement(v: View) -> Word:
    a, g, cands = v.a, v.g, v.topo.candidates
    options: list[tuple[Bool, Word]] = [
        (switching_disabled(v), g.owner),
        (a.and_(ref_available(v, g.target), is_candidate(v, ref_node(v, g.target)),
                a.not_(a.bit(g.ban, ref_node(v, g.target)))), g.target),
    ]
    if not v.topo.auto_failback:
        owner = ref_node(v, g.owner)
        stay = a.and_(has_owner(v), a.not_(a.bit(g.ban, owner)),
                      a.not_(a.bit(v.nodes.drained, owner)))
        options.append((stay, g.owner))
    if v.topo.avoid:
        options += [(a.and_(eligible(v, c), a.not_(avoided_on(v, c))), a.const(c + 1))
                    for c in cands]
    options += [(eligible(v, c), a.const(c + 1)) for c in cands]
    options += [(available(v, c), a.const(c + 1)) for c in cands]
    return a.first(options, a.const(0))


def moving(v: View) -> Bool:
    """The group has an owner but should be elsewhere: its owner must halt it."""
    a = v.a
    return _cached("moving", v, -1,
                   lambda: a.and_(has_owner(v), a.not_(a.eq(placement(v), v.g.owner))))


def app_wanted(v: View, n: Word) -> Bool:
    """The application (and its monitors) should run on ``n`` now. Nothing is wanted on a
    node cut off from the store: it must fence."""
    a = v.a
    return a.and_(owned(v, n), a.not_(moving(v)), runs_app(v, n), a.not_(v.g.failed),
                  a.not_(a.bit(v.nodes.cut, n)))


def vip_wanted(v: View, n: Word) -> Bool:
    a = v.a
    return a.and_(owned(v, n), a.not_(moving(v)), a.not_(a.bit(v.nodes.cut, n)))


def any_available(v: View) -> Bool:
    """Some candidate of the group is available."""
    return v.a.or_(v.a.false, *(available(v, c) for c in v.topo.candidates))


def standby_available(v: View) -> Bool:
    """At least two candidates are available: whoever hosts the group has a standby."""
    a, cands = v.a, v.topo.candidates
    pairs = [a.and_(available(v, c), available(v, d))
             for i, c in enumerate(cands) for d in cands[i + 1:]]
    return a.or_(a.false, *pairs)


def cluster_coordinator(v: View) -> Word:
    """The first up node of the cluster (index + 1; 0 if none): sends what no host can,
    such as the *service down* of a group left without any candidate."""
    a = v.a
    return a.first([(up(v, n), a.const(n + 1)) for n in range(v.n_nodes)], a.const(0))


def service_up(v: View, n: Word) -> Bool:
    """The whole stack is up and healthy on ``n``: what a *service up* event announces."""
    a = v.a
    return a.and_(owned(v, n), a.bit(v.g.vip, n), a.bit(v.g.app, n), a.bit(v.g.mon, n),
                  a.not_(v.g.failed))


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


def coordinator(v: View) -> Word:
    """The first live candidate (index + 1): which node does group-wide bookkeeping that
    belongs to no owner (re-arming the last-node alert). Drained nodes still count: they
    are up and can write to the store."""
    a = v.a
    return a.first([(live(v, c), a.const(c + 1)) for c in v.topo.candidates], a.const(0))


def orphaned_down(v: View, n: Word) -> Bool:
    """A *service down* is owed for a group nobody hosts and no candidate can host, and
    ``n`` is the node to send it: the cluster's coordinator."""
    a = v.a
    return a.and_(v.g.announced, a.not_(has_owner(v)), a.not_(any_available(v)),
                  a.eq(cluster_coordinator(v), a.add(n, 1)), up(v, n))
