"""Step invariants: conditions on each transition ``(state, action, next state)`` of one
group. Each returns "fine" as an algebra Bool, so it compiles and z3 proves it like the
state invariants; the action is concrete, only the state is symbolic.

A check sees the group's view before the transition (``v``), the action, and the view
after it (``w``: the group's variables after the step, and for a node event the node
status after it too). Group actions change only their own group; node events are checked
against every group they touch. For a node event ``w`` does not know the other groups'
owners (each group's effect is computed on its own): a check must not read them there.
Several checks state a history — what happened since an episode began — over
transitions instead of in extra state: "the flag falls exactly when the episode ends" is
a property of every step, and it pins the flag to its meaning.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from crg.spec.invariants.avoided import avoided
from crg.spec.invariants.frame import within_frame
from crg.spec.invariants.state import (
    at_rest,
    cannot_run,
    expected_host,
    leave_reason,
    no_node_left,
    role_runs_app,
)
from crg.spec.invariants.words import (
    any_available,
    available,
    has_owner,
    holds,
    owned,
    service_up,
    switching_disabled,
    up,
)
from crg.spec.rules.placement import moving
from crg.spec.rules.registry import KINDS
from crg.spec.rules.view import View
from crg.spec.vocabulary.actions import Action, ActionKind
from crg.spec.vocabulary.algebra import Bool
from crg.spec.vocabulary.topology import stated_budget, stated_failover
from crg.spec.vocabulary.variables import FLAG_FIELDS, MASK_FIELDS

_K = ActionKind


@dataclass(frozen=True, slots=True)
class StepInvariant:
    name: str
    """The invariant this check belongs to (reported under that name)."""
    message: str
    """What went wrong, when the check fails."""
    check: Callable[[View, Action, View], Bool]


def _same(v: View, x: Bool, y: Bool) -> Bool:
    return v.a.or_(v.a.and_(x, y), v.a.and_(v.a.not_(x), v.a.not_(y)))


# --- notify ------------------------------------------------------------------------------


def _announced_by_notify(v: View, action: Action, w: View) -> Bool:
    if action.kind in (_K.NOTIFY_UP, _K.NOTIFY_DOWN):
        return v.a.true
    return _same(v, v.g.announced, w.g.announced)


def _up_when_complete(v: View, action: Action, w: View) -> Bool:
    if action.kind is not _K.NOTIFY_UP:
        return v.a.true
    n = action.node
    return v.a.and_(w.g.announced, owned(v, n), service_up(v, n))


def _down_by_owner(v: View, action: Action, w: View) -> Bool:
    if action.kind is not _K.NOTIFY_DOWN:
        return v.a.true
    a, n = v.a, action.node
    # With no owner and no candidate to host the group, one node sends the down it owes:
    # the first node in contact with the store (choice 12), not every node that could.
    first_up = a.eq(a.first([(up(v, m), a.const(m + 1)) for m in range(v.n_nodes)],
                            a.const(0)), a.add(n, 1))
    orphan = a.and_(a.not_(has_owner(v)), a.not_(any_available(v)), first_up)
    return a.and_(a.not_(w.g.announced), a.or_(owned(v, n), orphan))


def _start_after_down(v: View, action: Action, w: View) -> Bool:
    # Subscribers are told the old service went down before a new one starts: after a
    # local restart, and after a crashed owner's tenure (its successor owes the down).
    # The VIP is taken only once that down is out, too: a client reaching the new VIP
    # must not race the subscribers' view of the old service.
    if action.kind not in (_K.START_APP, _K.ACQUIRE_VIP):
        return v.a.true
    return v.a.not_(v.g.announced)


# --- halt-order --------------------------------------------------------------------------


def _down_after_release(v: View, action: Action, w: View) -> Bool:
    if action.kind is not _K.NOTIFY_DOWN:
        return v.a.true
    a, n = v.a, action.node
    # The down follows the halt: application and monitors stopped on the sender first.
    stopped = a.and_(a.not_(a.bit(v.g.app, n)), a.not_(a.bit(v.g.mon, n)))
    return a.and_(a.not_(a.and_(moving(v), a.bit(v.g.vip, n))), stopped)


def _release_when_clean(v: View, action: Action, w: View) -> Bool:
    if action.kind is not _K.RELEASE_OWNERSHIP:
        return v.a.true
    a = v.a
    return a.and_(a.not_(holds(v, action.node)), a.not_(v.g.announced))


_HALT_STEPS = frozenset({_K.STOP_MONITORS, _K.STOP_APP, _K.RELEASE_VIP, _K.RELEASE_OWNERSHIP})


def _halt_on_owner(v: View, action: Action, w: View) -> Bool:
    # The halt method runs on the owner (claims 2, 16); what another node holds is the
    # watchdog's to remove (watchdog-clean), not a halt of the group.
    if action.kind not in _HALT_STEPS:
        return v.a.true
    return owned(v, action.node)


def _halt_spawns_watchdog(v: View, action: Action, w: View) -> Bool:
    # Halting spawns the watchdog on the node (claims 3, 34): it is running once the
    # monitors stop or the VIP is released, and retires with the ownership.
    a, n = v.a, action.node
    if action.kind in (_K.STOP_MONITORS, _K.RELEASE_VIP):
        return a.bit(w.g.wd, n)
    if action.kind is _K.RELEASE_OWNERSHIP:
        # A new tenure starts from nothing: the watchdog retires, the count of restarts
        # used is the old owner's and goes with it.
        return a.and_(a.not_(a.bit(w.g.wd, n)), a.eq(w.g.restarts, 0))
    if action.kind is _K.STOP_APP:
        # A local restart (the group stays) ends the halt here: its watchdog retires with
        # the application; a group leaving keeps it until the node is clean.
        return _same(v, a.bit(w.g.wd, n), moving(v))
    return a.true


def _peels_one_layer(v: View, action: Action, w: View) -> Bool:
    # A watchdog (or a cut-off node fencing itself) removes what is left of a group one
    # layer per step in halt order — monitors, then application, then VIP — and only
    # from a node that does not own it (fencing aside); it retires with the last layer.
    if action.kind not in (_K.WATCHDOG_CLEAN, _K.FENCE):
        return v.a.true
    a, n, g, h = v.a, action.node, v.g, w.g
    mon, app, vip = a.bit(g.mon, n), a.bit(g.app, n), a.bit(g.vip, n)
    layer = a.ite(mon, a.and_(a.not_(a.bit(h.mon, n)), _same(v, a.bit(h.app, n), app),
                              _same(v, a.bit(h.vip, n), vip)),
                  a.ite(app, a.and_(a.not_(a.bit(h.app, n)), _same(v, a.bit(h.vip, n), vip)),
                        a.not_(a.bit(h.vip, n))))
    retires = _same(v, a.bit(h.wd, n), a.or_(mon, app))
    cleaned = a.and_(a.not_(mon), app, owned(v, n))
    failed = _same(v, h.failed, a.and_(g.failed, a.not_(cleaned)))
    owner_ok = a.true if action.kind is _K.FENCE else a.not_(owned(v, n))
    return a.and_(holds(v, n), owner_ok, layer, retires, failed)


def _retires_when_clean(v: View, action: Action, w: View) -> Bool:
    # A watchdog retires only once its node is clean (claims 3, 34): it holds nothing of
    # the group, or it is the owner the group stays on and holds only what its role asks
    # there, with no failure outstanding. Not on a leaving owner between its steps (the
    # VIP still held after stop-app): the halt spawned it there for the rest of the halt.
    if action.kind is not _K.WATCHDOG_RETIRE:
        return v.a.true
    a, n, g = v.a, action.node, v.g
    runs = a.or_(a.bit(g.app, n), a.bit(g.mon, n))
    staying = a.and_(owned(v, n), a.not_(moving(v)), a.not_(g.failed),
                     a.or_(a.not_(runs), role_runs_app(v, n)))
    return a.or_(a.not_(holds(v, n)), staying)


# --- steps that change something -----------------------------------------------------------


def _changes_something(v: View, action: Action, w: View) -> Bool:
    # A step of the cluster service that changes nothing would be taken again and again:
    # the runtime would start a running application, fence a node that holds nothing.
    if action.group < 0 or not KINDS[action.kind].system:
        return v.a.true
    a, g, h = v.a, v.g, w.g
    changed = [a.not_(a.eq(getattr(g, f), getattr(h, f)))
               for f in ("owner", "target", "restarts", *MASK_FIELDS)]
    changed += [a.not_(_same(v, getattr(g, f), getattr(h, f))) for f in FLAG_FIELDS]
    return a.or_(*changed)


# --- failover-order and drain ----------------------------------------------------------


def _claim_first_eligible(v: View, action: Action, w: View) -> Bool:
    if action.kind is not _K.CLAIM:
        return v.a.true
    a, target = v.a, v.g.target
    target_ok = a.and_(a.not_(a.eq(target, 0)), available(v, a.add(target, -1)),
                       a.not_(a.bit(v.g.ban, a.add(target, -1))))
    expected = a.ite(target_ok, target, expected_host(v))
    return a.eq(expected, a.const(action.node + 1))


def _claim_after_avoided(v: View, action: Action, w: View) -> Bool:
    # Where groups land must not depend on which one the cluster service starts first:
    # a group avoided by this one and placed before it in the placement order has its
    # node already, or has no candidate to take, or is in maintenance (nobody places it).
    if action.kind is not _K.CLAIM:
        return v.a.true
    a = v.a
    waits = [a.or_(a.not_(a.eq(v.avoided[h.index].owner, 0)),
                   a.not_(a.or_(a.false, *(available(v, c) for c in h.candidates))),
                   v.avoided[h.index].maintenance)
             for h in avoided(v.topo) if h.placed_first]
    return a.and_(*waits)


def _claim_not_drained(v: View, action: Action, w: View) -> Bool:
    if action.kind is not _K.CLAIM:
        return v.a.true
    return v.a.not_(v.a.bit(v.nodes.drained, action.node))


# --- app-role ----------------------------------------------------------------------------


def _app_by_start_in_role(v: View, action: Action, w: View) -> Bool:
    # The application appears only by the owner's start-app, and only where the group's
    # role includes it: not offline, not blocked, an instance group only at home.
    a = v.a
    gained = a.without(w.g.app, v.g.app)
    if action.kind is not _K.START_APP:
        return a.is_zero(gained)
    n = action.node
    role = a.and_(owned(v, n), a.not_(v.g.offline), a.not_(cannot_run(v)))
    if not stated_failover(v.topo) and n != v.topo.preferred:
        role = a.false
    return a.or_(a.is_zero(gained), a.and_(a.eq(gained, a.const(1 << n)), role))


# --- alerts: one per episode -------------------------------------------------------------


def _episode(flag: str, condition: Callable[[View], Bool],
             raise_kind: ActionKind) -> Callable[[View, Action, View], Bool]:
    """The alert flag ``flag`` records exactly "the alert was raised in the current
    stretch of ``condition``": the alert step (which tells the sinks) is taken only while
    the condition holds and the flag is down, and raises it; any other step leaves it what
    it was for as long as the condition still holds after the step, and false once it
    does not. With the quiescent half
    (condition ⇒ flag) that is one alert per maximal stretch — a history, stated over
    transitions."""

    def check(v: View, action: Action, w: View) -> Bool:
        a = v.a
        before, after = getattr(v.g, flag), getattr(w.g, flag)
        if action.kind is raise_kind:
            # the alert step tells the sinks: once, while its condition holds
            return a.and_(after, a.not_(before), condition(v))
        # never raised otherwise; never dropped while the condition holds after the step
        # (and never kept once it does not: the state invariant alert-episode says the
        # flag implies its condition, so that half is checked once per state)
        if after is before:  # the very same value or term: nothing to check
            return a.true
        return a.and_(a.or_(a.not_(after), before),
                      a.or_(a.not_(before), a.not_(condition(w)), after))

    return check


# --- restart-budget ----------------------------------------------------------------------

_RESETS_RESTARTS = frozenset({_K.CLAIM, _K.RELEASE_OWNERSHIP, _K.CRASH, _K.EXPIRE,
                              _K.FORGIVE, _K.CLEANUP})
"""The actions that may start the count of local restarts afresh: a new tenure (claim,
release, the owner's crash or lost lease) or a forgiveness (the window, an operator)."""

_LIFTS_BAN = frozenset({_K.CRASH, _K.EXPIRE, _K.FORGIVE, _K.CLEANUP})
"""The actions that may lift a ban: the node's crash or lost lease forgets what was spent
there; the restart window or an operator forgives it."""


def _fault_counts(v: View, action: Action, w: View) -> Bool:
    a = v.a
    if action.kind is not _K.FAULT:
        return a.true
    n, r, t = action.node, v.g.restarts, v.g.target
    within = a.lt(r, a.const(stated_budget(v.topo)))
    local = a.and_(a.eq(w.g.restarts, a.add(r, 1)), a.eq(w.g.ban, v.g.ban),
                   a.eq(w.g.target, t))
    withdrawn = a.ite(a.eq(t, a.const(n + 1)), a.const(0), t)
    spent = a.and_(a.eq(w.g.restarts, a.const(0)),
                   a.eq(w.g.ban, a.with_bit(v.g.ban, n, a.true)),
                   a.eq(w.g.target, withdrawn))
    return a.ite(within, local, spent)


def _restarts_reset_only(v: View, action: Action, w: View) -> Bool:
    a = v.a
    if action.kind is _K.FAULT:
        return a.true
    unchanged = a.eq(w.g.restarts, v.g.restarts)
    if action.kind in _RESETS_RESTARTS:
        return a.or_(unchanged, a.eq(w.g.restarts, a.const(0)))
    return unchanged


def _ban_by_fault_only(v: View, action: Action, w: View) -> Bool:
    a = v.a
    if action.kind is _K.FAULT:
        return a.true
    gained = a.without(w.g.ban, v.g.ban)
    lost = a.without(v.g.ban, w.g.ban)
    ok = a.is_zero(gained)
    if action.kind not in _LIFTS_BAN:
        ok = a.and_(ok, a.is_zero(lost))
    return ok


def _no_start_when_banned(v: View, action: Action, w: View) -> Bool:
    if action.kind is not _K.START_APP:
        return v.a.true
    return v.a.not_(v.a.bit(v.g.ban, action.node))


# --- contact -------------------------------------------------------------------------------


def _in_contact(v: View, action: Action, w: View) -> Bool:
    # The cluster service acts through the store: a node cut off from it (or crashed, or
    # lost) takes no step of it — but fencing, which is what a cut-off node must do.
    if action.group < 0 or not KINDS[action.kind].system:
        return v.a.true
    if action.kind is _K.FENCE:
        return _fences_itself(v, action)
    return up(v, action.node)


def _fences_itself(v: View, action: Action) -> Bool:
    # Only a group that fences itself is let go of by a cut-off node, and only what that
    # node still holds of it ("fencing none" keeps running through a partition).
    a, n = v.a, action.node
    if not v.topo.self_fencing:
        return a.false
    return a.and_(a.bit(v.nodes.cut, n), holds(v, n))


# --- alerts --------------------------------------------------------------------------------


def _alert_by_owner(v: View, action: Action, w: View) -> Bool:
    # An alert comes from the group's host, in contact with the store (claims 11, 25: the
    # last node "generates an alert"); a bystander's alert would name the wrong node. A
    # stranded group has no host: its alert comes from the first node of the cluster in
    # contact with the store, one node, so the sinks hear it once.
    a, n = v.a, action.node
    if action.kind is _K.ALERT_STRANDED:
        first_up = a.first([(up(v, m), a.const(m + 1)) for m in range(v.n_nodes)], a.const(0))
        return a.and_(up(v, n), a.eq(first_up, a.add(n, 1)))
    if action.kind not in (_K.ALERT, _K.ALERT_BLOCKED):
        return a.true
    return a.and_(owned(v, n), up(v, n))


# --- events --------------------------------------------------------------------------------


def _event_as_named(v: View, action: Action, w: View) -> Bool:
    # The checker explores the world the events describe; a slip there explores another
    # world and proves nothing about this one. Each event changes its node's status as
    # its name says, from a status where it can happen, and a crash or a lost lease takes
    # the node's hold on the group with it.
    a, n, k = v.a, action.node, action.kind
    before, after, g, h = v.nodes, w.nodes, v.g, w.g
    if k is _K.FAULT:
        return _fault_as_named(v, action, w)
    if k is _K.FORGIVE:
        # The restart window passes without a new fault: the failure record is cleared,
        # and it passes only over a record to clear.
        had = a.or_(a.not_(a.is_zero(g.ban)), a.not_(a.eq(g.restarts, 0)))
        return a.and_(had, a.is_zero(h.ban), a.eq(h.restarts, 0))
    if action.group >= 0:
        return a.true
    # What a lost lease takes (a crash too): the ownership and what was kept on it —
    # restarts used there, the node's ban, a switchover to it.
    tenure_gone = a.and_(
        a.not_(owned(w, n)), a.not_(a.bit(h.ban, n)), a.not_(a.eq(h.target, a.add(n, 1))),
        a.ite(owned(v, n), a.and_(a.eq(h.restarts, 0), a.not_(h.failed)),
              a.and_(a.eq(h.restarts, g.restarts), _same(v, h.failed, g.failed))))
    if k is _K.CRASH:
        gone = a.and_(a.not_(a.bit(h.vip, n)), a.not_(a.bit(h.app, n)),
                      a.not_(a.bit(h.mon, n)), a.not_(a.bit(h.wd, n)))
        return a.and_(a.not_(a.bit(before.down, n)), a.bit(after.down, n),
                      a.not_(a.bit(after.cut, n)), a.not_(a.bit(after.lost, n)), gone,
                      tenure_gone)
    if k is _K.REJOIN:
        return a.and_(a.bit(before.down, n), a.not_(a.bit(after.down, n)))
    if k is _K.PARTITION:
        # Only a node that is up and in service loses the store; it keeps running.
        out = a.bor(a.bor(before.down, before.cut), a.bor(before.lost, before.drained))
        return a.and_(a.not_(a.bit(out, n)), a.bit(after.cut, n), a.not_(a.bit(after.down, n)))
    if k is _K.HEAL:
        # Back in contact, the node runs a watchdog for what it holds of a group it no
        # longer owns.
        stray = a.and_(a.not_(owned(v, n)), holds(v, n))
        return a.and_(a.or_(a.bit(before.cut, n), a.bit(before.lost, n)),
                      a.not_(a.bit(after.cut, n)), a.not_(a.bit(after.lost, n)),
                      _same(v, a.bit(h.wd, n), a.or_(a.bit(g.wd, n), stray)))
    if k is _K.EXPIRE:
        return a.and_(a.bit(before.cut, n), a.bit(after.lost, n), tenure_gone)
    if k is _K.DRAIN:
        return a.and_(a.not_(a.bit(before.drained, n)), a.bit(after.drained, n))
    if k is _K.UNDRAIN:
        return a.and_(a.bit(before.drained, n), a.not_(a.bit(after.drained, n)))
    return a.true


def _fault_as_named(v: View, action: Action, w: View) -> Bool:
    # An application fault is one of a running application, on its owner in contact with
    # the store, in the owner's role (an application on its way out after an offline
    # command is being stopped, not failing), noticed by its monitors, not already being
    # handled; it marks the failure and spawns the watchdog at once (claims 3, 17).
    a, n, g, h = v.a, action.node, v.g, w.g
    return a.and_(owned(v, n), up(v, n), a.bit(g.app, n), a.bit(g.mon, n), a.not_(g.failed),
                  role_runs_app(v, n), h.failed, a.bit(h.wd, n))


# --- commands ------------------------------------------------------------------------------

_COMMANDS = frozenset({_K.SWITCHOVER, _K.OFFLINE, _K.ONLINE, _K.MAINTENANCE_ON, _K.CLEAR})
_INTENT = frozenset({_K.SWITCHOVER, _K.OFFLINE, _K.ONLINE, _K.CLEAR})
"""The commands also taken at any time in maintenance: they only record what the cluster
service is to do once it ends, and each takes back what another did meanwhile."""


def _command_at_rest(v: View, action: Action, w: View) -> Bool:
    # An operator's command on a group is taken when the group is at rest; on the way
    # there the command waits (crg's commands wait or refuse, SPEC.md section 10,
    # choice 11). At rest: an owner that stays, the group's whole stack on it as its role
    # says and nothing anywhere else, no failure or watchdog outstanding. In maintenance
    # nothing is on its way, and a switchover, clear, offline or online may come at any
    # time.
    if action.kind not in _COMMANDS:
        return v.a.true
    if action.kind in _INTENT:
        return v.a.or_(at_rest(v), v.g.maintenance)
    return at_rest(v)


def _command_as_named(v: View, action: Action, w: View) -> Bool:
    # Each operator command does what its name says, and only when there is something
    # for it to do (a command that changes nothing is refused with its reason).
    a, g, after, n, k = v.a, v.g, w.g, action.node, action.kind
    if k is _K.SWITCHOVER:
        allowed = a.and_(a.bit(a.const(v.topo.candidate_mask), n), available(v, n),
                         up(v, n), a.not_(a.bit(g.ban, n)), a.not_(owned(v, n)),
                         a.not_(a.eq(g.target, a.add(n, 1))), a.not_(switching_disabled(v)))
        return a.and_(allowed, a.eq(after.target, a.add(n, 1)))
    if k is _K.CLEAR:
        return a.and_(a.not_(a.eq(g.target, 0)), a.eq(after.target, 0))
    if k is _K.OFFLINE:
        return a.and_(a.not_(g.offline), after.offline)
    if k is _K.ONLINE:
        return a.and_(g.offline, a.not_(after.offline))
    if k is _K.MAINTENANCE_ON:
        return a.and_(a.not_(g.maintenance), after.maintenance)
    if k is _K.MAINTENANCE_OFF:
        return a.and_(g.maintenance, a.not_(after.maintenance))
    if k is _K.CLEANUP:
        here = owned(v, n)
        something = a.or_(a.bit(g.ban, n), a.and_(here, a.not_(a.eq(g.restarts, 0))))
        restarts = a.ite(here, a.eq(after.restarts, 0), a.eq(after.restarts, g.restarts))
        only_n = a.with_bit(a.const(0), n, a.true)
        return a.and_(a.bit(a.const(v.topo.candidate_mask), n), something,
                      a.not_(a.bit(after.ban, n)),
                      a.eq(a.without(after.ban, only_n), a.without(g.ban, only_n)), restarts)
    return a.true


_DROPS_TARGET = frozenset({_K.CRASH, _K.EXPIRE, _K.DRAIN, _K.FAULT})
"""The events that withdraw a switchover to their node, which can no longer take the
group: it went down, lost its lease, was drained, or the group spent its budget there."""


def _target_by_command(v: View, action: Action, w: View) -> Bool:
    # A switchover target is the operator's wish: only a switchover sets it and a clear
    # withdraws it, or it goes when its own node can no longer take the group (which of
    # those events drop it is theirs to say, in `events` and `restart-budget`). A slip
    # that dropped it elsewhere would send the group back against the operator's word; one
    # that kept it through a clear would leave it pinned.
    a, t, after = v.a, v.g.target, w.g.target
    if action.kind in (_K.SWITCHOVER, _K.CLEAR):
        return a.true
    if action.kind in _DROPS_TARGET:
        return a.or_(a.eq(after, t), a.and_(a.eq(after, 0), a.eq(t, a.const(action.node + 1))))
    return a.eq(after, t)


# --- failback ------------------------------------------------------------------------------


def _leaves_for_a_reason(v: View, action: Action, w: View) -> Bool:
    # A group leaves its owner (gives up the VIP there, or the ownership) only for a
    # reason; stated on what the group does, not on the placement, so a slip in the
    # placement shows.
    if action.kind not in (_K.RELEASE_VIP, _K.RELEASE_OWNERSHIP):
        return v.a.true
    return leave_reason(v)


# --- maintenance -------------------------------------------------------------------------

_ACTS_IN_MAINTENANCE = frozenset({_K.ALERT, _K.ALERT_BLOCKED, _K.ALERT_STRANDED, _K.FENCE})
"""The cluster service's steps that go on for a group in maintenance: telling the alert
sinks, and a cut-off node letting go of what it holds (others may take the VIP once its
lease runs out, maintenance or not)."""


def _hands_off(v: View, action: Action, w: View) -> Bool:
    # In maintenance the cluster service takes no action for the group and charges it no
    # fault; only the operator's on/off changes the mode.
    a = v.a
    flag_same = _same(v, v.g.maintenance, w.g.maintenance)
    if action.kind in (_K.MAINTENANCE_ON, _K.MAINTENANCE_OFF):
        return a.true
    if action.group < 0 or action.kind in _ACTS_IN_MAINTENANCE:
        return flag_same
    if KINDS[action.kind].system or action.kind is _K.FAULT:
        return a.and_(flag_same, a.not_(v.g.maintenance))
    return flag_same


# --- run-order ---------------------------------------------------------------------------


def _vip_by_acquire(v: View, action: Action, w: View) -> Bool:
    a = v.a
    gained = a.without(w.g.vip, v.g.vip)
    if action.kind is _K.ACQUIRE_VIP and action.node >= 0:
        return a.or_(a.is_zero(gained), a.eq(gained, a.const(1 << action.node)))
    return a.is_zero(gained)


STEP_INVARIANTS: tuple[StepInvariant, ...] = (
    StepInvariant("notify", "the group's service event changed outside a notify step",
                  _announced_by_notify),
    StepInvariant("notify", "service up sent by a node not hosting the group, or before VIP, "
                  "application and monitors were all up", _up_when_complete),
    StepInvariant("notify", "service down sent by a node not hosting the group",
                  _down_by_owner),
    StepInvariant("service-events", "the application started while the subscribers still "
                  "held a service up: the down of the previous run was not sent first",
                  _start_after_down),
    StepInvariant("halt-order", "service down sent while the leaving node still held the VIP",
                  _down_after_release),
    StepInvariant("halt-order", "ownership given up before the halt method finished",
                  _release_when_clean),
    StepInvariant("halt-order", "a step of the halt method was taken by a node that does not "
                  "own the group", _halt_on_owner),
    StepInvariant("watchdog", "halting did not spawn the watchdog (stop-monitors, release-vip) "
                  "or giving the group up did not retire it", _halt_spawns_watchdog),
    StepInvariant("watchdog", "a watchdog (or fencing) removed something other than the top "
                  "layer of the group in halt order, worked on the owner's own stack, or did "
                  "not retire with the last layer", _peels_one_layer),
    StepInvariant("watchdog", "a watchdog retired while its node still held something of "
                  "the group it should not (a leaving owner's VIP, an application outside "
                  "the role, a failure)", _retires_when_clean),
    StepInvariant("contact", "a step of the cluster service changed nothing: it would be "
                  "taken again and again", _changes_something),
    StepInvariant("failover-order", "the group landed on a node other than the first "
                  "eligible node of its sequence (or the switchover target)",
                  _claim_first_eligible),
    StepInvariant("failover-order", "the group took a node before a group it avoids, placed "
                  "before it, had taken one", _claim_after_avoided),
    StepInvariant("drain", "the group landed on a drained node", _claim_not_drained),
    StepInvariant("app-role", "the application appeared outside its owner's start-app, or "
                  "where the group's role does not include it (offline, blocked, or an "
                  "instance group away from its preferred node)", _app_by_start_in_role),
    StepInvariant("last-node-alert", "the last-node alert flag is not what the episode says: "
                  "raised outside the alert step, raised twice, kept after the episode "
                  "ended or dropped while it lasts",
                  _episode("alerted", switching_disabled, _K.ALERT)),
    StepInvariant("blocked", "the blocked alert flag is not what the episode says: raised "
                  "outside its alert step, raised twice, kept after the episode ended or "
                  "dropped while it lasts",
                  _episode("blocked_alerted", cannot_run, _K.ALERT_BLOCKED)),
    StepInvariant("stranded", "the stranded alert flag is not what the episode says: raised "
                  "outside its alert step, raised twice, kept after the episode ended or "
                  "dropped while it lasts",
                  _episode("stranded_alerted", no_node_left, _K.ALERT_STRANDED)),
    StepInvariant("restart-budget", "a fault did not count as the budget says: a local "
                  "restart within the budget, a ban of the node once it is spent (which "
                  "withdraws a switchover to it, and no other)",
                  _fault_counts),
    StepInvariant("restart-budget", "the count of local restarts changed outside a fault, a "
                  "new tenure or a forgiveness", _restarts_reset_only),
    StepInvariant("restart-budget", "a ban appeared without a fault, or was lifted without a "
                  "crash, a lost lease, the window or a cleanup", _ban_by_fault_only),
    StepInvariant("restart-budget", "the application started on a node where the group has "
                  "spent its restart budget", _no_start_when_banned),
    StepInvariant("failback", "the group left its owner with no reason to: the owner could "
                  "still host it, no switchover asked for it, and (failback auto) its "
                  "preferred node was not free to go back to", _leaves_for_a_reason),
    StepInvariant("contact", "a node out of contact with the store took a step of the "
                  "cluster service (only fencing is done cut off)", _in_contact),
    StepInvariant("maintenance", "the cluster service acted for a group in maintenance (or "
                  "charged it a fault), or the mode changed outside maintenance on/off",
                  _hands_off),
    StepInvariant("run-order", "a VIP appeared on a node outside that node's acquire-vip step",
                  _vip_by_acquire),
    StepInvariant("alert-episode", "an alert was raised by a node other than the group's "
                  "owner in contact with the store (for a stranded group: other than the "
                  "first node in contact)", _alert_by_owner),
    StepInvariant("events", "an event did not do what its name says, or happened where it "
                  "cannot (a node event on a node in the wrong state, an application fault "
                  "of no running application)", _event_as_named),
    StepInvariant("commands", "an operator's command was taken while the group was not at "
                  "rest (moving, halting, failed, or with a watchdog at work)",
                  _command_at_rest),
    StepInvariant("commands", "an operator's command did not do what its name says (or was "
                  "taken where it is refused: a switchover to a node that is out, drained, "
                  "banned, the owner or outside the list, or with switching disabled; a "
                  "cleanup with nothing to clean, a clear with no switchover to withdraw)",
                  _command_as_named),
    StepInvariant("commands", "a switchover target changed other than by a switchover, a "
                  "clear, or the withdrawal of a switchover to a node that went down, lost "
                  "its lease, was drained or spent the group's budget", _target_by_command),
    StepInvariant("frame", "a step changed something its kind never changes (or a node's "
                  "variable on another node than its own): a crash that undrains, a lost "
                  "lease that lifts every ban, a command that changes another mode",
                  within_frame),
)
