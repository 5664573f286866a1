"""``explain_coverage``: which failure sets of at most k nodes leave a group without a node.

The operator's question, answered for every failure set at once and with minimal sets
only: ``{n1, n2}`` is listed, its supersets are not (they fail for the same reason). The
predicate is the spec's own ``coverage`` invariant (some candidate up and not drained).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from crg.checker.symbolic.failures import idle_view, minimal_sets, names
from crg.dsl import Config
from crg.spec.invariants.state import coverage
from crg.spec.vocabulary.algebra import Algebra, Bool
from crg.spec.vocabulary.topology import GroupTopology, Topology
from crg.spec.vocabulary.variables import NodeVars


@dataclass(frozen=True, slots=True)
class GroupCoverage:
    group: str
    candidates: tuple[str, ...]
    failure_sets: tuple[tuple[str, ...], ...]
    """Minimal failure sets (at most ``max_down`` nodes) that leave the group without a
    candidate, smallest first."""
    complete: bool


@dataclass(frozen=True, slots=True)
class CoverageReport:
    cluster: str
    nodes: tuple[str, ...]
    max_down: int
    groups: tuple[GroupCoverage, ...]
    any_group: tuple[tuple[str, ...], ...]
    """Minimal failure sets that leave at least one group without a candidate."""
    seconds: float

    @property
    def ok(self) -> bool:
        return not self.any_group

    def render_text(self) -> str:
        k = self.max_down
        lines = [f"Failure sets of at most {k} node{'s' if k != 1 else ''} that leave a group "
                 f"without a node (cluster {self.cluster}, {len(self.nodes)} nodes; "
                 "minimal sets only):"]
        width = max((len(g.group) for g in self.groups), default=0)
        for g in self.groups:
            sets = ", ".join("{" + ", ".join(s) + "}" for s in g.failure_sets) or "none"
            more = "" if g.complete else " (and possibly more: the search was cut short)"
            lines.append(f"  {g.group:<{width}}  {sets}{more}")
        if self.ok:
            lines.append(f"Every group keeps a node whichever {k} node"
                         f"{'s go' if k != 1 else ' goes'} down.")
        else:
            bad = sum(1 for g in self.groups if g.failure_sets)
            lines.append(f"{bad} of {len(self.groups)} group{'s' if len(self.groups) != 1 else ''}"
                         f" can be left without a node; the smallest such failure: "
                         "{" + ", ".join(self.any_group[0]) + "}.")
        return "\n".join(lines)

    def as_json(self) -> dict[str, Any]:
        return {
            "cluster": self.cluster, "nodes": list(self.nodes), "max_down": self.max_down,
            "ok": self.ok, "seconds": round(self.seconds, 3),
            "groups": [{"group": g.group, "candidates": list(g.candidates),
                        "failure_sets": [list(s) for s in g.failure_sets],
                        "complete": g.complete} for g in self.groups],
            "any_group": [list(s) for s in self.any_group],
        }


def group_coverage(topology: Topology, topo: GroupTopology) -> GroupCoverage:
    def failing(a: Algebra, nodes: NodeVars) -> Bool:
        return a.not_(coverage(idle_view(a, topo, nodes, topology.n_nodes)))

    sets, complete = minimal_sets(topology, failing)
    return GroupCoverage(topo.name, tuple(topology.nodes[c] for c in topo.candidates),
                         tuple(tuple(names(topology, s)) for s in sets), complete)


def explain_coverage(config: Config, max_down: int | None = None) -> CoverageReport:
    """Every minimal failure set of at most ``max_down`` nodes (default: the config's
    ``assume at most k nodes down``) that leaves some group without a candidate node."""
    started = time.perf_counter()
    topology = Topology.from_config(config, max_down=max_down)
    groups = tuple(group_coverage(topology, topo) for topo in topology.groups)
    every = {frozenset(s) for g in groups for s in g.failure_sets}
    minimal = [s for s in every if not any(o < s for o in every)]
    order = {n: i for i, n in enumerate(topology.nodes)}
    any_group = tuple(tuple(sorted(s, key=order.__getitem__))
                      for s in sorted(minimal, key=lambda s: (len(s), sorted(order[n] for n in s))))
    return CoverageReport(config.cluster.name, topology.nodes, topology.max_down, groups,
                          any_group, time.perf_counter() - started)
