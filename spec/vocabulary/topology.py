"""The constant part of the model: nodes, groups and their settings, by index.

The rules never look at names; they work on node and group indices so that states can be
packed into integers. :class:`Topology` is built once from a validated config.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from crg.dsl.model import Config, Failback, Fault, Fencing, Kind


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
    avoid_homes: tuple[tuple[int, bool], ...] = ()
    """For each group in ``avoid``: its preferred node, and whether it stays where it is
    (manual failback). Derived by :class:`Topology`; see ``derived.avoided_on``."""

    def avoided(self) -> tuple[tuple[int, int, bool], ...]:
        """(group, its preferred node, whether it stays put) for each avoided group; a home
        that is not known (a topology built by hand) is -1 and staying, so it always
        blocks."""
        homes = self.avoid_homes or tuple((-1, True) for _ in self.avoid)
        return tuple((h, home, stays) for h, (home, stays) in zip(self.avoid, homes,
                                                                   strict=True))

    @property
    def preferred(self) -> int:
        return self.candidates[0]

    @property
    def candidate_mask(self) -> int:
        mask = 0
        for node in self.candidates:
            mask |= 1 << node
        return mask


@dataclass(frozen=True, slots=True)
class Topology:
    nodes: tuple[str, ...]
    groups: tuple[GroupTopology, ...]
    max_down: int
    faults: frozenset[Fault]

    def __post_init__(self) -> None:
        # Derived from the groups themselves, so every way of building a topology (restrict,
        # renaming nodes) keeps it consistent. A group outside this topology has no known
        # home: it always blocks (-1 never equals a node, and it counts as staying).
        def home(h: int) -> tuple[int, bool]:
            if 0 <= h < len(self.groups) and self.groups[h].index == h:
                return self.groups[h].preferred, not self.groups[h].auto_failback
            return -1, True

        groups = tuple(replace(g, avoid_homes=tuple(home(h) for h in g.avoid))
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
            )
            for i, g in enumerate(config.groups)
        )
        return Topology(
            nodes=nodes,
            groups=groups,
            max_down=config.cluster.max_down if max_down is None else max_down,
            faults=config.cluster.faults if faults is None else faults,
        )
