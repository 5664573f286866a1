"""State invariants: predicates on one group's view, required in every reachable state
(*always*) or in every state where the cluster service has nothing left to do
(*quiescent*). Written in the algebra, so z3 proves exactly these."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from crg.spec.rules.placement import switching_disabled
from crg.spec.rules.roles import leftovers
from crg.spec.rules.view import (
    View,
    available,
    eligible,
    owned,
    runs_app,
    service_up,
    up,
)
from crg.spec.vocabulary.algebra import Bool, Word


@dataclass(frozen=True, slots=True)
class StateInvariant:
    name: str
    sort: str
    """``always`` or ``quiescent``."""
    claims: tuple[int, ...]
    predicate: Callable[[View], Bool]

    @property
    def statement(self) -> str:
        """The exact statement: the docstring's first paragraph (the second quotes the
        claims the invariant serves)."""
        return (self.predicate.__doc__ or "").strip().split("\n\n")[0]


def _hosts(v: View, c: int) -> Bool:
    """Candidate ``c`` can host the group now: up (in contact) and not drained."""
    return v.a.and_(up(v, c), available(v, c))


def _up_candidates(v: View) -> Word:
    a, mask = v.a, v.a.const(0)
    for c in v.topo.candidates:
        mask = a.bor(mask, a.ite(_hosts(v, c), a.const(1 << c), a.const(0)))
    return mask


def _any_candidate_up(v: View) -> Bool:
    return v.a.or_(v.a.false, *(_hosts(v, c) for c in v.topo.candidates))


# --- always ---------------------------------------------------------------------------


def vip_unique(v: View) -> Bool:
    """The VIP is never configured on two nodes at once.

    Claims 1, 15: the application is "externally accessed using the logical network
    address" — one address, one service instance answering it."""
    return v.a.at_most_one(v.g.vip)


def vip_allowed(v: View) -> Bool:
    """The VIP is only ever on the group's preferred or possible nodes.

    Claims 1, 10: "a preferred node for execution and one or more possible nodes as
    standby nodes"; "a sequenced list of possible nodes"."""
    return v.a.is_zero(v.a.without(v.g.vip, v.a.const(v.topo.candidate_mask)))


def app_exclusive(v: View) -> Bool:
    """A failover group's application runs on at most one node.

    Claims 6, 20: the cluster service "transfers the service ... from the preferred node
    to one such possible node" — transfers, not copies."""
    return v.a.at_most_one(v.g.app) if v.topo.failover else v.a.true


def run_order(v: View) -> Bool:
    """On every node: monitors run only where the application runs, and the application
    runs only where the VIP is held — the order of the run method, undone in reverse by
    the halt method.

    Claims 2, 14, 36: "a run method starting each cooperative resource group in an
    ordered fashion"; it "acquires an internet protocol address ... upon executing the run
    method"; the halt module stops "the application event monitors, stopping the
    application and releasing the internet protocol address"."""
    a = v.a
    return a.and_(a.is_zero(a.without(v.g.app, v.g.vip)), a.is_zero(a.without(v.g.mon, v.g.app)))


def watchdog(v: View) -> Bool:
    """An up node that holds anything of a group it does not own, or owns a group whose
    application failed there, runs a watchdog for that group.

    Claims 3, 34: "a watchdog process ... executing upon a failure or shutdown of the
    cooperative resource group"; "a watchdog process on the preferred node upon the
    halting of the application"."""
    a = v.a
    return a.and_(*(
        a.or_(a.not_(a.and_(up(v, n), leftovers(v, n))), a.bit(v.g.wd, n))
        for n in range(v.n_nodes)
    ))


def coverage(v: View) -> Bool:
    """Within the assumed failures, some candidate node of the group is up (and not
    drained).

    Claims 1, 15: "one or more possible nodes as standby nodes" — enough of them for the
    failures the operator plans for."""
    return _any_candidate_up(v)


# --- quiescent ----------------------------------------------------------------------


def vip_held(v: View) -> Bool:
    """Quiescent and some candidate up (and not drained): the VIP is held by exactly one
    node, such a candidate.

    Claims 1, 5, 7: "keeping the logical network address available on each possible
    node"; "an off-line mode with the logical network address available"."""
    a, vip = v.a, v.g.vip
    held = a.and_(a.not_(a.is_zero(vip)), a.at_most_one(vip),
                  a.is_zero(a.without(vip, _up_candidates(v))))
    return a.or_(a.not_(_any_candidate_up(v)), held)


def normal_mode(v: View) -> Bool:
    """Quiescent, every candidate up, failback auto, no switchover in force, no node
    banned and not put offline: the group runs on its preferred node with its application
    up.

    Claims 4, 18: "a normal mode with each cooperative resource group executing on the
    preferred node"."""
    a, g, p = v.a, v.g, v.topo.preferred
    if not v.topo.auto_failback:
        return a.true
    applies = a.and_(*(_hosts(v, c) for c in v.topo.candidates), a.eq(g.target, 0),
                     a.is_zero(g.ban), a.not_(g.offline))
    normal = a.and_(owned(v, p), a.bit(g.app, p), g.announced)
    return a.or_(a.not_(applies), normal)


def failover_order(v: View) -> Bool:
    """Quiescent, failback auto and no switchover in force: the group is on the first node
    of its sequence that is up, within its restart budget and free of groups it avoids
    (or, if none is, the first up and within budget; or, failing that, the first up).

    Claims 6, 10: the service goes "to one such possible node" of "a sequenced list of
    possible nodes" — the sequence decides which."""
    a, g = v.a, v.g
    if not v.topo.auto_failback:
        return a.true
    return a.or_(a.not_(a.eq(g.target, 0)), a.eq(g.owner, expected_host(v)))


def expected_host(v: View) -> Word:
    """The first eligible node, preferring nodes free of avoided groups (index + 1)."""
    a, cands = v.a, v.topo.candidates

    def free(c: int) -> Bool:
        # not held by an avoided group that stays there (its home, or manual failback)
        return a.and_(*(a.not_(a.eq(v.avoided_owners[h], c + 1))
                        for h, home, stays in v.topo.avoided()
                        if stays or c == home))

    options = [(a.and_(eligible(v, c), free(c)), a.const(c + 1)) for c in cands]
    options += [(eligible(v, c), a.const(c + 1)) for c in cands]
    options += [(available(v, c), a.const(c + 1)) for c in cands]
    return a.first(options, a.const(0))


def last_node_alert(v: View) -> Bool:
    """Quiescent on the last live node of its list: switching is disabled and the alert
    has been raised for this episode.

    Claims 11, 35: the cluster service "disables switching between the possible nodes for
    a last such possible node ... and issues an alert"."""
    return v.a.or_(v.a.not_(switching_disabled(v)), v.g.alerted)


def notify_settled(v: View) -> Bool:
    """Quiescent: the last service event sent says *up* exactly when the service is up.

    Claims 12, 13: "sending a service up event notification"; "sending a service down
    event notification"."""
    a = v.a
    up_somewhere = a.or_(a.false, *(a.and_(service_up(v, c), runs_app(v, c))
                                    for c in v.topo.candidates))
    return a.eq(v.g.announced, up_somewhere)


STATE_INVARIANTS: tuple[StateInvariant, ...] = (
    StateInvariant("vip-unique", "always", (1, 5, 15, 19), vip_unique),
    StateInvariant("vip-allowed", "always", (1, 10, 15, 24), vip_allowed),
    StateInvariant("app-exclusive", "always", (1, 6, 20), app_exclusive),
    StateInvariant("run-order", "always", (2, 14, 16, 28, 30, 36, 37, 43), run_order),
    StateInvariant("watchdog", "always", (3, 17, 34, 41), watchdog),
    StateInvariant("coverage", "always", (1, 10, 15, 24), coverage),
    StateInvariant("vip-held", "quiescent", (1, 5, 7, 8, 15, 19, 21, 22), vip_held),
    StateInvariant("normal-mode", "quiescent", (4, 18), normal_mode),
    StateInvariant("failover-order", "quiescent", (6, 10, 20, 24), failover_order),
    StateInvariant("last-node-alert", "quiescent", (11, 25, 35, 42), last_node_alert),
    StateInvariant("notify", "quiescent", (12, 13, 26, 27, 30, 36, 37, 43), notify_settled),
)

