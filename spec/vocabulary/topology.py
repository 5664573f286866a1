"""The constant part of the model: nodes, groups and their settings, by index.

The rules never look at names; they work on node and group indices so that states can be
packed into integers. :class:`Topology` is built once from a validated config.
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import networkx as nx

from crg.dsl.model import Config, Failback, Fault, Fencing, Kind


@dataclass(frozen=True, slots=True)
class AvoidedGroup:
    """A group that another avoids, as that other group's rules see it."""

    index: int
    home: int
    """Its preferred node (-1: not known)."""
    auto_failback: bool
    """It fails back to its home by itself (``failback auto``)."""
    candidates: tuple[int, ...]
    """Its sequenced list of nodes."""
    placed_first: bool
    """It comes before the avoiding group in the placement order: the avoiding group
    waits for it to be placed before it claims a node (see ``placement_order``)."""


@dataclass(frozen=True, slots=True, eq=False)
class AvoidGraph:
    """The ``avoid`` links of a whole topology and what they link, by group index, as the
    configuration gives them: kept so that the invariants read the groups one avoids and
    state the placement order their own way (``crg.spec.invariants.avoided``) rather than
    read what is derived here for the rules (``avoided_groups``). Compared by identity:
    one per topology, shared by its groups."""

    names: tuple[str, ...]
    failover: tuple[bool, ...]
    """Per group, its kind is ``failover``."""
    candidates: tuple[tuple[int, ...], ...]
    """Per group, its candidates (the preferred node first)."""
    auto_failback: tuple[bool, ...]
    avoid: tuple[tuple[int, ...], ...]
    """Per group, the groups it avoids (known to the topology, never itself)."""


@dataclass(frozen=True, slots=True)
class Stated:
    """A group's settings in the configuration's own words, for the invariants only.

    The rules read ``failover``, ``auto_failback`` and ``budget``, derived from the
    configuration by :meth:`Topology.from_config`; the invariants read these instead,
    taken from it apart. A slip in deriving one (``auto_failback`` read from ``manual``)
    would otherwise change the rules and their oracle together, and every check stay
    green while the runtime, which runs the rules, failed back a ``manual`` group."""

    kind: str
    """``failover`` or ``instance``, as written."""
    failback: str
    """``auto`` or ``manual``, as written."""
    restarts: int
    """``restarts N``: the local restarts allowed before the group fails over."""


@dataclass(frozen=True, slots=True)
class GroupTopology:
    index: int
    name: str
    failover: bool
    """True for kind ``failover``; False for ``instance`` (application only on preferred)."""
    candidates: tuple[int, ...]
    """Node indices: the preferred node, then the possible nodes in order."""
    auto_failback: bool
    budget: int
    """Local restarts allowed before the group fails over (``restarts N``)."""
    self_fencing: bool
    subscribers: Sequence[str]
    """Names of the groups that receive this group's service up/down events (every other
    group, by default, is one shared list: see ``crg.dsl.model.OtherGroups``)."""
    avoid: tuple[int, ...]
    """Groups this one prefers not to share a node with."""
    avoided_groups: tuple[AvoidedGroup, ...] = ()
    """What this group's rules know of each group in ``avoid`` (derived by
    :class:`Topology`; see ``placement.avoided_on`` and ``placement.may_claim``)."""
    max_down: int = 0
    """The topology's ``assume at most K nodes down`` (set by :class:`Topology`): which node
    events the assumption allows, as the enabledness invariants state them."""
    graph: AvoidGraph | None = field(default=None, compare=False, repr=False)
    """The topology's ``avoid`` links (set by :class:`Topology`; None for a group built by
    hand): read by the invariants only, the rules read ``placed_first``."""
    stated: Stated | None = None
    """The settings as the configuration words them, for the invariants (None for a
    group built by hand: the fields above stand for them)."""

    def avoided(self) -> tuple[AvoidedGroup, ...]:
        """One :class:`AvoidedGroup` per group in ``avoid``; a group not known to the
        topology (one built by hand) always blocks and is never waited for."""
        if self.avoided_groups:
            return self.avoided_groups
        return tuple(AvoidedGroup(h, -1, False, (), False) for h in self.avoid)

    @property
    def preferred(self) -> int:
        return self.candidates[0]

    @property
    def candidate_mask(self) -> int:
        mask = 0
        for node in self.candidates:
            mask |= 1 << node
        return mask


def stated_failover(group: GroupTopology) -> bool:
    """Kind ``failover`` as the configuration states it (see :class:`Stated`)."""
    return group.stated.kind == "failover" if group.stated is not None else group.failover


def stated_auto_failback(group: GroupTopology) -> bool:
    """``failback auto`` as the configuration states it (see :class:`Stated`)."""
    return (group.stated.failback == "auto" if group.stated is not None
            else group.auto_failback)


def stated_budget(group: GroupTopology) -> int:
    """``restarts N`` as the configuration states it (see :class:`Stated`)."""
    return group.stated.restarts if group.stated is not None else group.budget


def choice(group: GroupTopology) -> int:
    """The nodes where ``group``'s application may run: how free it is to go around."""
    return len(group.candidates) if group.failover else 1


def placement_order(groups: tuple[GroupTopology, ...]) -> dict[int, int]:
    """The order in which groups linked by ``avoid`` take their nodes (index -> rank).

    A group that others avoid is placed before them, so that where each group lands does
    not depend on which one the cluster service happens to start first (nor on the order
    of the group blocks in the file): an avoided group takes its preferred node, and the
    groups avoiding it then pick around it. Among groups with nothing left to wait for the
    name decides (alphabetical). A cycle of groups avoiding each other is broken, once
    every group its members avoid outside it is placed, by the group of the cycle with the
    least choice, then by name: the fewest nodes where its application may run (an
    ``instance`` group's one, its preferred node; a failover group's candidates). It takes
    its node first, and the others, which have somewhere else to go, go around it (by name
    alone, ``a`` on n1 or n2 avoiding ``b``, on n1 only, took n1 and left ``b`` to share it
    with n2 free). A group outside the cycle never breaks it: one avoiding a member waits
    for that member like any other.
    """
    by_index = {g.index: g for g in groups}
    waiting = {g.index: {h for h in g.avoid if h in by_index and h != g.index} for g in groups}
    waited_by: dict[int, list[int]] = {g: [] for g in waiting}
    for g, deps in waiting.items():
        for h in deps:
            waited_by[h].append(g)
    ready = [(by_index[g].name, g) for g, deps in waiting.items() if not deps]
    heapq.heapify(ready)
    rank: dict[int, int] = {}
    while waiting:
        if ready:
            chosen = heapq.heappop(ready)[1]
        else:  # every group left waits: break a cycle that waits for nothing outside it
            chosen = min(_closed_cycles(waiting),
                         key=lambda g: (choice(by_index[g]), by_index[g].name))
        rank[chosen] = len(rank)
        del waiting[chosen]
        for g in waited_by[chosen]:
            left = waiting.get(g)
            if left is not None and chosen in left:
                left.discard(chosen)
                if not left:
                    heapq.heappush(ready, (by_index[g].name, g))
    return rank


def _closed_cycles(waiting: dict[int, set[int]]) -> list[int]:
    """The members of the cycles of ``waiting`` that wait for no group outside their own
    cycle (one exists whenever no group is ready: follow what each waits for)."""
    graph = nx.DiGraph()
    graph.add_nodes_from(waiting)
    graph.add_edges_from((g, h) for g, deps in waiting.items() for h in deps)
    condensed = nx.condensation(graph)
    return [g for c in condensed.nodes if condensed.out_degree(c) == 0
            for g in condensed.nodes[c]["members"]]


def avoided_group(groups: tuple[GroupTopology, ...], order: dict[int, int],
                  g: GroupTopology, h: int) -> AvoidedGroup:
    """What ``g``'s rules know of ``h``, a group it avoids, given the placement order."""
    if 0 <= h < len(groups) and groups[h].index == h:
        other = groups[h]
        return AvoidedGroup(h, other.preferred, other.auto_failback, other.candidates,
                            order[h] < order[g.index])
    return AvoidedGroup(h, -1, False, (), False)


@dataclass(frozen=True, slots=True)
class Topology:
    nodes: tuple[str, ...]
    groups: tuple[GroupTopology, ...]
    max_down: int
    faults: frozenset[Fault]

    def __post_init__(self) -> None:
        # Derived from the groups themselves, so every way of building a topology (restrict,
        # renaming nodes) keeps it consistent.
        order = placement_order(self.groups)
        # read by the invariants only: the settings as stated (see Stated)
        graph = AvoidGraph(tuple(g.name for g in self.groups),
                           tuple(stated_failover(g) for g in self.groups),
                           tuple(g.candidates for g in self.groups),
                           tuple(stated_auto_failback(g) for g in self.groups),
                           tuple(tuple(h for h in g.avoid if h in order and h != g.index)
                                 for g in self.groups))
        groups = tuple(replace(g, avoided_groups=tuple(avoided_group(self.groups, order, g, h)
                                                       for h in g.avoid),
                               max_down=self.max_down, graph=graph)
                       for g in self.groups)
        object.__setattr__(self, "groups", groups)

    @property
    def n_nodes(self) -> int:
        return len(self.nodes)

    def node_index(self, name: str) -> int:
        return self.nodes.index(name)

    def group_index(self, name: str) -> int:
        for group in self.groups:
            if group.name == name:
                return group.index
        raise KeyError(name)

    def restrict(self, group_indices: tuple[int, ...]) -> Topology:
        """The sub-model of some groups (closed under ``avoid``), renumbered from 0.

        Used for compositional checking: groups that do not read each other's variables
        are checked one component at a time against the same node environment."""
        keep = sorted(set(group_indices))
        for g in keep:
            missing = set(self.groups[g].avoid) - set(keep)
            if missing:
                raise ValueError(f"group {g} avoids groups {sorted(missing)} outside the subset")
        new_index = {old: new for new, old in enumerate(keep)}
        groups = tuple(
            replace(self.groups[old], index=new_index[old],
                    avoid=tuple(new_index[h] for h in self.groups[old].avoid))
            for old in keep)
        return Topology(self.nodes, groups, self.max_down, self.faults)

    @staticmethod
    def from_config(config: Config, *, max_down: int | None = None,
                    faults: frozenset[Fault] | None = None) -> Topology:
        nodes = config.cluster.nodes
        names = [g.name for g in config.groups]
        groups = tuple(
            GroupTopology(
                index=i,
                name=g.name,
                failover=g.kind is Kind.FAILOVER,
                candidates=tuple(nodes.index(n) for n in g.candidates),
                auto_failback=g.failback is Failback.AUTO,
                budget=g.restarts,
                self_fencing=g.fencing is Fencing.SELF,
                subscribers=g.notify,
                avoid=tuple(names.index(a) for a in g.avoid),
                stated=Stated(kind=g.kind.value, failback=g.failback.value,
                              restarts=g.restarts),
            )
            for i, g in enumerate(config.groups)
        )
        return Topology(
            nodes=nodes,
            groups=groups,
            max_down=config.cluster.max_down if max_down is None else max_down,
            faults=config.cluster.faults if faults is None else faults,
        )
