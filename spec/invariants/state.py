"""State invariants: predicates on one group's view, required in every reachable state
(*always*) or in every state where the cluster service has nothing left to do
(*quiescent*). Written in the algebra, so z3 proves exactly these."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from crg.spec.invariants.avoided import avoided
from crg.spec.invariants.words import (
    available,
    eligible,
    holds,
    leftovers,
    owned,
    runs_app,
    service_up,
    switching_disabled,
    up,
)
from crg.spec.rules.placement import moving
from crg.spec.rules.view import View
from crg.spec.vocabulary.algebra import Bool, Word
from crg.spec.vocabulary.topology import stated_auto_failback, stated_budget, stated_failover


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
    return v.a.at_most_one(v.g.app) if stated_failover(v.topo) else v.a.true


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




def free_of_avoided(v: View, c: int) -> Bool:
    """Candidate ``c`` is free of the groups this one avoids, as far as they stay: no
    avoided group holds ``c`` while ``c`` is its own preferred node, or while it does not
    fail back by itself, or while something keeps it from going back: its preferred node
    is not available, or is banned for it, or it is in maintenance, or a switchover target
    of its own other than home is in force. An instance group's preferred node is free
    for it whatever holds it: its application runs nowhere else."""
    a = v.a
    if not stated_failover(v.topo) and c == v.topo.preferred:
        return a.true
    parts = []
    for h in avoided(v.topo):
        x = v.avoided[h.index]
        there = a.eq(x.owner, c + 1)
        if c == h.home or not h.auto_failback or h.home < 0:
            stays = a.true
        else:
            pointed = [a.and_(a.eq(x.target, t + 1), a.not_(a.bit(x.ban, t)), available(v, t))
                       for t in h.candidates if t != h.home]
            stays = a.or_(a.not_(available(v, h.home)), a.bit(x.ban, h.home), x.maintenance,
                          *pointed)
        parts.append(a.not_(a.and_(there, stays)))
    return a.and_(*parts)


def target_in_force(v: View) -> Bool:
    """An operator's switchover target is in force: a candidate, available and not banned."""
    a, t = v.a, v.g.target
    node = a.add(t, -1)
    return a.and_(a.not_(a.eq(t, 0)), a.bit(a.const(v.topo.candidate_mask), node),
                  available(v, node), a.not_(a.bit(v.g.ban, node)))


def cannot_run(v: View) -> Bool:
    """The group cannot run anywhere: its owner is available and banned, and every
    candidate is out or banned."""
    a, g = v.a, v.g
    owner = a.add(g.owner, -1)
    none_left = a.and_(*(a.not_(eligible(v, c)) for c in v.topo.candidates))
    return a.and_(a.not_(a.eq(g.owner, 0)), available(v, owner), a.bit(g.ban, owner),
                  none_left)


def no_node_left(v: View) -> Bool:
    """Nobody hosts the group and every node of its list is down, lost or drained."""
    a = v.a
    return a.and_(a.eq(v.g.owner, 0), *(a.not_(available(v, c)) for c in v.topo.candidates))


def anyone_in_contact(v: View) -> Bool:
    """Some node of the cluster is in contact with the store (and so can tell the sinks)."""
    return v.a.or_(v.a.false, *(up(v, n) for n in range(v.n_nodes)))


def budget_bound(v: View) -> Bool:
    """The local restarts used on the current owner never exceed the configured budget,
    and no switchover target names a node where the budget is spent (the fault that
    spends it withdraws the switchover: the window passing must not revive a move that
    failed).

    Claims 6, 20: the cluster service "transfers the service ... responsive to a failover
    of the application" — after the local restarts the budget allows, not more."""
    a, t = v.a, v.g.target
    within = a.not_(a.lt(a.const(stated_budget(v.topo)), v.g.restarts))
    return a.and_(within, a.or_(a.eq(t, 0), a.not_(a.bit(v.g.ban, a.add(t, -1)))))


def leave_reason(v: View) -> Bool:
    """An owned group has a reason to leave its owner: the owner may no longer host it
    (out, drained or banned), an operator's switchover target is in force elsewhere, or —
    with failback auto — its preferred node is eligible again and free of the groups it
    avoids, or it shares its node with a group it avoids and a free eligible node exists.
    Manual failback never moves a settled group by itself."""
    a, g, p = v.a, v.g, v.topo.preferred
    owner = a.add(g.owner, -1)
    reasons = [a.not_(available(v, owner)), a.bit(g.ban, owner),
               a.and_(target_in_force(v), a.not_(a.eq(g.target, g.owner)))]
    if stated_auto_failback(v.topo):
        reasons.append(a.and_(a.not_(owned(v, p)), eligible(v, p), free_of_avoided(v, p)))
        crowded = a.and_(*(a.or_(a.not_(owned(v, c)), a.not_(free_of_avoided(v, c)))
                           for c in v.topo.candidates))
        elsewhere = a.or_(a.false, *(a.and_(eligible(v, c), free_of_avoided(v, c))
                                     for c in v.topo.candidates))
        reasons.append(a.and_(crowded, elsewhere))
    return a.or_(a.eq(g.owner, 0), *reasons)


def role_runs_app(v: View, c: int) -> Bool:
    """The group's role on candidate ``c`` includes its application: not offline, not
    blocked, and for an instance group only its preferred node."""
    a, g = v.a, v.g
    if not stated_failover(v.topo) and c != v.topo.preferred:
        return a.false
    return a.and_(a.not_(g.offline), a.not_(cannot_run(v)))


def at_rest(v: View) -> Bool:
    """The group is at rest: it has an owner it stays on (the placement keeps it there),
    the owner holds the group's whole stack as its role says (VIP, application, monitors
    and the service up sent; or the VIP alone, service down sent) and no other node holds
    anything of it, and no failure or watchdog is outstanding."""
    a, g = v.a, v.g
    placed = []
    for c in range(v.n_nodes):
        if c in v.topo.candidates:
            full = a.and_(a.bit(g.vip, c), a.bit(g.app, c), a.bit(g.mon, c), g.announced)
            vip_only = a.and_(a.bit(g.vip, c), a.not_(a.bit(g.app, c)),
                              a.not_(a.bit(g.mon, c)), a.not_(g.announced))
            on_owner = a.ite(role_runs_app(v, c), full, vip_only)
        else:
            on_owner = a.false
        placed.append(a.ite(owned(v, c), on_owner, a.not_(holds(v, c))))
    return a.and_(a.not_(a.eq(g.owner, 0)), a.not_(moving(v)), a.not_(g.failed),
                  a.is_zero(g.wd), *placed)


def watchdog_retired(v: View) -> Bool:
    """Quiescent and not in maintenance: no node in contact with the store runs a
    watchdog for the group — each has cleaned up what it held and retired.

    Claims 3, 17, 34, 41: the watchdog executes "upon a failure or shutdown" and its work
    ends; one left running would fence a node that holds nothing."""
    a = v.a
    return a.or_(v.g.maintenance, a.and_(
        *(a.not_(a.and_(a.bit(v.g.wd, n), up(v, n))) for n in range(v.n_nodes))))


# --- quiescent ----------------------------------------------------------------------


def vip_held(v: View) -> Bool:
    """Quiescent, not in maintenance, and some candidate up (and not drained): the VIP is
    held by exactly one node, such a candidate.

    Claims 1, 5, 7: "keeping the logical network address available on each possible
    node"; "an off-line mode with the logical network address available"."""
    a, vip = v.a, v.g.vip
    held = a.and_(a.not_(a.is_zero(vip)), a.at_most_one(vip),
                  a.is_zero(a.without(vip, _up_candidates(v))))
    return a.or_(v.g.maintenance, a.not_(_any_candidate_up(v)), held)


def normal_mode(v: View) -> Bool:
    """Quiescent, not in maintenance, every candidate up, failback auto, no switchover in
    force, no node banned, not put offline, and the preferred node free of the groups it
    avoids: the group runs on its preferred node with its application up.

    Claims 4, 18: "a normal mode with each cooperative resource group executing on the
    preferred node"."""
    a, g, p = v.a, v.g, v.topo.preferred
    if not stated_auto_failback(v.topo):
        return a.true
    applies = a.and_(*(_hosts(v, c) for c in v.topo.candidates), a.eq(g.target, 0),
                     a.is_zero(g.ban), a.not_(g.offline), free_of_avoided(v, p))
    normal = a.and_(owned(v, p), a.bit(g.app, p), g.announced)
    return a.or_(v.g.maintenance, a.not_(applies), normal)


def failover_order(v: View) -> Bool:
    """Quiescent and not in maintenance: the group is on no node that may not host it (a
    drained one); a switchover target in force is where the group is; otherwise the group
    is on an eligible node (up and within its restart budget) whenever one exists, and
    with failback auto on one free of the groups it avoids whenever one is, and on its
    preferred node whenever that one is eligible and free.

    Claims 6, 10: the service goes "to one such possible node" of "a sequenced list of
    possible nodes" — the sequence decides which."""
    a, g, p = v.a, v.g, v.topo.preferred
    owner = a.add(g.owner, -1)
    some_eligible = a.or_(a.false, *(eligible(v, c) for c in v.topo.candidates))
    on_target = a.or_(a.not_(target_in_force(v)), a.eq(g.owner, g.target))
    on_eligible = a.or_(target_in_force(v), a.not_(some_eligible),
                        a.and_(a.not_(a.eq(g.owner, 0)), eligible(v, owner)))
    # A drained owner with nowhere else to go lets go all the same (the group is down
    # until a node of its list is back): nothing else says so when no candidate is
    # eligible, and a slip that kept it there passed every check but one, by chance.
    may_host = a.or_(a.eq(g.owner, 0), available(v, owner))
    parts = [may_host, on_target, on_eligible]
    if stated_auto_failback(v.topo):
        home_ready = a.and_(eligible(v, p), free_of_avoided(v, p), a.not_(target_in_force(v)))
        parts.append(a.or_(a.not_(home_ready), owned(v, p)))
        some_free = a.or_(a.false, *(a.and_(eligible(v, c), free_of_avoided(v, c))
                                     for c in v.topo.candidates))
        on_free = a.or_(a.false, *(a.and_(owned(v, c), eligible(v, c), free_of_avoided(v, c))
                                   for c in v.topo.candidates))
        parts.append(a.or_(target_in_force(v), a.not_(some_free), on_free))
    return a.or_(g.maintenance, a.and_(*parts))


def expected_host(v: View) -> Word:
    """Where a free group lands (index + 1): the first eligible candidate free of the
    groups it avoids, else the first eligible, else the first available."""
    a, cands = v.a, v.topo.candidates
    options = [(a.and_(eligible(v, c), free_of_avoided(v, c)), a.const(c + 1)) for c in cands]
    options += [(eligible(v, c), a.const(c + 1)) for c in cands]
    options += [(available(v, c), a.const(c + 1)) for c in cands]
    return a.first(options, a.const(0))


def no_drained_target(v: View) -> Bool:
    """A switchover target never names a drained node: draining a node withdraws a wish to
    move there, and undraining it must not revive the wish.

    Claims 9, 23: the cluster service "transfers the service ... to one such possible
    node responsive to a switchover" — a node that may host it."""
    a, t = v.a, v.g.target
    return a.or_(a.eq(t, 0), a.not_(a.bit(v.nodes.drained, a.add(t, -1))))


def alert_episode(v: View) -> Bool:
    """An alert's flag is set only during its episode: the last-node alert's while the
    group sits on its last available candidate, the blocked alert's while the group
    cannot run anywhere, the stranded alert's while no node of its list is left. (The
    event that ends an episode clears its flag.)

    Claims 11, 25: the cluster service "issues an alert" for "a last such possible node" —
    for the one it is on now, not a past one."""
    a, g = v.a, v.g
    return a.and_(a.or_(a.not_(g.alerted), switching_disabled(v)),
                  a.or_(a.not_(g.blocked_alerted), cannot_run(v)),
                  a.or_(a.not_(g.stranded_alerted), no_node_left(v)))


def last_node_alert(v: View) -> Bool:
    """Quiescent on the last live node of its list: switching is disabled and the alert
    has been raised for this episode.

    Claims 11, 35: the cluster service "disables switching between the possible nodes for
    a last such possible node ... and issues an alert"."""
    return v.a.or_(v.a.not_(switching_disabled(v)), v.g.alerted)


def blocked_alert(v: View) -> Bool:
    """Quiescent and unable to run anywhere (the owner banned, every candidate out or
    banned): the group has raised its blocked alert for this episode and runs its
    application nowhere.

    Claims 6, 11: the cluster service "transfers the service" on a failover and, where no
    node is left to transfer it to, "issues an alert"."""
    a = v.a
    return a.or_(a.not_(cannot_run(v)), a.and_(v.g.blocked_alerted, a.is_zero(v.g.app)))


def stranded_alert(v: View) -> Bool:
    """Quiescent with no node of its list left (nobody hosts the group, every candidate
    down, lost or drained) while some node is in contact with the store: the group has
    raised its stranded alert for this episode.

    Claims 11, 25: past "a last such possible node" the service is down, and the cluster
    service "issues an alert" — an operator must hear that nothing runs it any more."""
    a = v.a
    return a.or_(a.not_(no_node_left(v)), a.not_(anyone_in_contact(v)), v.g.stranded_alerted)


def app_role(v: View) -> Bool:
    """Quiescent and not in maintenance: on the nodes in contact with the store, the
    application runs only on the owner, and only where the group's role includes it — not
    offline, not blocked, and for an instance group only on its preferred node — and where
    the owner's role includes it, it runs there with its monitors. (A node cut off without
    fencing may keep what it ran; where that matters, vip-unique and app-exclusive say
    so.)

    Claims 5, 30: "an off-line mode with the logical network address available"; "a
    cluster framework stack started on the preferred node"."""
    a, g = v.a, v.g
    owner = a.add(g.owner, -1)
    role = a.and_(a.not_(g.offline), a.not_(cannot_run(v)))
    if not stated_failover(v.topo):
        role = a.and_(role, a.eq(g.owner, v.topo.preferred + 1))
    in_contact = a.const(0)
    for n in range(v.n_nodes):
        in_contact = a.bor(in_contact, a.ite(up(v, n), a.const(1 << n), a.const(0)))
    app = a.band(g.app, in_contact)
    only_owner = a.and_(a.not_(a.eq(g.owner, 0)),
                        a.is_zero(a.without(app, a.with_bit(a.const(0), owner, a.true))))
    placed = []
    for c in v.topo.candidates:
        here = a.and_(owned(v, c), role_runs_app(v, c))
        placed.append(a.or_(a.not_(here), a.and_(a.bit(g.app, c), a.bit(g.mon, c))))
    return a.or_(g.maintenance, a.and_(a.or_(a.is_zero(app), a.and_(only_owner, role)),
                                       *placed))


def notify_settled(v: View) -> Bool:
    """Quiescent and not in maintenance: the last service event sent says *up* exactly when
    the service is up.

    Claims 12, 13: "sending a service up event notification"; "sending a service down
    event notification"."""
    a = v.a
    up_somewhere = a.or_(a.false, *(a.and_(service_up(v, c), runs_app(v, c))
                                    for c in v.topo.candidates))
    return a.or_(v.g.maintenance, a.eq(v.g.announced, up_somewhere))


GUARANTEES: tuple[StateInvariant, ...] = (
    StateInvariant("vip-unique", "always", (1, 5, 15, 19), vip_unique),
    StateInvariant("vip-allowed", "always", (1, 10, 15, 24), vip_allowed),
    StateInvariant("app-exclusive", "always", (1, 6, 20), app_exclusive),
    StateInvariant("run-order", "always", (2, 14, 16, 28, 30, 36, 37, 43), run_order),
    StateInvariant("watchdog", "always", (3, 17, 34, 41), watchdog),
    StateInvariant("coverage", "always", (1, 10, 15, 24), coverage),
    StateInvariant("restart-budget", "always", (6, 20), budget_bound),
    StateInvariant("drain", "always", (9, 23), no_drained_target),
    StateInvariant("alert-episode", "always", (11, 25), alert_episode),
    StateInvariant("vip-held", "quiescent", (1, 5, 7, 8, 15, 19, 21, 22), vip_held),
    StateInvariant("normal-mode", "quiescent", (4, 18), normal_mode),
    StateInvariant("failover-order", "quiescent", (6, 10, 20, 24), failover_order),
    StateInvariant("last-node-alert", "quiescent", (11, 25, 35, 42), last_node_alert),
    StateInvariant("blocked", "quiescent", (6, 11, 20, 25), blocked_alert),
    StateInvariant("stranded", "quiescent", (11, 25), stranded_alert),
    StateInvariant("app-role", "quiescent", (5, 19, 30, 37), app_role),
    StateInvariant("notify", "quiescent", (12, 13, 26, 27, 30, 36, 37, 43), notify_settled),
    StateInvariant("watchdog-retired", "quiescent", (3, 17, 34, 41), watchdog_retired),
)
