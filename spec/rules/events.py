"""Environment events (SPEC.md, "Environment"): what happens *to* the cluster.

Node events change the node status and have an effect on every group; group events
(faults and operator commands) touch one group. ``expire`` is not a free choice of the
environment but the passing of time: it is a *system* step, fair like the cluster
service's (a cut-off node's lease does run out), and enabled for a self-fencing group only
once the node has fenced it — which is what the language's timing rule guarantees.
"""

from __future__ import annotations

from crg.spec.rules.care import end_episodes
from crg.spec.rules.placement import switching_disabled
from crg.spec.rules.roles import runs_app, settled
from crg.spec.rules.run import Step
from crg.spec.rules.view import (
    View,
    available,
    holds,
    is_candidate,
    managed,
    owned,
    ref_node,
    up,
)
from crg.spec.vocabulary.algebra import Algebra, Bool, Word
from crg.spec.vocabulary.variables import GroupVars, NodeVars

# --- node status --------------------------------------------------------------------


def _after(v: View, nodes: NodeVars, g: GroupVars) -> GroupVars:
    """The group after an event that leaves the node status ``nodes`` and the group's
    own variables ``g``: an alert episode the event ends is over in the same step. Only
    the events that can end one use it — a node coming back or going, a ban lifted; a
    partition (a cut-off node still counts as available), a fault (it may begin a blocked
    episode, never end one) and the commands that change neither a node's availability,
    a ban nor the owner leave every episode as it is."""
    return end_episodes(View(v.a, v.topo, nodes, g, v.avoided, v.n_nodes))


def not_up(a: Algebra, nodes: NodeVars) -> Word:
    """Nodes unable to host groups: crashed, cut off, lost or drained."""
    return a.bor(a.bor(nodes.down, nodes.cut), a.bor(nodes.lost, nodes.drained))


def within_assumption(a: Algebra, nodes: NodeVars, n: Word, n_nodes: int, max_down: int) -> Bool:
    """Taking node ``n`` out keeps at most ``max_down`` nodes out (the checker's
    assumption ``assume at most k nodes down``; a drained node counts as out)."""
    return a.popcount_le(a.with_bit(not_up(a, nodes), n, a.true), max_down, n_nodes)


def crash_guard(a: Algebra, nodes: NodeVars, n: Word, n_nodes: int, max_down: int) -> Bool:
    return a.and_(a.not_(a.bit(nodes.down, n)), within_assumption(a, nodes, n, n_nodes, max_down))


def crash_nodes(a: Algebra, nodes: NodeVars, n: Word) -> NodeVars:
    """Drained stays as it was: it is the operator's intent, and survives a reboot."""
    return nodes._replace(down=a.with_bit(nodes.down, n, a.true),
                          cut=a.with_bit(nodes.cut, n, a.false),
                          lost=a.with_bit(nodes.lost, n, a.false))


def crash_group(v: View, n: Word) -> GroupVars:
    """A crash takes everything on the node with it (processes, addresses, watchdogs) and,
    with its lease, the ownership key; the restart budget there is forgotten."""
    a, g = v.a, v.g
    was_owner = owned(v, n)
    return _after(v, crash_nodes(a, v.nodes, n), g._replace(
        owner=a.ite(was_owner, a.const(0), g.owner),
        target=a.ite(a.eq(g.target, a.add(n, 1)), a.const(0), g.target),
        vip=a.with_bit(g.vip, n, a.false),
        app=a.with_bit(g.app, n, a.false),
        mon=a.with_bit(g.mon, n, a.false),
        wd=a.with_bit(g.wd, n, a.false),
        ban=a.with_bit(g.ban, n, a.false),
        restarts=a.ite(was_owner, a.const(0), g.restarts),
        failed=a.ite(was_owner, a.false, g.failed),
    ))


def rejoin_guard(a: Algebra, nodes: NodeVars, n: Word) -> Bool:
    return a.bit(nodes.down, n)


def rejoin_nodes(a: Algebra, nodes: NodeVars, n: Word) -> NodeVars:
    """A crashed node comes back empty."""
    return nodes._replace(down=a.with_bit(nodes.down, n, a.false))


def rejoin_group(v: View, n: Word) -> GroupVars:
    """A returning node may end the group's last-node (or blocked) episode."""
    return _after(v, rejoin_nodes(v.a, v.nodes, n), v.g)


def partition_guard(a: Algebra, nodes: NodeVars, n: Word, n_nodes: int, max_down: int) -> Bool:
    up_now = a.not_(a.bit(not_up(a, nodes), n))
    return a.and_(up_now, within_assumption(a, nodes, n, n_nodes, max_down))


def partition_nodes(a: Algebra, nodes: NodeVars, n: Word) -> NodeVars:
    """The node loses the store but keeps running; its lease is still valid for a while."""
    return nodes._replace(cut=a.with_bit(nodes.cut, n, a.true))


def partition_group(v: View, n: Word) -> GroupVars:
    """A partition changes nothing of the group: the cut-off node keeps what it runs, and
    no alert episode ends by it. (Listed among the group effects so that every node event
    is checked against every group.)"""
    return v.g


def heal_guard(a: Algebra, nodes: NodeVars, n: Word) -> Bool:
    return a.or_(a.bit(nodes.cut, n), a.bit(nodes.lost, n))


def heal_nodes(a: Algebra, nodes: NodeVars, n: Word) -> NodeVars:
    return nodes._replace(cut=a.with_bit(nodes.cut, n, a.false),
                          lost=a.with_bit(nodes.lost, n, a.false))


def heal_group(v: View, n: Word) -> GroupVars:
    """Back in contact, the node spawns a watchdog for whatever it holds of a group it no
    longer owns (its lease expired meanwhile)."""
    a, g = v.a, v.g
    stray = a.and_(a.not_(owned(v, n)), holds(v, n))
    return _after(v, heal_nodes(a, v.nodes, n),
                  g._replace(wd=a.ite(stray, a.with_bit(g.wd, n, a.true), g.wd)))


def expire_ready(v: View, n: Word) -> Bool:
    """This group does not hold the lease of cut-off node ``n`` back: it does not fence,
    or the node has fenced it completely."""
    if not v.topo.self_fencing:
        return v.a.true
    return v.a.not_(holds(v, n))


def expire_guard(a: Algebra, nodes: NodeVars, n: Word) -> Bool:
    return a.bit(nodes.cut, n)


def expire_nodes(a: Algebra, nodes: NodeVars, n: Word) -> NodeVars:
    return nodes._replace(cut=a.with_bit(nodes.cut, n, a.false),
                          lost=a.with_bit(nodes.lost, n, a.true))


def expire_group(v: View, n: Word) -> GroupVars:
    """The lease runs out: the keys bound to it disappear — the ownership key, and (as
    for a crash) the restart budget spent there: others cannot tell a crashed node from
    a lost one, so the store keeps bans on the banned node's lease."""
    a, g = v.a, v.g
    was_owner = owned(v, n)
    return _after(v, expire_nodes(a, v.nodes, n), g._replace(
        owner=a.ite(was_owner, a.const(0), g.owner),
        ban=a.with_bit(g.ban, n, a.false),
        target=a.ite(a.eq(g.target, a.add(n, 1)), a.const(0), g.target),
        restarts=a.ite(was_owner, a.const(0), g.restarts),
        failed=a.ite(was_owner, a.false, g.failed),
    ))


def drain_guard(a: Algebra, nodes: NodeVars, n: Word, n_nodes: int, max_down: int) -> Bool:
    """An operator takes a node out of service (claims 2, 16: the halt method runs on the
    node being shut down); its groups move away in order."""
    return a.and_(a.not_(a.bit(nodes.drained, n)),
                  within_assumption(a, nodes, n, n_nodes, max_down))


def drain_nodes(a: Algebra, nodes: NodeVars, n: Word) -> NodeVars:
    return nodes._replace(drained=a.with_bit(nodes.drained, n, a.true))


def drain_group(v: View, n: Word) -> GroupVars:
    """Draining a node withdraws a switchover to it: undraining it later must not revive an
    old wish."""
    a, g = v.a, v.g
    return _after(v, drain_nodes(a, v.nodes, n),
                  g._replace(target=a.ite(a.eq(g.target, a.add(n, 1)), a.const(0), g.target)))


def undrain_guard(a: Algebra, nodes: NodeVars, n: Word) -> Bool:
    return a.bit(nodes.drained, n)


def undrain_nodes(a: Algebra, nodes: NodeVars, n: Word) -> NodeVars:
    return nodes._replace(drained=a.with_bit(nodes.drained, n, a.false))


def undrain_group(v: View, n: Word) -> GroupVars:
    return _after(v, undrain_nodes(v.a, v.nodes, n), v.g)


# --- group events ---------------------------------------------------------------------


def fault(v: View, n: Word) -> Step:
    """The application fails on its owner ``n`` and the monitors notice. A watchdog is
    spawned at once (claims 3, 17). Within the budget the group restarts locally; the
    fault that exceeds it bans the node, so the placement moves the group on (claims 6,
    20), and withdraws a switchover to that node: the move failed, and the restart window
    passing must not send the group back there hours after the operator asked (the same
    reason as a drain's). On the last node, or with every candidate banned, the group is
    blocked. While
    the group is in maintenance a failure is reported but is no fault of the cluster
    service's: it counts once the maintenance ends and the monitors still say so."""
    a, g = v.a, v.g
    guard = a.and_(owned(v, n), up(v, n), a.bit(g.app, n), a.bit(g.mon, n),
                   a.not_(g.failed), runs_app(v, n), managed(v))
    within = a.lt(g.restarts, a.const(v.topo.budget))
    return guard, g._replace(
        failed=a.true,
        wd=a.with_bit(g.wd, n, a.true),
        restarts=a.ite(within, a.add(g.restarts, 1), a.const(0)),
        ban=a.ite(within, g.ban, a.with_bit(g.ban, n, a.true)),
        target=a.ite(a.and_(a.not_(within), a.eq(g.target, a.add(n, 1))), a.const(0),
                     g.target),
    )


def switchover(v: View, n: Word) -> Step:
    """An operator asks to move the group to candidate ``n`` (claims 9, 23, 32, 39).
    Refused while switching is disabled on the last node (claims 11, 35, 42), to a
    drained node, and to a node where the group spent its restart budget: placement never
    chooses those, so the wish would only lie in wait and move the group long after the
    operator asked (when the node is undrained, or the window passes). Taken at rest, or
    at any time in maintenance (:func:`intent_taken`)."""
    a, g = v.a, v.g
    guard = a.and_(intent_taken(v), is_candidate(v, n), up(v, n), available(v, n),
                   a.not_(a.bit(g.ban, n)), a.not_(owned(v, n)),
                   a.not_(a.eq(g.target, a.add(n, 1))), a.not_(switching_disabled(v)))
    return guard, g._replace(target=a.add(n, 1))


def clear(v: View, n: Word) -> Step:
    """An operator withdraws the group's switchover target (``crg clear``, as ``pcs
    resource clear``): a switchover is in force for as long as its node may host the
    group, so without this the group would never go back by itself (failback auto) or
    follow its placement again. Taken at rest, like the other commands on a group, or at
    any time in maintenance (:func:`intent_taken`)."""
    a, g = v.a, v.g
    return a.and_(intent_taken(v), a.not_(a.eq(g.target, 0))), g._replace(target=a.const(0))


def forgive(v: View, n: Word) -> Step:
    """The restart window passes without a new fault: budget and bans are restored.
    (``n`` is unused: the window is the group's, not a node's.)"""
    a, g = v.a, v.g
    guard = a.or_(a.not_(a.is_zero(g.ban)), a.not_(a.eq(g.restarts, 0)))
    return guard, _after(v, v.nodes, g._replace(ban=a.const(0), restarts=a.const(0)))


def cleanup(v: View, n: Word) -> Step:
    """An operator clears the group's failure record on candidate ``n`` (``crg cleanup``,
    as ``pcs resource cleanup``): the ban there and, on the owner, the restarts used. A
    blocked group may run again; a group that failed over may come back."""
    a, g = v.a, v.g
    guard = a.and_(is_candidate(v, n),
                   a.or_(a.bit(g.ban, n), a.and_(owned(v, n), a.not_(a.eq(g.restarts, 0)))))
    return guard, _after(v, v.nodes, g._replace(
        ban=a.with_bit(g.ban, n, a.false),
        restarts=a.ite(owned(v, n), a.const(0), g.restarts)))


def intent_taken(v: View) -> Bool:
    """When an operator's ``switchover``, ``clear``, ``offline`` or ``online`` is taken: at
    rest, like every command on a group — or at any time in maintenance. There the
    cluster service takes no action, so nothing is on its way to overtake the command,
    and the group may be far from rest for as long as the maintenance lasts: one such
    command leaves it so (a target it does not follow yet, an application it does not
    stop yet), and so does what happens meanwhile (a drain, a group it avoids landing on
    its node). At rest only, the operator could neither take back what they asked in
    maintenance nor say where the group is to go when it ends."""
    return v.a.or_(settled(v), v.g.maintenance)


def go_offline(v: View, n: Word) -> Step:
    """An operator puts the group in offline mode: the VIP stays, the application stops."""
    a, g = v.a, v.g
    return a.and_(intent_taken(v), a.not_(g.offline)), g._replace(offline=a.true)


def go_online(v: View, n: Word) -> Step:
    a, g = v.a, v.g
    return a.and_(intent_taken(v), g.offline), g._replace(offline=a.false)


def maintenance_on(v: View, n: Word) -> Step:
    """An operator puts the group in maintenance (``crg maintenance on``): from now on the
    cluster service takes no action for it — no start, stop, restart, move or clean-up —
    while the monitors keep reporting. Accepted when the group is at rest (settled, or
    blocked), like the other commands on a group (SPEC.md, section 10, choice 11)."""
    a, g = v.a, v.g
    guard = a.and_(settled(v), a.not_(g.maintenance))
    return guard, g._replace(maintenance=a.true)


def maintenance_off(v: View, n: Word) -> Step:
    """The maintenance ends (``crg maintenance off``): the cluster service takes the group
    as it finds it, and the monitors' verdicts count again."""
    a, g = v.a, v.g
    return g.maintenance, g._replace(maintenance=a.false)


def owner_node(v: View) -> Word:
    """Where a group event is attributed in traces: the owner (or -1 for none)."""
    return ref_node(v, v.g.owner)
