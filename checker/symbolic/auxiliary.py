"""Auxiliary invariants: what the proofs need besides the spec's own invariants.

The invariants of :mod:`crg.spec.invariants` are true in every reachable state but not
*inductive* on their own: a state that satisfies them can still step into one that does
not (a VIP on a node that owns nothing yet, say) — such a state is merely unreachable.
These conjuncts say why it is unreachable. Each is written in the spec's algebra, so the
explicit engine and tests evaluate it concretely on reachable states, and z3 proves the
conjunction of all of them together with the spec's invariants inductive (each step of
the model, from any state satisfying all of them, leads to a state satisfying all of them).

None of them is assumed: the proof engine (:mod:`crg.checker.symbolic.induction`) drops
every conjunct that a step can break (Houdini's algorithm) and keeps the largest
conjunction that is inductive relative to itself. On a broken configuration some drop out,
and the invariants that needed them are decided by bounded model checking instead.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from crg.dsl.model import Fault
from crg.spec.rules import events
from crg.spec.rules.placement import blocked, switching_disabled
from crg.spec.rules.view import View, is_candidate, live, ref_node, stranded
from crg.spec.vocabulary.algebra import Algebra, Bool, Word
from crg.spec.vocabulary.topology import Topology
from crg.spec.vocabulary.variables import NodeVars


@dataclass(frozen=True, slots=True)
class NodeAuxiliary:
    """A fact about the node status alone."""

    name: str
    predicate: Callable[[Algebra, NodeVars, Topology], Bool]

    @property
    def statement(self) -> str:
        return (self.predicate.__doc__ or "").strip()


@dataclass(frozen=True, slots=True)
class GroupAuxiliary:
    """A fact about one group, read through its view (like the spec's invariants)."""

    name: str
    predicate: Callable[[View, Topology], Bool]

    @property
    def statement(self) -> str:
        return (self.predicate.__doc__ or "").strip()


def _within(a: Algebra, mask: Word, allowed: Word) -> Bool:
    return a.is_zero(a.without(mask, allowed))


def _all_nodes(topology: Topology) -> int:
    return (1 << topology.n_nodes) - 1


# --- the node environment -------------------------------------------------------------


def node_masks_in_range(a: Algebra, nodes: NodeVars, topology: Topology) -> Bool:
    """Every node mask only has bits of existing nodes."""
    every = a.const(_all_nodes(topology))
    return a.and_(*(_within(a, mask, every) for mask in nodes))


def node_status_exclusive(a: Algebra, nodes: NodeVars, topology: Topology) -> Bool:
    """A node is at most one of crashed, cut off and lost (drained combines with any)."""
    return a.and_(a.is_zero(a.band(nodes.down, nodes.cut)),
                  a.is_zero(a.band(nodes.down, nodes.lost)),
                  a.is_zero(a.band(nodes.cut, nodes.lost)))


def failures_within_assumption(a: Algebra, nodes: NodeVars, topology: Topology) -> Bool:
    """At most ``max_down`` nodes are out (crashed, cut off, lost or drained): the
    assumption every node-taking event checks."""
    return a.popcount_le(events.not_up(a, nodes), topology.max_down, topology.n_nodes)


def unexplored_faults_absent(a: Algebra, nodes: NodeVars, topology: Topology) -> Bool:
    """Without crash faults no node is crashed; without partitions none is cut off or lost;
    without drains none is drained."""
    faults = topology.faults
    parts: list[Bool] = []
    if Fault.CRASH not in faults:
        parts.append(a.is_zero(nodes.down))
    if Fault.PARTITION not in faults:
        parts += [a.is_zero(nodes.cut), a.is_zero(nodes.lost)]
    if Fault.DRAIN not in faults:
        parts.append(a.is_zero(nodes.drained))
    return a.and_(*parts)


# --- one group --------------------------------------------------------------------------


def masks_on_candidates(v: View, topology: Topology) -> Bool:
    """Every trace of the group (VIP, application, monitors, watchdogs, bans) is on its
    candidate nodes."""
    a, g = v.a, v.g
    cands = a.const(v.topo.candidate_mask)
    return a.and_(*(_within(a, m, cands) for m in (g.vip, g.app, g.mon, g.wd, g.ban)))


def _ref_ok(v: View, ref: Word) -> Bool:
    a = v.a
    node = ref_node(v, ref)
    return a.or_(a.eq(ref, 0), a.and_(is_candidate(v, node), live(v, node)))


def nothing_on_crashed(v: View, topology: Topology) -> Bool:
    """A crashed node holds nothing of the group and runs no watchdog for it: a crash
    takes everything on the node with it, and only running nodes acquire anything."""
    a, g, down = v.a, v.g, v.nodes.down
    return a.and_(*(a.is_zero(a.band(m, down)) for m in (g.vip, g.app, g.mon, g.wd)))


def owner_live_candidate(v: View, topology: Topology) -> Bool:
    """The owner, if any, is a candidate whose lease is valid: its key dies with the
    lease (crash, expiry), and only a candidate can claim."""
    return _ref_ok(v, v.g.owner)


def target_live_candidate(v: View, topology: Topology) -> Bool:
    """A switchover target, if any, is a candidate whose lease is valid: crash and expiry
    drop a target on that node."""
    return _ref_ok(v, v.g.target)


def target_not_drained(v: View, topology: Topology) -> Bool:
    """A switchover target, if any, names no drained node: draining a node drops a target
    on it, and a switchover to a drained node is refused."""
    a, g = v.a, v.g
    return a.or_(a.eq(g.target, 0), a.not_(a.bit(v.nodes.drained, ref_node(v, g.target))))


def stack_on_owner(v: View, topology: Topology) -> Bool:
    """The VIP (hence, by ``run-order``, application and monitors) is only on the owner.

    The heart of the safety argument: ownership is released only by a node that holds
    nothing; a crash takes the node's stack with its key; a cut-off node's key only
    expires once it has fenced itself (self-fencing) — or, without partitions, never
    while it runs."""
    a, g = v.a, v.g
    owner_bit = a.with_bit(a.const(0), ref_node(v, g.owner), a.true)
    return _within(a, g.vip, owner_bit)


def failure_on_owner(v: View, topology: Topology) -> Bool:
    """A reported failure concerns the application running on the owner, and a watchdog
    runs there for it until the application is gone."""
    a, g = v.a, v.g
    node = ref_node(v, g.owner)
    return a.or_(a.not_(g.failed),
                 a.and_(a.not_(a.eq(g.owner, 0)), a.bit(g.app, node), a.bit(g.wd, node)))


def unexplored_commands_absent(v: View, topology: Topology) -> Bool:
    """Without application faults nothing failed, restarted or got banned; without
    operator commands no switchover target is set and the group is not offline."""
    a, g, parts = v.a, v.g, []
    if Fault.APP_FAULT not in topology.faults:
        parts += [a.not_(g.failed), a.eq(g.restarts, 0), a.is_zero(g.ban)]
    if Fault.SWITCHOVER not in topology.faults:
        parts += [a.eq(g.target, 0), a.not_(g.offline)]
    return a.and_(*parts)


def announced_by_owner(v: View, topology: Topology) -> Bool:
    """Without crashes and partitions, a group whose last event was *service up* has an
    owner: only a lost owner (crashed, or its lease expired) leaves a *down* owed by
    nobody, and ``release-ownership`` waits for the *down* to be sent."""
    a, g = v.a, v.g
    if Fault.CRASH in topology.faults or Fault.PARTITION in topology.faults:
        return a.true
    return a.or_(a.not_(g.announced), a.not_(a.eq(g.owner, 0)))


def restarts_within_budget(v: View, topology: Topology) -> Bool:
    """Local restarts never exceed the budget."""
    a = v.a
    return a.not_(a.lt(a.const(v.topo.budget), v.g.restarts))


def alerts_within_episode(v: View, topology: Topology) -> Bool:
    """An alert's flag is only set during its episode: the last-node alert while the group
    sits on its last available candidate, the blocked alert while it is blocked, the
    stranded alert while it is stranded (the event that ends an episode clears its flag in
    the same step)."""
    a, g = v.a, v.g
    return a.and_(a.or_(a.not_(g.alerted), switching_disabled(v)),
                  a.or_(a.not_(g.blocked_alerted), blocked(v)),
                  a.or_(a.not_(g.stranded_alerted), stranded(v)))


def unexplored_modes_absent(v: View, topology: Topology) -> Bool:
    """Without maintenance among the faults, no group is in maintenance."""
    if Fault.MAINTENANCE in topology.faults:
        return v.a.true
    return v.a.not_(v.g.maintenance)


def banned_owner_stopped_in_maintenance(v: View, topology: Topology) -> Bool:
    """In maintenance the application does not run on an owner banned for the group.

    Maintenance begins at rest, where a banned owner runs nothing (the group moves away,
    or is blocked and stopped); in maintenance no fault bans a node and nothing starts an
    application. Without it a blocked group in maintenance with its application running
    is quiescent, and ``blocked`` could not be proved."""
    a, g = v.a, v.g
    owner = ref_node(v, g.owner)
    return a.or_(a.not_(g.maintenance), a.eq(g.owner, 0),
                 a.not_(a.and_(a.bit(g.ban, owner), a.bit(g.app, owner))))


NODE_AUXILIARIES: tuple[NodeAuxiliary, ...] = (
    NodeAuxiliary("node-masks-in-range", node_masks_in_range),
    NodeAuxiliary("node-status-exclusive", node_status_exclusive),
    NodeAuxiliary("failures-within-assumption", failures_within_assumption),
    NodeAuxiliary("unexplored-faults-absent", unexplored_faults_absent),
)

GROUP_AUXILIARIES: tuple[GroupAuxiliary, ...] = (
    GroupAuxiliary("masks-on-candidates", masks_on_candidates),
    GroupAuxiliary("nothing-on-crashed", nothing_on_crashed),
    GroupAuxiliary("owner-live-candidate", owner_live_candidate),
    GroupAuxiliary("target-live-candidate", target_live_candidate),
    GroupAuxiliary("target-not-drained", target_not_drained),
    GroupAuxiliary("stack-on-owner", stack_on_owner),
    GroupAuxiliary("failure-on-owner", failure_on_owner),
    GroupAuxiliary("unexplored-commands-absent", unexplored_commands_absent),
    GroupAuxiliary("announced-by-owner", announced_by_owner),
    GroupAuxiliary("restarts-within-budget", restarts_within_budget),
    GroupAuxiliary("alerts-within-episode", alerts_within_episode),
    GroupAuxiliary("unexplored-modes-absent", unexplored_modes_absent),
    GroupAuxiliary("banned-owner-stopped-in-maintenance", banned_owner_stopped_in_maintenance),
)
