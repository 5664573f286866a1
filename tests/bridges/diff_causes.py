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
import itertools
from collections.abc import Callable
from dataclasses import dataclass

from crg_side import simulate
from differential import Outcome, run

from crg.dsl import Failback, Kind


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
    migration-threshold bans the application there, so it runs nowhere (the VIP stays up,
    on that node or the next)."""
    for group in outcome.differing_groups(step):
        ours, theirs = outcome.crg[step][group], outcome.pacemaker[step][group]
        if ours.app is not None and ours.app in ours.banned and theirs.app is None:
            return True
    return False


def avoid_file_order(outcome: Outcome, step: int) -> bool:
    """crg's placement with ``avoid`` depends on the order of the group blocks (issue 11,
    7a), Pacemaker's on its own allocation order (highest score first, a colocation's
    primary before its dependent): with the group blocks in some other order, crg agrees
    with Pacemaker at this step."""
    config = outcome.scenario.config
    if not any(g.avoid for g in config.groups):
        return False
    for order in itertools.permutations(config.groups):
        if order == config.groups:
            continue
        reordered = dataclasses.replace(config, groups=order)
        if simulate(reordered, outcome.scenario.events[:step])[step] == outcome.pacemaker[step]:
            return True
    return False


def avoider_influence(outcome: Outcome, step: int) -> bool:
    """A group that others avoid is placed anew (at start-up, or its node failed):
    Pacemaker weighs the preferences of the groups that avoid it as well (a colocation's
    "influence", which ``influence=false`` switches off only while the avoided group
    runs), and may put it lower in its own list; crg places an avoided group by its own
    list alone. Confirmed on Pacemaker's side: without the ``avoid`` statements that
    name it, Pacemaker places the group where crg does."""
    scenario = outcome.scenario
    for name in outcome.differing_groups(step):
        if not any(name in g.avoid for g in scenario.config.groups):
            continue
        groups = tuple(dataclasses.replace(g, avoid=tuple(h for h in g.avoid if h != name))
                       for g in scenario.config.groups)
        alone = dataclasses.replace(scenario, config=dataclasses.replace(
            scenario.config, groups=groups), events=scenario.events[:step])
        if run(alone).pacemaker[step][name] == outcome.crg[step][name]:
            return True
    return False


def avoided_count(outcome: Outcome, step: int) -> bool:
    """Every candidate holds a group this one avoids: crg takes the first candidate (a
    node holds an avoided group or not), Pacemaker the one with the fewest avoided groups
    (each colocation subtracts its penalty)."""
    config = outcome.scenario.config
    for name in outcome.differing_groups(step):
        group = config.group(name)
        ours, theirs = outcome.crg[step][name].vip, outcome.pacemaker[step][name].vip
        on = [sum(outcome.crg[step][other].vip == node for other in group.avoid)
              for node in (ours, theirs)]
        if ours in group.candidates and theirs in group.candidates and 0 < on[1] < on[0]:
            return True
    return False


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


def instance_ban_keeps_vip(outcome: Outcome, step: int) -> bool:
    """An instance group spent its restart budget on its preferred node: crg moves the VIP
    to the next candidate in offline mode; Pacemaker bans only the application and keeps
    the VIP on the preferred node. Either way clients are refused at once."""
    config = outcome.scenario.config
    for name in outcome.differing_groups(step):
        group = config.group(name)
        ours, theirs = outcome.crg[step][name], outcome.pacemaker[step][name]
        if (group.kind is Kind.INSTANCE and ours.app is None and theirs.app is None
                and theirs.vip == group.preferred and group.preferred in ours.banned):
            return True
    return False


def instance_goes_home(outcome: Outcome, step: int) -> bool:
    """An instance group with manual failback, offline on a possible node, when its
    preferred node is back: crg leaves it offline (and warns of it when validating);
    Pacemaker brings it home, since the application, which can only run there, pulls
    its group along whatever the stickiness."""
    config = outcome.scenario.config
    for name in outcome.differing_groups(step):
        group = config.group(name)
        ours, theirs = outcome.crg[step][name], outcome.pacemaker[step][name]
        if (group.kind is Kind.INSTANCE and group.failback is Failback.MANUAL
                and ours.app is None and ours.vip not in (None, group.preferred)
                and theirs.app == theirs.vip == group.preferred):
            return True
    return False


def instance_avoid_offline(outcome: Outcome, step: int) -> bool:
    """An instance group whose preferred node holds a group it avoids: crg places it on
    the next candidate, in offline mode, to keep apart; Pacemaker runs it on its preferred
    node beside the avoided group (its application can run nowhere else, and a soft
    penalty does not outweigh that)."""
    config = outcome.scenario.config
    for name in outcome.differing_groups(step):
        group = config.group(name)
        ours, theirs = outcome.crg[step][name], outcome.pacemaker[step][name]
        if (group.kind is Kind.INSTANCE and ours.app is None
                and ours.vip not in (None, group.preferred)
                and theirs.app == theirs.vip == group.preferred
                and any(outcome.crg[step][other].vip == group.preferred
                        for other in group.avoid)):
            return True
    return False


CAUSES: tuple[Cause, ...] = (
    Cause("instance-avoid-offline", "an instance group whose preferred node holds a group "
          "it avoids: crg keeps it offline elsewhere, Pacemaker runs it at home",
          instance_avoid_offline),
    Cause("instance-ban-keeps-vip", "an instance group out of restarts on its preferred "
          "node: crg moves the VIP on in offline mode, Pacemaker keeps it there",
          instance_ban_keeps_vip),
    Cause("instance-goes-home", "an instance group with manual failback: Pacemaker brings "
          "it back to its preferred node, crg leaves it offline", instance_goes_home),
    Cause("banned-node-kept", "crg keeps an application running where its restart budget "
          "is spent when no better node is available; Pacemaker stops it there",
          banned_node_kept),
    Cause("avoid-file-order", "crg's placement with avoid follows the order of the group "
          "blocks; Pacemaker places an avoided group before the groups that avoid it",
          avoid_file_order),
    Cause("avoider-influence", "Pacemaker places an avoided group off the node a group "
          "that avoids it holds or prefers; crg places it by its own list alone",
          avoider_influence),
    Cause("avoided-count", "every candidate holds an avoided group: crg takes the first, "
          "Pacemaker the one with the fewest", avoided_count),
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
