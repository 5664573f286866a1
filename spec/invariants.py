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
    available,
    eligible,
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
        return (self.predicate.__doc__ or "").strip()


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
    """The VIP is never configured on two nodes at once."""
    return v.a.at_most_one(v.g.vip)


def vip_allowed(v: View) -> Bool:
    """The VIP is only ever on the group's preferred or possible nodes."""
    return v.a.is_zero(v.a.without(v.g.vip, v.a.const(v.topo.candidate_mask)))


def app_exclusive(v: View) -> Bool:
    """A failover group's application runs on at most one node."""
    return v.a.at_most_one(v.g.app) if v.topo.failover else v.a.true


def run_order(v: View) -> Bool:
    """On every node: monitors run only where the application runs, and the application
    runs only where the VIP is held — the order of the run method, undone in reverse by
    the halt method."""
    a = v.a
    return a.and_(a.is_zero(a.without(v.g.app, v.g.vip)), a.is_zero(a.without(v.g.mon, v.g.app)))


def watchdog(v: View) -> Bool:
    """An up node that holds anything of a group it does not own, or owns a group whose
    application failed there, runs a watchdog for that group."""
    a = v.a
    return a.and_(*(
        a.or_(a.not_(a.and_(up(v, n), leftovers(v, n))), a.bit(v.g.wd, n))
        for n in range(v.n_nodes)
    ))


def coverage(v: View) -> Bool:
    """Within the assumed failures, some candidate node of the group is up (and not
    drained)."""
    return _any_candidate_up(v)


# --- quiescent ----------------------------------------------------------------------


def vip_held(v: View) -> Bool:
    """Settled and some candidate up (and not drained): the VIP is held by exactly one
    node, such a candidate."""
    a, vip = v.a, v.g.vip
    held = a.and_(a.not_(a.is_zero(vip)), a.at_most_one(vip),
                  a.is_zero(a.without(vip, _up_candidates(v))))
    return a.or_(a.not_(_any_candidate_up(v)), held)


def normal_mode(v: View) -> Bool:
    """Settled, every candidate up, failback auto, no switchover in force, no node banned
    and not put offline: the group runs on its preferred node with its application up."""
    a, g, p = v.a, v.g, v.topo.preferred
    if not v.topo.auto_failback:
        return a.true
    applies = a.and_(*(_hosts(v, c) for c in v.topo.candidates), a.eq(g.target, 0),
                     a.is_zero(g.ban), a.not_(g.offline))
    normal = a.and_(owned(v, p), a.bit(g.app, p), g.announced)
    return a.or_(a.not_(applies), normal)


def failover_order(v: View) -> Bool:
    """Settled, failback auto and no switchover in force: the group is on the first node
    of its sequence that is up, within its restart budget and free of groups it avoids
    (or, if none is, the first up and within budget; or, failing that, the first up)."""
    a, g = v.a, v.g
    if not v.topo.auto_failback:
        return a.true
    return a.or_(a.not_(a.eq(g.target, 0)), a.eq(g.owner, expected_host(v)))


def expected_host(v: View) -> Word:
    """The first eligible node, preferring nodes free of avoided groups (index + 1)."""
    a, cands = v.a, v.topo.candidates

    def free(c: int) -> Bool:
        return a.and_(*(a.not_(a.eq(o, c + 1)) for o in v.avoided_owners.values()))

    options = [(a.and_(eligible(v, c), free(c)), a.const(c + 1)) for c in cands]
    options += [(eligible(v, c), a.const(c + 1)) for c in cands]
    options += [(available(v, c), a.const(c + 1)) for c in cands]
    return a.first(options, a.const(0))


def last_node_alert(v: View) -> Bool:
    """Settled on the last live node of its list: switching is disabled and the alert has
    been raised for this episode."""
    return v.a.or_(v.a.not_(switching_disabled(v)), v.g.alerted)


def notify_settled(v: View) -> Bool:
    """Settled: the last service event sent says *up* exactly when the service is up."""
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

LIVENESS = ("vip-held",)
"""Checked on the state graph: under weak fairness of the cluster service, every run
without further environment events reaches a settled state (no livelock, no flapping)."""

INVARIANT_NAMES: tuple[str, ...] = tuple(dict.fromkeys(
    [i.name for i in STATE_INVARIANTS] + ["halt-order"]))


# --- steps ----------------------------------------------------------------------------
# A step check sees one group before a transition (its view) and after it (its
# variables), and the action. Group actions change only their own group; node events
# are checked against every group they touch.

StepCheck = Callable[[View, Action, GroupVars], str | None]


def _step_notify(v: View, action: Action, after: GroupVars) -> str | None:
    if v.g.announced == after.announced:
        return None
    kind = ActionKind.NOTIFY_UP if after.announced else ActionKind.NOTIFY_DOWN
    if action.kind is not kind:
        return f"the group's service event changed outside a {kind.label} step"
    if not owned(v, action.node):
        return f"{kind.label} sent by a node that does not host the group"
    if kind is ActionKind.NOTIFY_UP and not service_up(v, action.node):
        return "service up sent before VIP, application and monitors were all up"
    return None


def _step_halt_order(v: View, action: Action, after: GroupVars) -> str | None:
    n, a = action.node, v.a
    if action.kind is ActionKind.NOTIFY_DOWN and moving(v) and a.bit(v.g.vip, n):
        return "service down sent while the leaving node still held the VIP"
    if action.kind is ActionKind.RELEASE_OWNERSHIP and (holds(v, n) or v.g.announced):
        return "ownership given up before the halt method finished"
    return None


def _step_failover_order(v: View, action: Action, after: GroupVars) -> str | None:
    if action.kind is not ActionKind.CLAIM:
        return None
    target = v.g.target
    expected = target if target and available(v, target - 1) else expected_host(v)
    if action.node + 1 != expected:
        return (f"the group landed on node {action.node} instead of node {expected - 1}, "
                "the first eligible node of its sequence")
    return None


def _step_last_node_alert(v: View, action: Action, after: GroupVars) -> str | None:
    if v.g.alerted == after.alerted:
        return None
    disabled = switching_disabled(v)
    if after.alerted and (action.kind is not ActionKind.ALERT or not disabled):
        return "alert raised while the group was not on its last node"
    if not after.alerted and (action.kind is not ActionKind.REARM or disabled):
        return "alert re-armed while the group was still on its last node"
    return None


def _step_vip_acquired(v: View, action: Action, after: GroupVars) -> str | None:
    gained = int(after.vip) & ~int(v.g.vip)
    if gained and (action.kind is not ActionKind.ACQUIRE_VIP or gained != 1 << action.node):
        return "a VIP appeared on a node outside that node's acquire-vip step"
    return None


STEP_INVARIANTS: tuple[tuple[str, StepCheck], ...] = (
    ("notify", _step_notify),
    ("halt-order", _step_halt_order),
    ("failover-order", _step_failover_order),
    ("last-node-alert", _step_last_node_alert),
    ("run-order", _step_vip_acquired),
)


def check_step(v: View, action: Action, after: GroupVars) -> tuple[tuple[str, str], ...]:
    """Every step invariant broken by ``action`` taking the group of ``v`` to ``after``,
    as (invariant name, explanation)."""
    out = []
    for name, check in STEP_INVARIANTS:
        problem = check(v, action, after)
        if problem is not None:
            out.append((name, problem))
    return tuple(out)


def check_group(v: View, quiescent: bool) -> tuple[str, ...]:
    """Names of the state invariants the group of ``v`` breaks."""
    return tuple(inv.name for inv in STATE_INVARIANTS
                 if (quiescent or inv.sort == "always") and not inv.predicate(v))
