"""The known causes of a disagreement between crg and Pacemaker, each with its recogniser.

Every disagreement the differential test meets must be recognised by one of these;
an unrecognised one fails the test (a new export mistake, or a new semantic difference
to name here and in README.md). Each cause says which behaviour it is about and what the
recogniser checks; README.md ("Using crg with Pacemaker or keepalived") has a minimal
example of each and the behaviour an operator would expect.

Recognisers that can be counterfactual are: the cause is confirmed by changing exactly
that one thing on crg's side and seeing the disagreement go away at that step.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

from crg_side import simulate
from differential import Outcome

from crg.dsl import Config, Failback


@dataclass(frozen=True)
class Cause:
    name: str
    summary: str
    recognise: Callable[[Outcome, int], bool]


# -- recognisers ------------------------------------------------------------------------------


def banned_node_kept(outcome: Outcome, step: int) -> bool:
    """crg runs a group's application on a node where the group spent its restart budget,
    because no better node is available (placement rules 1 and 6: the last node of the
    list restarts for ever; a banned node is better than none); Pacemaker's
    migration-threshold bans the application there and keeps only the VIP up."""
    for group in outcome.differing_groups(step):
        ours, theirs = outcome.crg[step][group], outcome.pacemaker[step][group]
        if (ours.app is not None and ours.app in ours.banned and theirs.app is None
                and theirs.vip == ours.app):
            return True
    return False


def avoid_file_order(outcome: Outcome, step: int) -> bool:
    """crg's placement with ``avoid`` depends on the order of the group blocks (issue 11,
    7a): simulated with the groups in Pacemaker's order — every avoided group before the
    groups that avoid it — crg agrees with Pacemaker at this step."""
    config = outcome.scenario.config
    if not any(g.avoid for g in config.groups):
        return False
    reordered = simulate(avoided_first(config), outcome.scenario.events[:step])
    return reordered[step] == outcome.pacemaker[step]


def avoided_first(config: Config) -> Config:
    """The configuration with its groups ordered so that an avoided group comes before
    the groups that avoid it (file order among the rest; a cycle is broken by file
    order): the order in which Pacemaker places a colocation's primary first."""
    placed: list[str] = []
    remaining = [g.name for g in config.groups]
    while remaining:
        ready = [g for g in remaining
                 if all(h in placed or h not in remaining for h in config.group(g).avoid)]
        chosen = ready[0] if ready else remaining[0]
        placed.append(chosen)
        remaining.remove(chosen)
    return dataclasses.replace(config, groups=tuple(config.group(g) for g in placed))


def home_exemption(outcome: Outcome, step: int) -> bool:
    """crg lets a group share a node with a group it avoids when that one has automatic
    failback and is away from its preferred node ("on its way home, it blocks nothing",
    SPEC §4 rule 4), even when its home is down; Pacemaker's colocation penalty applies
    wherever the avoided group is (issue 11, 7b)."""
    config = outcome.scenario.config
    for name in outcome.differing_groups(step):
        group = config.group(name)
        node = outcome.crg[step][name].vip
        for other in group.avoid:
            avoided = config.group(other)
            where = outcome.crg[step][other].vip
            if (where == node and avoided.failback is Failback.AUTO
                    and where != avoided.preferred):
                return True
    return False


CAUSES: tuple[Cause, ...] = (
    Cause("banned-node-kept", "crg keeps an application running where its restart budget "
          "is spent when no better node is available; Pacemaker stops it there",
          banned_node_kept),
    Cause("avoid-file-order", "crg's placement with avoid follows the order of the group "
          "blocks; Pacemaker places an avoided group before the groups that avoid it",
          avoid_file_order),
    Cause("avoid-home-exemption", "crg ignores an avoided auto-failback group away from "
          "home; Pacemaker's colocation penalty applies wherever it runs", home_exemption),
)


def classify(outcome: Outcome) -> str | None:
    """The name of the first cause that explains the outcome's first difference."""
    step = outcome.first_difference
    if step is None:
        return None
    for cause in CAUSES:
        if cause.recognise(outcome, step):
            return cause.name
    return "unexplained"
