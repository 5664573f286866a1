"""The placement decision (SPEC.md, "Placement"): where a group should be, and whether it
is on its way there.

This is the one decision of the cluster service; the run and halt methods only carry it
out. The invariants restate it declaratively, so a slip here is caught instead of being
its own oracle.
"""

from __future__ import annotations

from crg.spec.rules.view import (
    View,
    _cached,
    available,
    eligible,
    has_owner,
    is_candidate,
    owned,
    ref_available,
    ref_node,
)
from crg.spec.vocabulary.algebra import Bool, Word
from crg.spec.vocabulary.topology import AvoidedGroup


def avoided_on(v: View, n: int) -> Bool:
    """Node ``n`` is held by a group this one avoids and which will not leave it by itself:
    ``n`` is that group's preferred node, or that group stays where it is (manual
    failback), or it is not on its way back home (:func:`leaves_for_home`). An avoided
    group on its way back blocks nothing — otherwise two groups avoiding each other could
    settle swapped, each on the other's preferred node, neither able to go home
    (``crg check`` found this on examples/anti-affinity.crg).
    """
    a = v.a
    blockers = []
    for h in v.topo.avoided():
        here = a.eq(v.avoided[h.index].owner, n + 1)
        if n == h.home or not h.auto_failback or h.home < 0:
            blockers.append(here)
        else:
            blockers.append(a.and_(here, a.not_(leaves_for_home(v, h))))
    return a.or_(a.false, *blockers)


def kept_apart(v: View, n: int) -> Bool:
    """The group keeps off candidate ``n`` for the groups it avoids: ``n`` is
    :func:`avoided_on`, and is not an ``instance`` group's preferred node. An instance
    runs its application there and nowhere else: keeping apart would take it out of
    service (offline mode elsewhere) for a soft preference, so at home it shares the node;
    ``avoid`` still steers where its VIP waits in offline mode."""
    if not v.topo.failover and n == v.topo.preferred:
        return v.a.false
    return avoided_on(v, n)


def leaves_for_home(v: View, h: AvoidedGroup) -> Bool:
    """Avoided group ``h`` (automatic failback, away from home) goes back to its preferred
    node by itself: home is available and within its restart budget, no switchover
    target of its own other than home keeps it elsewhere, and it is not in maintenance.
    Its own placement rules 2 and 3, read from what it shows other groups; whether a group
    ``h`` avoids in turn holds its home is not read (SPEC.md section 4, "Known limit")."""
    a, x, home = v.a, v.avoided[h.index], h.home
    # one case per candidate, not the target as a symbolic bit index: z3 decides these
    # concrete bits faster, and every query of an avoid component reads them
    kept_elsewhere = a.or_(a.false, *(a.and_(a.eq(x.target, t + 1), available(v, t),
                                             a.not_(a.bit(x.ban, t)))
                                      for t in h.candidates if t != home))
    return a.and_(available(v, home), a.not_(a.bit(x.ban, home)), a.not_(x.maintenance),
                  a.not_(kept_elsewhere))


def may_claim(v: View) -> Bool:
    """Every group this one avoids that comes first in the placement order has been
    placed, or will not be for now: no candidate of its own is available, or it is in
    maintenance (the cluster service takes no action for it, so it would be waited for
    until the maintenance ends). An avoided group takes its node first and the avoiding
    group picks around it, so where groups land does not depend on which the cluster
    service starts first (SPEC.md, section 4)."""
    a = v.a
    waits = []
    for h in v.topo.avoided():
        if h.placed_first:
            x = v.avoided[h.index]
            could = a.or_(a.false, *(available(v, c) for c in h.candidates))
            waits.append(a.or_(a.not_(a.eq(x.owner, 0)), a.not_(could), x.maintenance))
    return a.and_(*waits)


def switching_disabled(v: View) -> Bool:
    """The group sits on the last live node of its sequenced list (claims 11, 25, 35, 42):
    its owner is available and no other candidate is. Switching between possible nodes is
    then disabled — the group stays put — and the last-node alert is due. (A drained owner
    is being emptied on purpose: not disabled.)"""
    return _cached("switching_disabled", v, -1, lambda: _switching_disabled(v))


def _switching_disabled(v: View) -> Bool:
    a = v.a
    others_gone = a.and_(*(a.or_(owned(v, c), a.not_(available(v, c)))
                           for c in v.topo.candidates))
    owner_stays = a.or_(a.false, *(a.and_(owned(v, c), available(v, c))
                                   for c in v.topo.candidates))
    return a.and_(owner_stays, others_gone)


def any_eligible(v: View) -> Bool:
    """Some candidate is available and within its restart budget."""
    return v.a.or_(v.a.false, *(eligible(v, c) for c in v.topo.candidates))


def blocked(v: View) -> Bool:
    """The group cannot run anywhere: its owner is available but has spent the restart
    budget, and no candidate is available within budget. It then stays where it is with
    its VIP (clients are refused at once, as in offline mode), its application stopped,
    and raises the blocked alert, until a window passes, an operator cleans up, or a
    candidate comes back (issue 13; Pacemaker's migration-threshold does the same)."""
    return _cached("blocked", v, -1, lambda: _blocked(v))


def _blocked(v: View) -> Bool:
    a, g = v.a, v.g
    owner = ref_node(v, g.owner)
    return a.and_(has_owner(v), available(v, owner), a.bit(g.ban, owner),
                  a.not_(any_eligible(v)))


def placement(v: View) -> Word:
    """Where the group should be (node index + 1; 0 when no candidate is live).

    In order:

    1. stay put when switching is disabled (the last available candidate);
    2. an operator's switchover target while that node is available and not banned (a
       spent restart budget outranks the operator's wish, or a failing application would
       restart there forever);
    3. with automatic failback, the preferred node once it is eligible again and free of
       the groups this one avoids (claims 4, 18: back to normal mode); and an owner that
       is eligible and free of them, else the first candidate that is (a group sharing
       a node with a group it avoids moves away once a free node is there);
    4. stay on an owner that is eligible: a group moves only when it must, or to go home
       (every move is an outage; the order of the possible nodes says where to go when
       the group has to, not where it should wander to later);
    5. stay on an available owner when no candidate is eligible (the group is blocked:
       moving would only restart it somewhere it is banned);
    6. the first candidate of the sequence that is eligible and not hosting a group this
       one avoids, then the first eligible one, then the first available one (a banned
       node is better than no node: the VIP must stay available).

    Drained nodes are never chosen.
    """
    return _cached("placement", v, -1, lambda: _placement(v))


def _placement(v: View) -> Word:
    a, g, cands = v.a, v.g, v.topo.candidates
    owner = ref_node(v, g.owner)
    options: list[tuple[Bool, Word]] = [
        (switching_disabled(v), g.owner),
        (a.and_(ref_available(v, g.target), is_candidate(v, ref_node(v, g.target)),
                a.not_(a.bit(g.ban, ref_node(v, g.target)))), g.target),
    ]
    if v.topo.auto_failback:
        home = v.topo.preferred
        options.append((a.and_(eligible(v, home), a.not_(kept_apart(v, home))),
                        a.const(home + 1)))
        if v.topo.avoid:
            free_owner = a.or_(a.false, *(a.and_(owned(v, c), eligible(v, c),
                                                 a.not_(kept_apart(v, c)))
                                          for c in cands))
            options.append((free_owner, g.owner))
            options += [(a.and_(eligible(v, c), a.not_(kept_apart(v, c))), a.const(c + 1))
                        for c in cands]
    options.append((a.and_(has_owner(v), available(v, owner), a.not_(a.bit(g.ban, owner))),
                    g.owner))
    options.append((a.and_(has_owner(v), available(v, owner), a.not_(any_eligible(v))),
                    g.owner))
    if v.topo.avoid:
        options += [(a.and_(eligible(v, c), a.not_(kept_apart(v, c))), a.const(c + 1))
                    for c in cands]
    options += [(eligible(v, c), a.const(c + 1)) for c in cands]
    options += [(available(v, c), a.const(c + 1)) for c in cands]
    return a.first(options, a.const(0))


def moving(v: View) -> Bool:
    """The group has an owner but should be elsewhere: its owner must halt it."""
    a = v.a
    return _cached("moving", v, -1,
                   lambda: a.and_(has_owner(v), a.not_(a.eq(placement(v), v.g.owner))))
