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
