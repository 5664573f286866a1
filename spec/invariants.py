"""The invariants, by their stable names (SPEC.md, "Invariants").

Three sorts:

* *always*: a predicate on one group's :class:`View`, required in every reachable state;
* *quiescent*: the same, required in every state where no step of the cluster service is
  enabled (the cluster has settled);
* *step*: a condition on each transition ``(state, action, next state)``, concrete only.

State predicates are written in the algebra, so z3 proves exactly these. The liveness
half of ``vip-held`` (every fair run settles) is a property of the state graph, decided by
the checker; it is listed here so that reports and SPEC.md share one list of names.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from crg.spec.actions import Action, ActionKind
from crg.spec.algebra import Bool, Word
from crg.spec.derived import (
    View,
    any_available,
    available,
    eligible,
    has_owner,
    holds,
    leftovers,
    moving,
    owned,
    runs_app,
    service_up,
    switching_disabled,
    up,
)
from crg.spec.variables import GroupVars


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

ASSUMPTION = frozenset({"coverage"})
"""Invariants that state the config's failure assumption itself. A run may go beyond it
(an operator crashes more nodes than assumed, a what-if fails them all): that is no fault
of the rules, so a run's states are never held to these (``crg simulate``, ``crg
conform``); the checker explores only within the assumption, where they must hold."""

WITHIN_ASSUMPTION = frozenset({"notify"})
"""Invariants that hold only while no more nodes are out than assumed: ``notify`` needs a
live node to send a group's *service down*, and with every node out there is none
(``crg check --max-down`` with all the nodes shows it, ``coverage`` with it)."""


def exempt_invariants(nodes_out: int, max_down: int | None) -> frozenset[str]:
    """The invariants a run's state is not held to, given how many nodes are out in it and
    the config's ``assume at most K nodes down`` (None: the assumption is not known)."""
    if max_down is not None and nodes_out > max_down:
        return ASSUMPTION | WITHIN_ASSUMPTION
    return ASSUMPTION


LIVENESS = ("vip-held",)
"""Checked on the state graph: under weak fairness of the cluster service, every run
without further environment events reaches a settled state (no livelock, no flapping)."""

INVARIANT_NAMES: tuple[str, ...] = tuple(dict.fromkeys(
    [i.name for i in STATE_INVARIANTS] + ["halt-order"]))


# --- steps ----------------------------------------------------------------------------
# A step check sees one group before a transition (its view), the action, and the group's
# variables after it; it returns "fine" as an algebra Bool, so it compiles and z3 can
# prove it like the state invariants. The action is concrete (its kind and node are
# known when the check is instantiated); only the state is symbolic. Group actions change
# only their own group; node events are checked against every group they touch.


@dataclass(frozen=True, slots=True)
class StepInvariant:
    name: str
    """The invariant this check belongs to (reported under that name)."""
    message: str
    """What went wrong, when the check fails."""
    check: Callable[[View, Action, GroupVars], Bool]


def _same(v: View, x: Bool, y: Bool) -> Bool:
    return v.a.or_(v.a.and_(x, y), v.a.and_(v.a.not_(x), v.a.not_(y)))


def _announced_by_notify(v: View, action: Action, after: GroupVars) -> Bool:
    if action.kind in (ActionKind.NOTIFY_UP, ActionKind.NOTIFY_DOWN):
        return v.a.true
    return _same(v, v.g.announced, after.announced)


def _up_when_complete(v: View, action: Action, after: GroupVars) -> Bool:
    if action.kind is not ActionKind.NOTIFY_UP:
        return v.a.true
    n = action.node
    return v.a.and_(after.announced, owned(v, n), service_up(v, n))


def _down_by_owner(v: View, action: Action, after: GroupVars) -> Bool:
    if action.kind is not ActionKind.NOTIFY_DOWN:
        return v.a.true
    a, n = v.a, action.node
    sender_ok = a.or_(owned(v, n), a.and_(a.not_(has_owner(v)), a.not_(any_available(v))))
    return a.and_(a.not_(after.announced), sender_ok)


def _down_after_release(v: View, action: Action, after: GroupVars) -> Bool:
    if action.kind is not ActionKind.NOTIFY_DOWN:
        return v.a.true
    a = v.a
    return a.not_(a.and_(moving(v), a.bit(v.g.vip, action.node)))


def _release_when_clean(v: View, action: Action, after: GroupVars) -> Bool:
    if action.kind is not ActionKind.RELEASE_OWNERSHIP:
        return v.a.true
    a = v.a
    return a.and_(a.not_(holds(v, action.node)), a.not_(v.g.announced))


def _claim_first_eligible(v: View, action: Action, after: GroupVars) -> Bool:
    if action.kind is not ActionKind.CLAIM:
        return v.a.true
    a, target = v.a, v.g.target
    target_ok = a.and_(a.not_(a.eq(target, 0)), available(v, a.add(target, -1)),
                       a.not_(a.bit(v.g.ban, a.add(target, -1))))
    expected = a.ite(target_ok, target, expected_host(v))
    return a.eq(expected, a.const(action.node + 1))


def _alert_when_last(v: View, action: Action, after: GroupVars) -> Bool:
    a = v.a
    rose = a.and_(after.alerted, a.not_(v.g.alerted))
    if action.kind is ActionKind.ALERT:
        return a.or_(a.not_(rose), switching_disabled(v))
    return a.not_(rose)


def _rearm_when_not_last(v: View, action: Action, after: GroupVars) -> Bool:
    a = v.a
    fell = a.and_(v.g.alerted, a.not_(after.alerted))
    if action.kind is ActionKind.REARM:
        return a.or_(a.not_(fell), a.not_(switching_disabled(v)))
    return a.not_(fell)


def _vip_by_acquire(v: View, action: Action, after: GroupVars) -> Bool:
    a = v.a
    gained = a.without(after.vip, v.g.vip)
    if action.kind is ActionKind.ACQUIRE_VIP and action.node >= 0:
        return a.or_(a.is_zero(gained), a.eq(gained, a.const(1 << action.node)))
    return a.is_zero(gained)


STEP_INVARIANTS: tuple[StepInvariant, ...] = (
    StepInvariant("notify", "the group's service event changed outside a notify step",
                  _announced_by_notify),
    StepInvariant("notify", "service up sent by a node not hosting the group, or before VIP, "
                  "application and monitors were all up", _up_when_complete),
    StepInvariant("notify", "service down sent by a node not hosting the group",
                  _down_by_owner),
    StepInvariant("halt-order", "service down sent while the leaving node still held the VIP",
                  _down_after_release),
    StepInvariant("halt-order", "ownership given up before the halt method finished",
                  _release_when_clean),
    StepInvariant("failover-order", "the group landed on a node other than the first "
                  "eligible node of its sequence (or the switchover target)",
                  _claim_first_eligible),
    StepInvariant("last-node-alert", "alert raised while the group was not on its last node",
                  _alert_when_last),
    StepInvariant("last-node-alert", "alert re-armed while the group was still on its last "
                  "node", _rearm_when_not_last),
    StepInvariant("run-order", "a VIP appeared on a node outside that node's acquire-vip step",
                  _vip_by_acquire),
)


def check_step(v: View, action: Action, after: GroupVars) -> tuple[tuple[str, str], ...]:
    """Every step invariant broken by ``action`` taking the group of ``v`` to ``after``,
    as (invariant name, explanation); concrete evaluation."""
    return tuple((s.name, s.message) for s in STEP_INVARIANTS if not s.check(v, action, after))


def check_group(v: View, quiescent: bool) -> tuple[str, ...]:
    """Names of the state invariants the group of ``v`` breaks."""
    return tuple(inv.name for inv in STATE_INVARIANTS
                 if (quiescent or inv.sort == "always") and not inv.predicate(v))
