"""Scripted "what if" scenarios, evaluated on the spec alone (``crg simulate``).

A scenario is a list of environment events (crash a node, fault an application, move a
group...). Before the first event and after each one the cluster service runs to
quiescence, taking its steps in the model's fixed order (the first enabled system
transition each time), so a scenario has exactly one outcome. Nothing here touches a
real node: it is the model's answer, from the same rules the checker explores.

Events beyond the config's assumptions are allowed (fail every node if you like): a
simulation asks what the rules do, the assumptions only bound what the checker explores.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import Enum

from crg.dsl import Config, Fault
from crg.dsl.diagnostics import did_you_mean
from crg.spec import STATE_INVARIANTS, Action, ActionKind, Model, State
from crg.spec.invariants import exempt_invariants
from crg.spec.model import IllegalAction
from crg.spec.present.modes import (
    ALERT_EVENTS,
    describe,
    node_status,
    nodes_out,
    placement_of,
)

DEFAULT_MAX_STEPS = 10_000
"""Steps the cluster service may take to settle after one event before the simulation
calls it a livelock. A settled web tier needs a few dozen; this is a generous ceiling."""

_STATEMENTS = {inv.name: " ".join(inv.statement.split()) for inv in STATE_INVARIANTS}

ALERT_NOTIFICATIONS = frozenset(ALERT_EVENTS.values())
"""The kinds of notification that go to the group's alert sinks (the others, the service
events, go to its subscribers)."""


class Arg(Enum):
    NODE = "NODE"
    GROUP = "GROUP"


@dataclass(frozen=True, slots=True)
class EventSpec:
    """One command-line event: its option name, its arguments, the action it becomes."""

    name: str
    args: tuple[Arg, ...]
    kind: ActionKind
    help: str


EVENTS: tuple[EventSpec, ...] = (
    EventSpec("fail", (Arg.NODE,), ActionKind.CRASH, "crash NODE: it stops with everything on it"),
    EventSpec("join", (Arg.NODE,), ActionKind.REJOIN, "a crashed NODE comes back, empty"),
    EventSpec("partition", (Arg.NODE,), ActionKind.PARTITION,
              "cut NODE off the store; it keeps running (and must fence itself)"),
    EventSpec("heal", (Arg.NODE,), ActionKind.HEAL, "end NODE's partition"),
    EventSpec("drain", (Arg.NODE,), ActionKind.DRAIN,
              "an operator takes NODE out of service: its groups move away in order"),
    EventSpec("undrain", (Arg.NODE,), ActionKind.UNDRAIN, "NODE may host groups again"),
    EventSpec("fault", (Arg.GROUP,), ActionKind.FAULT,
              "GROUP's application fails where it runs (its monitors notice)"),
    EventSpec("switchover", (Arg.GROUP, Arg.NODE), ActionKind.SWITCHOVER,
              "an operator moves GROUP to NODE, one of its possible nodes"),
    EventSpec("offline", (Arg.GROUP,), ActionKind.OFFLINE,
              "an operator puts GROUP in offline mode (VIP held, application stopped)"),
    EventSpec("online", (Arg.GROUP,), ActionKind.ONLINE, "end GROUP's offline mode"),
    EventSpec("clear", (Arg.GROUP,), ActionKind.CLEAR,
              "an operator withdraws GROUP's switchover target: its placement decides again"),
    EventSpec("forgive", (Arg.GROUP,), ActionKind.FORGIVE,
              "GROUP's restart window passes: restart budget and bans are restored"),
    EventSpec("maintenance-on", (Arg.GROUP,), ActionKind.MAINTENANCE_ON,
              "an operator puts GROUP in maintenance: the cluster service takes no action "
              "for it"),
    EventSpec("maintenance-off", (Arg.GROUP,), ActionKind.MAINTENANCE_OFF,
              "GROUP's maintenance ends: the cluster service takes it as it finds it"),
    EventSpec("cleanup", (Arg.GROUP, Arg.NODE), ActionKind.CLEANUP,
              "an operator clears GROUP's failure record on NODE (its ban, and the "
              "restarts used there); without NODE, on every node of its list that has "
              "one, as crg cleanup GROUP does"),
)
EVENTS_BY_NAME = {spec.name: spec for spec in EVENTS}


class ScenarioError(ValueError):
    """The scenario names something unknown or asks for an event that cannot happen in
    the state it would apply to (bad input: exit code 2)."""

    def __init__(self, message: str, reason: str | None = None) -> None:
        super().__init__(message)
        self.reason = reason if reason is not None else message
        """The message without the event it concerns."""


@dataclass(frozen=True, slots=True)
class Event:
    name: str
    """An :data:`EVENTS` name (``fail``, ``switchover``...)."""
    args: tuple[str, ...]

    def __str__(self) -> str:
        return " ".join((f"--{self.name}", *self.args))


@dataclass(frozen=True, slots=True)
class Notification:
    kind: str
    """``service-up``, ``service-down``, or an alert: ``alert`` (the last node),
    ``blocked`` or ``stranded``."""
    group: str
    node: str
    """The node that sent it (the group's host; for ``stranded``, the cluster's first node
    in contact with the store)."""
    recipients: tuple[str, ...]
    """For service events: the subscribed groups (the config's ``notify``)."""
    sinks: tuple[tuple[str, str | None], ...]
    """For alerts: the group's alert sinks as (kind, target)."""


@dataclass(frozen=True, slots=True)
class Problem:
    """An invariant the scenario broke: a bug in the rules or an unsafe configuration."""

    invariant: str
    group: str | None
    detail: str


@dataclass(frozen=True, slots=True)
class Livelock:
    """The cluster service did not settle: it kept taking steps."""

    steps: int
    """Steps taken before giving up."""
    cycle: tuple[Action, ...]
    """The steps that repeat, when a state came back (empty when only the bound was hit)."""


@dataclass(frozen=True, slots=True)
class Step:
    event: Event | None
    """None for the start-up step (the service starts every group)."""
    action: Action | None
    """The environment action the event became."""
    actions: tuple[Action, ...]
    """What the cluster service did to settle, in order."""
    notifications: tuple[Notification, ...]
    problems: tuple[Problem, ...]
    state: State
    livelock: Livelock | None = None


class Simulation:
    def __init__(self, config: Config, *, max_steps: int = DEFAULT_MAX_STEPS) -> None:
        self.config = config
        # Any number of nodes may go and any event may happen: a what-if is not bound by
        # the checker's assumptions (they only choose the environment events it explores;
        # the cluster service's steps are the same).
        # The interpreted rules: a scenario takes a few hundred steps, far too few to pay
        # for generating and compiling code per group (minutes for a few hundred groups).
        self.model = Model.from_config(config, max_down=len(config.cluster.nodes),
                                       faults=frozenset(Fault), compiled=False)
        self.max_steps = max_steps
        self._groups = {group.name: group for group in config.groups}

    # -- running -----------------------------------------------------------------------

    def run(self, events: Sequence[Event], start: State | None = None) -> list[Step]:
        """Start-up — or, given ``start`` (a running cluster's state, ``crg simulate
        --live``), settling from there — then each event in order, settling after each.
        Stops after a step that did not settle. Raises :class:`ScenarioError` for a bad
        event (names are all checked before anything runs)."""
        for event in events:
            self.check_names(event)
        steps = [self.start() if start is None else self._settle(None, None, start, ())]
        for event in events:
            for each in self._expanded(steps[-1].state, event):
                if steps[-1].livelock is not None:
                    return steps
                steps.append(self.step(steps[-1].state, each))
        return steps

    def _expanded(self, state: State, event: Event) -> list[Event]:
        """``--cleanup GROUP`` without a node is, as ``crg cleanup GROUP`` is, a cleanup on
        every node of its list that has a failure recorded (:meth:`cleanups`)."""
        if event.name != "cleanup" or len(event.args) != 1:
            return [event]
        found = self.cleanups(state, event.args[0])
        if not found:
            raise ScenarioError(f"{event}: {event.args[0]} has no failure recorded: no "
                                "restart used and no node banned, nothing to clean up")
        return found

    def cleanups(self, state: State, group: str) -> list[Event]:
        """One cleanup per candidate of ``group`` with something to clear there (a ban,
        or the restarts used on the owner), in list order: what a cleanup without a node
        means, here and in the runtime."""
        topo = self.model.groups[self.model.topology.group_index(group)]
        found = []
        for c in topo.candidates:
            event = Event("cleanup", (group, self.model.topology.nodes[c]))
            try:
                self.model.apply(state, self.action(state, event))
            except IllegalAction:
                continue
            found.append(event)
        return found

    def start(self) -> Step:
        return self._settle(None, None, self.model.initial(), ())

    def step(self, state: State, event: Event) -> Step:
        """Apply ``event`` to the settled ``state``, then settle again.

        The event is looked up among the model's environment transitions: the model has
        no assumptions, so this is exactly what ``Model.apply`` would accept, and it also
        gives the step invariants the event breaks."""
        action = self.action(state, event)
        for candidate, after, problems in self.model.environment_transitions(state):
            if candidate == action:
                return self._settle(event, action, after,
                                    self._problems((candidate, after, problems)))
        raise ScenarioError(f"{event}: {self.why_not(state, event)}")

    def _settle(self, event: Event | None, action: Action | None, state: State,
                problems: Sequence[Problem]) -> Step:
        found = list(problems)
        taken, state, livelock = settle(self.model, state, self.max_steps,
                                        on_transition=lambda t: found.extend(self._problems(t)))
        found.extend(self._state_problems(state, quiescent=livelock is None))
        return Step(event, action, tuple(taken), tuple(self._notifications(taken)),
                    tuple(dict.fromkeys(found)), state, livelock)

    # -- events --------------------------------------------------------------------------

    def check_names(self, event: Event) -> None:
        spec = EVENTS_BY_NAME[event.name]
        wanted = spec.args[:1] if event.name == "cleanup" and len(event.args) == 1 else spec.args
        for kind, value in zip(wanted, event.args, strict=True):
            try:
                self.check_name(kind, value)
            except ScenarioError as exc:
                raise ScenarioError(f"{event}: {exc.reason}", exc.reason) from None

    def check_name(self, kind: Arg, value: str) -> None:
        """A node or group of the configuration, or ScenarioError with a *did you mean*."""
        names = self.model.topology.nodes if kind is Arg.NODE else tuple(self._groups)
        if value not in names:
            hint = did_you_mean(value, names)
            word = "node" if kind is Arg.NODE else "group"
            raise ScenarioError(f"unknown {word} '{value}'" + (f"; {hint}" if hint else ""))

    def action(self, state: State, event: Event) -> Action:
        """The model action of ``event`` in ``state`` (not yet checked to be enabled)."""
        self.check_names(event)
        spec = EVENTS_BY_NAME[event.name]
        topology = self.model.topology
        if spec.args == (Arg.NODE,):
            return Action(spec.kind, -1, topology.node_index(event.args[0]))
        g = topology.group_index(event.args[0])
        if spec.args == (Arg.GROUP, Arg.NODE):
            return Action(spec.kind, g, topology.node_index(event.args[1]))
        if spec.kind is ActionKind.FAULT:
            # The application fails where it runs: on the group's owner.
            return Action(spec.kind, g, self.model.group_vars(state, g).owner - 1)
        return Action(spec.kind, g, -1)

    def why_not(self, state: State, event: Event) -> str:
        """Why ``event`` cannot happen in ``state``, in an operator's words."""
        return self.obstacle(state, event) or self.not_at_rest(state, event.args[0])

    def obstacle(self, state: State, event: Event) -> str | None:
        """What in ``state`` stands in the way of ``event`` other than its group not being
        at rest (an operator command needs a settled group, SPEC.md choice 11): a node
        down, banned, drained or outside the group's list, a flag already set... None
        when nothing does, so that only the group's being at rest can (see
        :mod:`crg.spec.present.commands`: the one obstacle worth waiting out)."""
        m = self.model
        if event.name == "cleanup":
            node = event.args[1]
            candidates = [m.topology.nodes[c] for c in m.groups[m.topology.group_index(
                event.args[0])].candidates]
            if node not in candidates:
                return f"{node} is not a candidate of {event.args[0]}"
        if EVENTS_BY_NAME[event.name].args == (Arg.NODE,):
            node = event.args[0]
            drained = (m.node_vars(state).drained >> m.topology.node_index(node)) & 1
            if event.name in ("drain", "undrain"):
                return f"{node} is {'already' if drained else 'not'} drained"
            status = node_status(m, state)[node]
            if event.name == "join" and status in ("cut", "lost"):
                return f"{node} did not crash, it is partitioned ({status}); use --heal {node}"
            wanted = {"fail": "up, cut or lost", "join": "down", "partition": "up",
                      "heal": "partitioned"}[event.name]
            return f"{node} is {status}; it must be {wanted}"
        group = event.args[0]
        g = m.topology.group_index(group)
        p = placement_of(m, state, g)
        gv = m.group_vars(state, g)
        if event.name == "switchover":
            node = event.args[1]
            topo = m.groups[g]
            candidates = [m.topology.nodes[c] for c in topo.candidates]
            if node not in candidates:
                return (f"{node} is not a candidate of {group} "
                        f"(its list: {', '.join(candidates)})")
            # The target's own state first: it holds whether or not the group is at rest
            # (with every node down the answer is "n2 is down", not a wait).
            status = node_status(m, state)[node]
            if status == "drained":
                return f"{node} is drained: it may not host groups"
            if status != "up":
                return f"{node} is {status}; it must be up"
            if (gv.ban >> m.topology.node_index(node)) & 1:
                return (f"{group} has spent its restart budget on {node}; clean up first "
                        f"(crg cleanup {group} {node}) or wait for the restart window")
            if p.node == node:
                if p.target is not None and p.target != node:
                    # The operator may think this cancels the pending move: it cannot.
                    return (f"{group} is already on {node}; the switchover to {p.target} "
                            f"stays pending (it moves once it may run there; crg clear "
                            f"{group} withdraws it)")
                return f"{group} is already on {node}"
            if p.target == node:
                return f"a switchover of {group} to {node} is already in force"
            if p.node is not None and not p.switching:
                return (f"switching is disabled: {group} is on the last available node of "
                        "its list")
        elif event.name == "fault":
            if gv.maintenance:
                # Not a matter of rest: in maintenance no fault is charged (SPEC.md section 9,
                # maintenance); the runtime holds what the monitors say until it ends.
                return (f"{group} is in maintenance: the cluster service takes no action for "
                        f"it and charges no fault (end it first: --maintenance-off {group})")
            if p.app != "up":
                where = f" on {p.node}" if p.node else ""
                return f"the application of {group} is not running (it is {p.app}{where})"
        elif event.name == "offline":
            if gv.offline:
                return f"{group} is already in offline mode"
        elif event.name == "online":
            if not gv.offline and p.mode.value == "offline":
                # An instance group away from its one node: status says "offline", and an
                # operator reaches for crg online, which ends only an operator's offline.
                home = m.topology.nodes[m.groups[g].preferred]
                why = f"{home} is {node_status(m, state)[home]}"
                if (gv.ban >> m.groups[g].preferred) & 1:
                    why = (f"it spent its restart budget there: crg cleanup {group} {home}, "
                           "or wait for the restart window")
                return (f"{group} is not offline by an operator: an instance group, it runs "
                        f"its application only on {home} and is offline until {home} can "
                        f"host it again ({why})")
            if not gv.offline:
                return f"{group} is not in offline mode"
        elif event.name == "clear":
            if gv.target == 0:
                return f"{group} has no switchover target: nothing to clear"
        elif event.name == "forgive":
            return f"{group} has no restart used and no node banned: nothing to forgive"
        elif event.name == "cleanup":
            node = event.args[1]
            return f"{group} has no failure recorded on {node}: nothing to clean up"
        elif event.name == "maintenance-on":
            if gv.maintenance:
                return f"{group} is already in maintenance"
        elif event.name == "maintenance-off":
            return f"{group} is not in maintenance"
        return None

    def not_at_rest(self, state: State, group: str) -> str:
        """Why an operator command on ``group`` waits: it is not at rest (SPEC.md choice
        11), in the words of its placement."""
        m = self.model
        p = placement_of(m, state, m.topology.group_index(group))
        if p.node is None:
            return f"{group} is not placed on any node (mode {p.mode.value})"
        why = f"{group} is not at rest (mode {p.mode.value}, application {p.app})"
        if p.maintenance:
            why += ": it is in maintenance, and the cluster service takes no action for it"
        return why

    # -- what a step produced ----------------------------------------------------------

    def _notifications(self, actions: Sequence[Action]) -> list[Notification]:
        out = []
        nodes = self.model.topology.nodes
        for action in actions:
            if action.kind not in (ActionKind.NOTIFY_UP, ActionKind.NOTIFY_DOWN, *ALERT_EVENTS):
                continue
            topo = self.model.groups[action.group]
            if action.kind in ALERT_EVENTS:
                sinks = tuple((s.kind.value, s.target) for s in self._groups[topo.name].alerts)
                kind = ALERT_EVENTS[action.kind]
                out.append(Notification(kind, topo.name, nodes[action.node], (), sinks))
            else:
                kind = "service-up" if action.kind is ActionKind.NOTIFY_UP else "service-down"
                out.append(Notification(kind, topo.name, nodes[action.node],
                                        tuple(topo.subscribers), ()))
        return out

    def _problems(self, transition: tuple[Action, State, tuple[tuple[str, str], ...]]
                  ) -> list[Problem]:
        action, after, step_problems = transition
        group = self.model.groups[action.group].name if action.group >= 0 else None
        out = [Problem(name, group, f"{describe(self.model, action)}: {detail}")
               for name, detail in step_problems]
        out.extend(self._state_problems(after, quiescent=False))
        return out

    def _state_problems(self, state: State, *, quiescent: bool) -> list[Problem]:
        # A what-if may go beyond the config's failure assumption on purpose; the
        # placement already shows a group with no candidate left as mode down.
        exempt = exempt_invariants(nodes_out(self.model, state), self.config.cluster.max_down)
        out = []
        for name, g in self.model.state_problems(state, quiescent):
            if name in exempt:
                continue
            out.append(Problem(name, self.model.groups[g].name, _STATEMENTS.get(name, name)))
        return out


def settle(model: Model, state: State, max_steps: int = DEFAULT_MAX_STEPS, *,
           on_transition: Callable[[tuple[Action, State, tuple[tuple[str, str], ...]]], None]
           | None = None) -> tuple[list[Action], State, Livelock | None]:
    """Let the cluster service run, first enabled step each time, until nothing is
    enabled. Returns the actions taken, the state reached and, if it did not settle
    within ``max_steps`` or came back to a state it had left, the livelock."""
    taken: list[Action] = []
    seen = {state: 0}
    for count in range(1, max_steps + 1):
        transitions = model.system_transitions(state)
        if not transitions:
            return taken, state, None
        transition = transitions[0]
        action, state, _ = transition
        taken.append(action)
        if on_transition is not None:
            on_transition(transition)
        if state in seen:
            # The order is fixed, so a state seen before will repeat forever.
            return taken, state, Livelock(count, tuple(taken[seen[state]:]))
        seen[state] = count
    if not model.system_transitions(state):
        return taken, state, None
    return taken, state, Livelock(max_steps, ())
