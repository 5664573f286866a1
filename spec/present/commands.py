"""Operator commands read against a state: whether one can take effect now and why not,
which groups it concerns, when they are at rest again, and whether what it asked for
holds then.

The runtime (``crg switchover``, ``crg drain``, ``crg cleanup``...) and ``crg simulate``
share these readings, so that a command is refused, waited for and reported in the
same words everywhere; none of them decides anything: whether an event can happen is
the model's :meth:`~crg.spec.Model.apply`, what happens after it the rules'.
"""

from __future__ import annotations

from dataclasses import dataclass

from crg.spec.model import IllegalAction, Model, State
from crg.spec.present.modes import Mode, Placement, node_status, node_words_of, placement_of
from crg.spec.present.simulation import EVENTS_BY_NAME, Arg, Event, Simulation
from crg.spec.rules.roles import settled


@dataclass(frozen=True, slots=True)
class Refusal:
    reason: str
    busy: bool
    """Nothing stands in the way but the group's not being at rest, and the cluster
    service is on its way to rest (it has steps to take for the group): the command may
    be accepted once the group settles. Every other refusal holds until something else
    happens (a node returns, an operator acts, the restart window passes), or never (a
    node outside the group's list): a refusal all the same, as README's exit code 5 says,
    not bad input — the names are valid, the command cannot take effect."""


def refusal(simulation: Simulation, state: State, event: Event) -> Refusal | None:
    """None when ``event`` can happen in ``state``, else why not. Names must be valid
    (:meth:`Simulation.check_names`)."""
    model = simulation.model
    action = simulation.action(state, event)
    try:
        model.apply(state, action)
        return None
    except IllegalAction:
        pass
    obstacle = simulation.obstacle(state, event)
    if obstacle is not None:
        return Refusal(obstacle, busy=False)
    group = event.args[0]
    busy = not at_rest(model, state, (model.topology.group_index(group),))
    return Refusal(simulation.not_at_rest(state, group), busy)


def concerned(model: Model, event: Event) -> tuple[int, ...]:
    """The groups whose placement ``event`` may change: its group, or for a node event
    every group with the node in its list."""
    topology = model.topology
    if EVENTS_BY_NAME[event.name].args == (Arg.NODE,):
        n = topology.node_index(event.args[0])
        return tuple(g.index for g in model.groups if n in g.candidates)
    return (topology.group_index(event.args[0]),)


def linked(model: Model, groups: tuple[int, ...]) -> tuple[int, ...]:
    """The other groups joined to ``groups`` by ``avoid`` links, either way and through
    others: a command that moves one of ``groups`` may move them too (a group avoiding it
    leaves the node it came to, which may free another's home...)."""
    neighbours: dict[int, set[int]] = {g.index: set() for g in model.groups}
    for g in model.groups:
        for h in g.avoid:
            if h in neighbours and h != g.index:
                neighbours[g.index].add(h)
                neighbours[h].add(g.index)
    seen, todo = set(groups), list(groups)
    while todo:
        for h in neighbours.get(todo.pop(), ()):
            if h not in seen:
                seen.add(h)
                todo.append(h)
    return tuple(sorted(seen - set(groups)))


def at_rest(model: Model, state: State, groups: tuple[int, ...]) -> bool:
    """The cluster service has no step left to take for any of ``groups``."""
    wanted = set(groups)
    return not any(action.group in wanted for action, _, _ in model.system_transitions(state))


def shortfall(model: Model, state: State, event: Event) -> str | None:
    """Why what ``event`` asked for does not hold in ``state`` (None: it holds), for a
    state where its groups are at rest. A switchover asks for the group on the target,
    a drain for nothing of any group on the node, offline and online for the application
    stopped or running — which a group in maintenance does not do until it ends, nor a
    blocked group or one with no node left (an operator who typed ``crg online job`` and
    read ``done`` would take the application for running); the other commands set or
    clear a flag, which holds as soon as they are accepted (what follows — a failed
    restart — is shown by the placement, not counted against the command)."""
    nodes = model.topology.nodes
    if event.name == "switchover":
        group, node = event.args
        g = model.topology.group_index(group)
        p = placement_of(model, state, g)
        if p.node != node:
            where = f"on {p.node}" if p.node else "on no node"
            if model.group_vars(state, g).maintenance:
                return (f"{group} is in maintenance: the cluster service takes no action for "
                        f"it, so it stays {where} until crg maintenance off {group}")
            status = node_words_of(model, state)[node]
            # The target went with its node (its crash, its lost lease, its drain
            # withdraw it): "not on n3" alone read as a switchover that failed for no
            # reason, when n3 had hung a moment before it was given.
            gone = (f": {node} is {status}, which withdrew the switchover"
                    if status != "up" and model.group_vars(state, g).target != nodes.index(node) + 1
                    else "")
            return f"{group} is {where} (mode {p.mode.value}), not on {node}{gone}"
    if event.name == "drain":
        n = nodes.index(event.args[0])
        held = [g.name for g in model.groups
                if model.group_vars(state, g.index).owner == n + 1
                or _holds(model, state, g.index, n)]
        if held:
            return f"{event.args[0]} still hosts {', '.join(held)}"
    if event.name in ("offline", "online"):
        g = model.topology.group_index(event.args[0])
        gv = model.group_vars(state, g)
        if gv.maintenance and bool(gv.app) == (event.name == "offline"):
            return (f"{event.args[0]} is in maintenance: the cluster service takes no action "
                    f"for it, so its application {'still runs' if gv.app else 'stays stopped'}"
                    f" until crg maintenance off {event.args[0]}")
    if EVENTS_BY_NAME[event.name].args != (Arg.NODE,) and event.name != "maintenance-on":
        # Whatever else a command on a group in maintenance asked for (a cleanup of a
        # blocked group, say): the spec's own reading of rest says whether the cluster
        # service has something left to do for it, which it will do only afterwards.
        group = event.args[0]
        g = model.topology.group_index(group)
        if model.group_vars(state, g).maintenance and not settled(model.view(state, g)):
            return (f"{group} is in maintenance: the cluster service takes no action for it, "
                    f"so what this asks for waits until crg maintenance off {group}")
    return _unmet(model, state, event)


def _holds(model: Model, state: State, g: int, n: int) -> bool:
    gv = model.group_vars(state, g)
    return bool(((gv.vip | gv.app | gv.mon) >> n) & 1)


def cleanups(simulation: Simulation, state: State, group: str) -> list[Event]:
    """``crg cleanup GROUP`` without a node: one cleanup per candidate node that has
    something to clear (a ban, or the restarts used on the owner), in list order — as
    ``crg simulate --cleanup GROUP`` reads it (:meth:`Simulation.cleanups`)."""
    return simulation.cleanups(state, group)


def needed(model: Model, state: State, events: list[Event]) -> list[Event]:
    """``crg maintenance on|off --all``: the events of the groups not already as asked (a
    group already in maintenance needs no ``maintenance-on``); all of them when every
    group is already so, so that each is refused with its reason."""
    wanted = {"maintenance-on": True, "maintenance-off": False}
    left = [e for e in events
            if e.name not in wanted or model.group_vars(
                state, model.topology.group_index(e.args[0])).maintenance != wanted[e.name]]
    return left or events


def outcome_line(placement: Placement) -> str:
    """``web: failover on n2, application up`` (a group's placement, for a command's
    outcome)."""
    if placement.node is None:
        return f"{placement.group}: {placement.mode.value}, on no node"
    line = (f"{placement.group}: {placement.mode.value} on {placement.node}, "
            f"application {placement.app}")
    if placement.maintenance:
        line += " (maintenance)"
    return line


def _unmet(model: Model, state: State, event: Event) -> str | None:
    """Why ``event``, accepted and with its groups at rest in ``state``, did not give what
    it asked for when its placement says so (None otherwise)."""
    if event.name != "online":
        return None
    group = event.args[0]
    g = model.topology.group_index(group)
    placement = placement_of(model, state, g)
    if placement.maintenance or placement.app == "up":
        return None  # maintenance: shortfall says it
    if placement.mode is Mode.BLOCKED:
        return (f"{group} is blocked on {placement.node}: {_why_nowhere(model, state, g)}, so "
                f"its application does not run; crg cleanup {group} [NODE] first")
    if placement.mode is Mode.DOWN:
        return (f"{group} is down: {_why_nowhere(model, state, g)}, so its application "
                "runs nowhere")
    return None


def _why_nowhere(model: Model, state: State, g: int) -> str:
    """Why no node of group ``g``'s list can run it: ``every candidate is banned (its
    restart budget is spent there)``, or node by node (``n1 banned (...), n2 down``)."""
    nodes = model.topology.nodes
    status = node_status(model, state)
    ban = model.group_vars(state, g).ban
    candidates = model.groups[g].candidates
    banned = {n for n in candidates if (ban >> n) & 1}
    if banned == set(candidates):
        return "every candidate is banned (its restart budget is spent there)"
    said = [f"{nodes[n]} banned (its restart budget is spent there)" if n in banned
            else f"{nodes[n]} {status[nodes[n]]}" for n in candidates]
    return ", ".join(said)
