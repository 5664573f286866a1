"""Step invariants: conditions on each transition ``(state, action, next state)`` of one
group. Each returns "fine" as an algebra Bool, so it compiles and z3 proves it like the
state invariants; the action is concrete, only the state is symbolic."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from crg.spec.invariants.state import expected_host
from crg.spec.rules.placement import moving, switching_disabled
from crg.spec.rules.view import (
    View,
    any_available,
    available,
    has_owner,
    holds,
    owned,
    service_up,
)
from crg.spec.vocabulary.actions import Action, ActionKind
from crg.spec.vocabulary.algebra import Bool
from crg.spec.vocabulary.variables import GroupVars

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


