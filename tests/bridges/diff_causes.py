"""The known causes of a disagreement between crg and Pacemaker, each with its recogniser.

Every disagreement the differential test meets must be recognised by one of these;
an unrecognised one fails the test (a new export mistake, or a new semantic difference
to name here and in README.md). Each cause says which behaviour it is about and what the
recogniser checks; README.md ("Using crg with Pacemaker or keepalived") has a minimal
example of each and the behaviour an operator would expect.

Recognisers that can be counterfactual are: the cause is confirmed by changing exactly
that one thing (an ``avoid`` taken out of the export) and seeing Pacemaker's scheduler
place the group where crg does at that step.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

from differential import Outcome, run

from crg.dsl import Config, Failback, Kind


@dataclass(frozen=True)
class Cause:
    name: str
    summary: str
    recognise: Callable[[Outcome, int], bool]


# -- recognisers ------------------------------------------------------------------------------


def blocked_vip_goes_home(outcome: Outcome, step: int) -> bool:
    """A group with automatic failback is blocked away from its preferred node (its restart
    budget spent on every available candidate, its application stopped): crg keeps the VIP
    where the group was blocked; Pacemaker, the application banned everywhere, places the
    VIP alone by its location scores, and the preferred node's lead outweighs the one
    member's stickiness, so the VIP goes home without the application."""
    config = outcome.scenario.config
    for name in outcome.differing_groups(step):
        group = config.group(name)
        ours, theirs = outcome.crg[step][name], outcome.pacemaker[step][name]
        if (group.failback is Failback.AUTO and ours.app is None and theirs.app is None
                and ours.vip in ours.banned and ours.vip != group.preferred
                and theirs.vip == group.preferred and group.preferred in ours.banned):
            return True
    return False


def _avoids(config: Config, start: str) -> set[str]:
    """The groups ``start`` avoids, directly or through the groups they avoid."""
    seen: set[str] = set()
    todo = [start]
    while todo:
        for other in config.group(todo.pop()).avoid:
            if other not in seen:
                seen.add(other)
                todo.append(other)
    return seen


def _without_avoid(outcome: Outcome, step: int, avoider: str, avoided: str) -> Outcome:
    """The scenario up to ``step`` with ``avoider``'s avoid of ``avoided`` taken out."""
    scenario = outcome.scenario
    groups = tuple(dataclasses.replace(g, avoid=tuple(h for h in g.avoid if h != avoided))
                   if g.name == avoider else g for g in scenario.config.groups)
    return run(scenario.variant(dataclasses.replace(scenario.config, groups=groups),
                                scenario.events[:step]), whole=True)


def avoid_cycle(outcome: Outcome, step: int) -> bool:
    """Groups that avoid each other (directly or round a cycle): one of them has to be
    placed first, ignoring its own avoid. crg places the avoided groups first and breaks a
    cycle by choice (the group whose application may run on the fewest nodes, then by
    name), and a group with automatic failback then moves off a node it shares
    with a group it avoids; Pacemaker breaks the cycle in its own allocation order, and a
    group placed first stays beside the group it avoids that came after it. Recognised
    where Pacemaker puts the group beside a group it avoids that avoids it back, crg keeps
    it apart, and Pacemaker agrees with crg once one link of a cycle through the group is
    taken out (the cycle broken, Pacemaker must place the other groups first): the avoid
    of this group by one that avoids it back, first, else any link of a cycle (seed 351:
    ``g1`` and ``g3`` avoid each other, ``g2`` avoids ``g1`` and ``g3`` avoids ``g2``;
    Pacemaker's walk through the cycle places ``g2`` before ``g1``, beside it)."""
    config = outcome.scenario.config
    for name in outcome.differing_groups(step):
        if any(outcome.crg[step][other].vip == outcome.crg[step][name].vip
               for other in config.group(name).avoid):
            continue
        theirs = outcome.pacemaker[step][name].vip
        for other in config.group(name).avoid:
            if (theirs is not None and outcome.pacemaker[step][other].vip == theirs
                    and name in _avoids(config, other)):
                avoiders = [(g.name, name) for g in config.groups if name in g.avoid
                            and g.name in _avoids(config, name)]
                cycle_links = [(g.name, h) for g in config.groups for h in g.avoid
                               if g.name in _avoids(config, h)
                               and (g.name, h) not in avoiders]
                for avoider, avoided in avoiders + cycle_links:
                    broken = _without_avoid(outcome, step, avoider, avoided)
                    if broken.pacemaker[step][name] == outcome.crg[step][name]:
                        return True
    return False


def _avoided_at(outcome: Outcome, step: int, name: str, node: str | None) -> list[str]:
    """The groups ``name`` avoids that crg has on ``node`` after ``step``."""
    return [other for other in outcome.scenario.config.group(name).avoid
            if node is not None and outcome.crg[step][other].vip == node]


def avoided_home_taken(outcome: Outcome, step: int) -> bool:
    """crg places a group beside a group it avoids, taken to be on its way home (automatic
    failback, away from a home that is available), although that group's home holds a
    group it avoids in turn, so it stays where it is; Pacemaker's colocation penalty
    applies wherever the avoided group is, and the group goes to a node without it."""
    config = outcome.scenario.config
    for name in outcome.differing_groups(step):
        node = outcome.crg[step][name].vip
        if outcome.pacemaker[step][name].vip == node:
            continue
        for other in _avoided_at(outcome, step, name, node):
            avoided = config.group(other)
            if (avoided.failback is Failback.AUTO and node != avoided.preferred
                    and _avoided_at(outcome, step, other, avoided.preferred)):
                return True
    return False


def home_avoided_too(outcome: Outcome, step: int) -> bool:
    """A group with automatic failback shares its node with a group it avoids, and its
    preferred node holds a group it avoids too: crg leaves it where it is (a move that
    ends beside an avoided group is an outage for nothing); Pacemaker sends it home, where
    the preferred node's lead decides between two nodes with one penalty each."""
    config = outcome.scenario.config
    for name in outcome.differing_groups(step):
        group = config.group(name)
        node = outcome.crg[step][name].vip
        if (group.failback is Failback.AUTO and node != group.preferred
                and outcome.pacemaker[step][name].vip == group.preferred
                and _avoided_at(outcome, step, name, node)
                and _avoided_at(outcome, step, name, group.preferred)):
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
        alone = scenario.variant(dataclasses.replace(scenario.config, groups=groups),
                                 scenario.events[:step])
        if run(alone, whole=True).pacemaker[step][name] == outcome.crg[step][name]:
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


def instance_move_refused(outcome: Outcome, step: int) -> bool:
    """An operator moves an instance group to a node other than its preferred one: crg
    takes it there in offline mode (VIP held, application stopped), as it would after a
    failover, and keeps it there while the target is in force; Pacemaker keeps the group
    at home, or brings it back as soon as home is up, since the application, banned from
    every node but the preferred one, pulls its group along whatever the ``cli-prefer``
    constraint's INFINITY (INFINITY and -INFINITY make -INFINITY). Recognised where crg
    has the group offline on its target, not the preferred node, and Pacemaker runs it on
    the preferred node."""
    config = outcome.scenario.config
    for name in outcome.differing_groups(step):
        group = config.group(name)
        ours, theirs = outcome.crg[step][name], outcome.pacemaker[step][name]
        if (group.kind is Kind.INSTANCE and ours.target not in (None, group.preferred)
                and ours.vip == ours.target and ours.app is None
                and theirs.vip == theirs.app == group.preferred):
            return True
    return False


def _target_dropped(outcome: Outcome, step: int, name: str, how: str) -> str | None:
    """The node of ``name``'s last switchover before ``step`` when crg withdrew that
    target itself — ``how``: ``fail``, the target node crashed, or ``fault``, the group
    spent its restart budget there — and no operator command on the group followed
    (Pacemaker's ``cli-prefer`` constraint still names the node); else None."""
    events = outcome.scenario.events[:step]
    for index in range(len(events), 0, -1):
        event = events[index - 1]
        if event[0] in ("switchover", "clear") and event[1] == name:
            return None  # the operator's own command replaced or withdrew the target
        before, after = outcome.crg[index - 1][name], outcome.crg[index][name]
        if before.target is None or after.target is not None:
            continue
        node = before.target
        if how == "fail" and event == ("fail", node):
            return node
        if (how == "fault" and event == ("fault", name) and before.app == node
                and node in after.banned):
            return node
        return None
    return None


def _back_on_dropped_target(outcome: Outcome, step: int, how: str) -> bool:
    for name in outcome.differing_groups(step):
        node = _target_dropped(outcome, step, name, how)
        if (node is not None and outcome.pacemaker[step][name].vip == node
                and outcome.crg[step][name].vip != node):
            return True
    return False


def move_outlives_crash(outcome: Outcome, step: int) -> bool:
    """An operator moved a group to a node that then crashed: crg withdraws the target
    (the node can no longer take the group) and the group, placed elsewhere, stays there
    by its failback policy when the node returns; Pacemaker's ``cli-prefer`` constraint
    outlives the crash, and the group goes back to the node once it is up again.
    Recognised where crg withdrew the target at the node's crash, no switchover or clear
    of the group followed, and Pacemaker has the group's VIP on that node and crg not."""
    return _back_on_dropped_target(outcome, step, "fail")


def move_outlives_ban(outcome: Outcome, step: int) -> bool:
    """An operator moved a group to a node where it then spent its restart budget: crg
    withdraws the target (the move failed; the window passing must not send the group
    back there long after the operator asked); Pacemaker's ``cli-prefer`` constraint
    stays, so the group's VIP goes back there as soon as the application may run nowhere
    (or, after a clean-up or the failure-timeout, the whole group). Recognised where crg
    withdrew the target at a fault that banned the group from it, no switchover or clear
    followed, and Pacemaker has the group's VIP on that node and crg not."""
    return _back_on_dropped_target(outcome, step, "fault")


def fail_count_per_node(outcome: Outcome, step: int) -> bool:
    """A group comes back to a node where its application already failed, and fails
    again: crg counts restarts per stay (a new owner starts from a full budget) and
    restarts it in place; Pacemaker counts failures per node (the fail count stays on
    the node the group left, until a clean-up, a crash of the node or the
    failure-timeout) and, the migration-threshold reached, moves it away. Recognised on
    the fault, from the script: the faults on that node since its last crash or clean-up
    reach the threshold (restarts + 1), those since the group's arrival there do not."""
    if step == 0:
        return False
    event = outcome.scenario.events[step - 1]
    if event[0] != "fault":
        return False
    name = event[1]
    node = outcome.crg[step - 1][name].app
    if (node is None or outcome.crg[step][name].app != node
            or outcome.pacemaker[step][name].vip == node):
        return False
    threshold: int = outcome.scenario.config.group(name).restarts + 1
    on_node = this_stay = 0
    arrived = False
    for index in range(step, 0, -1):
        earlier = outcome.scenario.events[index - 1]
        if earlier in (("fail", node), ("cleanup", name, node)):
            break
        if earlier == ("fault", name) and outcome.crg[index - 1][name].app == node:
            on_node += 1
            this_stay += not arrived
        if outcome.crg[index - 1][name].vip != node:
            arrived = True  # before this event the group was elsewhere: a new stay began
    return on_node >= threshold > this_stay


CAUSES: tuple[Cause, ...] = (
    # First: instance-goes-home reads only the placement, and an instance group moved to
    # a possible node in offline mode would pass for one that Pacemaker brought home.
    Cause("instance-move-refused", "an operator moves an instance group off its preferred "
          "node: crg moves it in offline mode, Pacemaker does not move it",
          instance_move_refused),
    Cause("instance-ban-keeps-vip", "an instance group out of restarts on its preferred "
          "node: crg moves the VIP on in offline mode, Pacemaker keeps it there",
          instance_ban_keeps_vip),
    Cause("instance-goes-home", "an instance group with manual failback: Pacemaker brings "
          "it back to its preferred node, crg leaves it offline", instance_goes_home),
    Cause("blocked-vip-goes-home", "an auto group blocked away from home: crg keeps its VIP "
          "where it was blocked, Pacemaker moves the VIP alone to the preferred node",
          blocked_vip_goes_home),
    # After blocked-vip-goes-home: a blocked auto group's VIP goes home in Pacemaker with
    # or without a dropped target there, so when home was the target the command is not
    # what made the difference.
    Cause("move-outlives-crash", "a switchover's node crashes: crg withdraws the target, "
          "Pacemaker's cli-prefer brings the group back when the node returns",
          move_outlives_crash),
    Cause("move-outlives-ban", "a group spends its budget on its switchover's node: crg "
          "withdraws the target, Pacemaker's cli-prefer still draws the group there",
          move_outlives_ban),
    Cause("fail-count-per-node", "a group back on a node where it failed before: crg "
          "restarts it (a new stay, a new budget), Pacemaker counts the old failures",
          fail_count_per_node),
    Cause("avoid-cycle", "groups that avoid each other: crg places the least free first and "
          "moves an auto group off the node it shares; Pacemaker in its own order, and "
          "leaves it",
          avoid_cycle),
    Cause("avoided-home-taken", "crg takes an avoided auto group away from home for "
          "leaving although its home holds a group it avoids; Pacemaker keeps apart",
          avoided_home_taken),
    Cause("home-avoided-too", "an auto group beside a group it avoids, its home beside "
          "another: crg stays, Pacemaker goes home", home_avoided_too),
    Cause("avoider-influence", "Pacemaker places an avoided group off the node a group "
          "that avoids it holds or prefers; crg places it by its own list alone",
          avoider_influence),
    Cause("avoided-count", "every candidate holds an avoided group: crg takes the first, "
          "Pacemaker the one with the fewest", avoided_count),
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
