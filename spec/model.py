"""The executable model: initial state, enabled actions, next state.

:class:`Model` evaluates the rules of :mod:`crg.spec.rules_run`, :mod:`~crg.spec.rules_halt`,
:mod:`~crg.spec.rules_care` and :mod:`~crg.spec.events` with the concrete algebra on packed
states (:mod:`crg.spec.layout`). A group's rules read only the node status, that group's
variables and the owners of the groups it avoids, so their outcome is memoised on exactly
that key: the rules stay the readable definition, the memo tables are the fast layer.
"""

from __future__ import annotations

from collections.abc import Iterator

from crg.dsl.model import Config, Fault
from crg.spec import events
from crg.spec.actions import (
    ENV_GROUP_KINDS,
    GROUP_EFFECTS,
    KINDS,
    SYSTEM_GROUP_KINDS,
    Action,
    ActionKind,
)
from crg.spec.algebra import CONCRETE
from crg.spec.compiler import CompiledGroup, GroupCompiler
from crg.spec.derived import View
from crg.spec.invariants import check_group, check_step
from crg.spec.layout import Layout
from crg.spec.topology import GroupTopology, Topology
from crg.spec.variables import GroupVars, NodeVars

State = int
Successor = tuple[Action, State]
Problems = tuple[tuple[str, str], ...]
"""Step invariants a transition breaks: (invariant name, explanation)."""
Transition = tuple[Action, State, Problems]
_GroupSteps = tuple[tuple[Action, int, Problems], ...]


_NodeEvent = tuple[Action, ActionKind, int, int]
_GROUP_EFFECT_KINDS = tuple(GROUP_EFFECTS)
"""Node events that change group variables; the others only change node masks."""

_OWNER_KINDS = frozenset({
    ActionKind.ACQUIRE_VIP, ActionKind.START_APP, ActionKind.START_MONITORS,
    ActionKind.NOTIFY_UP, ActionKind.STOP_MONITORS, ActionKind.STOP_APP,
    ActionKind.RELEASE_VIP, ActionKind.NOTIFY_DOWN, ActionKind.RELEASE_OWNERSHIP,
    ActionKind.ALERT, ActionKind.FAULT,
})
"""Kinds whose guard requires ``owned(n)``: only the owner can perform them."""


class IllegalAction(ValueError):
    """The action is not enabled in the given state."""


class Model:
    """The model of one configuration (or of a component of it, see Topology.restrict).

    ``compiled`` (the default) evaluates the rules through code generated from them
    (:mod:`crg.spec.compiler`); ``compiled=False`` interprets them with the concrete
    algebra, the reference the compiled code is tested against. ``memo`` keeps per-group
    results keyed by what the group's rules read; it pays off when several groups share
    a state space and is off by default for a single group, where every state is new.
    """

    def __init__(self, topology: Topology, *, compiled: bool = True,
                 memo: bool | None = None) -> None:
        self.topology = topology
        self.groups = topology.groups
        self.n_nodes = topology.n_nodes
        self.layout = Layout(topology.n_nodes, len(topology.groups),
                             max((g.budget for g in topology.groups), default=1))
        faults = topology.faults
        self._env_group_kinds = tuple(k for k in ENV_GROUP_KINDS if KINDS[k].fault in faults)
        self._crash = Fault.CRASH in faults
        self._partition = Fault.PARTITION in faults
        self._drain = Fault.DRAIN in faults
        n = len(topology.groups)
        self._system_memo: list[dict[tuple[int, int, tuple[int, ...]], _GroupSteps]] = [
            {} for _ in range(n)]
        self._env_memo: list[dict[tuple[int, int, tuple[int, ...]], _GroupSteps]] = [
            {} for _ in range(n)]
        self._node_effect_memo: list[dict[tuple[ActionKind, int, int], tuple[int, Problems]]] = [
            {} for _ in range(n)]
        self._invariant_memo: list[dict[tuple[int, int, tuple[int, ...], bool],
                                        tuple[str, ...]]] = [{} for _ in range(n)]
        self._expire_ready_memo: list[dict[tuple[int, int], bool]] = [{} for _ in range(n)]
        self._avoid_owner_shift = tuple(
            tuple(self.layout.offsets[h] + self.layout.off_owner for h in g.avoid)
            for g in topology.groups)
        self._unrestricted: Model | None = None
        self._node_event_cache: dict[tuple[int, bool], tuple[_NodeEvent, ...]] = {}
        self.compiled = compiled
        self._memo = len(topology.groups) > 1 if memo is None else memo
        self._code: list[CompiledGroup] = (
            [GroupCompiler(g, self.layout, self.n_nodes, self._env_group_kinds).compile()
             for g in topology.groups] if compiled else [])
        self._effect_functions = {
            (kind, n): [code.node_effects[(kind, n)] for code in self._code]
            for kind in _GROUP_EFFECT_KINDS for n in range(self.n_nodes)} if compiled else {}

    @staticmethod
    def from_config(config: Config, *, max_down: int | None = None,
                    faults: frozenset[Fault] | None = None, compiled: bool = True) -> Model:
        return Model(Topology.from_config(config, max_down=max_down, faults=faults),
                     compiled=compiled)

    # -- states ----------------------------------------------------------------------

    def initial(self) -> State:
        """Every node up, no group owned or running anywhere: the cluster service starts
        every group by its rules (so start-up is checked like any other move)."""
        return 0

    def node_vars(self, state: State) -> NodeVars:
        return self.layout.unpack_nodes(self.layout.nodes_part(state))

    def group_vars(self, state: State, g: int) -> GroupVars:
        return self.layout.unpack_group(self.layout.group_part(state, g))

    def encode(self, nodes: NodeVars, groups: list[GroupVars]) -> State:
        """Pack variables into a state (used by the runtime for its observed state)."""
        return self.layout.assemble(self.layout.pack_nodes(nodes),
                                    [self.layout.pack_group(g) for g in groups])

    def view(self, state: State, g: int) -> View:
        """The concrete view group ``g``'s rules read in ``state``."""
        topo = self.groups[g]
        owners = {h: self.layout.owner_of(self.layout.group_part(state, h)) for h in topo.avoid}
        return View(CONCRETE, topo, self.node_vars(state), self.group_vars(state, g), owners,
                    self.n_nodes)

    def _avoid_key(self, state: State, g: int) -> tuple[int, ...]:
        shifts = self._avoid_owner_shift[g]
        if not shifts:
            return ()
        mask = self.layout.ref_mask
        return tuple((state >> shift) & mask for shift in shifts)

    # -- enabled actions -------------------------------------------------------------

    def _nodes_of_interest(self, topo: GroupTopology, g: GroupVars) -> list[int]:
        """Nodes on which the group's rules can be enabled: its candidates, and any node
        where something of it lingers (only a broken rule could put it there)."""
        extra = int(g.vip) | int(g.app) | int(g.mon) | int(g.wd)
        # in node order, like the compiled code, so both list actions in the same order
        return [n for n in range(self.n_nodes) if n in topo.candidates or (extra >> n) & 1]

    def _performers(self, kind: ActionKind, group: GroupVars, nodes: list[int]) -> list[int]:
        """The only nodes on which ``kind`` can be enabled for this group (a shortcut: every
        guard implies it, which tests/spec/test_fast_layer.py checks on random states)."""
        if kind is ActionKind.NOTIFY_DOWN and not group.owner:
            return list(range(self.n_nodes))  # the cluster's coordinator, any node
        if kind in _OWNER_KINDS:
            return [group.owner - 1] if group.owner else []
        if kind is ActionKind.CLAIM:
            return [] if group.owner else nodes
        if kind in (ActionKind.WATCHDOG_CLEAN, ActionKind.WATCHDOG_RETIRE):
            return [n for n in nodes if (group.wd >> n) & 1]
        if kind is ActionKind.REARM:
            return nodes if group.alerted else []
        return nodes

    def _evaluate(self, g: int, nodes_part: int, part: int, avoid_key: tuple[int, ...],
                  kinds: tuple[ActionKind, ...], exhaustive: bool = False) -> _GroupSteps:
        topo = self.groups[g]
        group = self.layout.unpack_group(part)
        view = View(CONCRETE, topo, self.layout.unpack_nodes(nodes_part), group,
                    dict(zip(topo.avoid, avoid_key, strict=True)), self.n_nodes)
        nodes = self._nodes_of_interest(topo, group)
        steps: list[tuple[Action, int, Problems]] = []
        for kind in kinds:
            info = KINDS[kind]
            assert info.rule is not None
            if not info.uses_node:
                performers = [-1]
            elif exhaustive:
                performers = list(range(self.n_nodes))
            else:
                performers = self._performers(kind, group, nodes)
            for n in performers:
                guard, after = info.rule(view, n)
                if guard:
                    action = Action(kind, g, n)
                    steps.append((action, self.layout.pack_group(after),
                                  check_step(view, action, after)))
        return tuple(steps)

    def _compute_steps(self, g: int, nodes_part: int, part: int, avoid_key: tuple[int, ...],
                       system: bool) -> _GroupSteps:
        if self._code:
            code = self._code[g]
            fn = code.system_steps if system else code.environment_steps
            return fn(nodes_part, part, avoid_key)
        kinds = SYSTEM_GROUP_KINDS if system else self._env_group_kinds
        return self._evaluate(g, nodes_part, part, avoid_key, kinds)

    def _group_steps(self, state: State, g: int, nodes_part: int, system: bool) -> _GroupSteps:
        part = self.layout.group_part(state, g)
        avoid_key = self._avoid_key(state, g)
        if not self._memo:
            return self._compute_steps(g, nodes_part, part, avoid_key, system)
        key = (nodes_part, part, avoid_key)
        memo = self._system_memo[g] if system else self._env_memo[g]
        steps = memo.get(key)
        if steps is None:
            steps = memo[key] = self._compute_steps(g, nodes_part, part, avoid_key, system)
        return steps

    def _node_effect(self, g: int, kind: ActionKind, n: int, state: State) -> tuple[int, Problems]:
        part = self.layout.group_part(state, g)
        if self._code:
            compiled_effect = self._code[g].node_effects.get((kind, n))
            return (part, ()) if compiled_effect is None else compiled_effect(part)
        key = (kind, n, part)
        memo = self._node_effect_memo[g]
        found = memo.get(key)
        if found is None:
            # A node event's effect on a group depends on the group's variables only; the
            # step checks it is subject to (no event, alert or VIP may appear) likewise.
            view = View(CONCRETE, self.groups[g], NodeVars(0, 0, 0, 0),
                        self.layout.unpack_group(part), {}, self.n_nodes)
            effect = GROUP_EFFECTS.get(kind)
            after = view.g if effect is None else effect(view, n)
            found = memo[key] = (self.layout.pack_group(after),
                                 check_step(view, Action(kind, -1, n), after))
        return found

    def _expire_ready(self, g: int, n: int, state: State) -> bool:
        part = self.layout.group_part(state, g)
        if self._code:
            return self._code[g].expire_ready[n](part)
        memo = self._expire_ready_memo[g]
        ready = memo.get((n, part))
        if ready is None:
            view = View(CONCRETE, self.groups[g], NodeVars(0, 0, 0, 0),
                        self.layout.unpack_group(part), {}, self.n_nodes)
            ready = memo[(n, part)] = bool(events.expire_ready(view, n))
        return ready

    def _node_events(self, nodes_part: int, system: bool) -> tuple[_NodeEvent, ...]:
        """Node events whose node-level guard holds, with the node part after them. They
        depend on the node masks alone, so they are computed once per distinct value."""
        key = (nodes_part, system)
        found = self._node_event_cache.get(key)
        if found is None:
            found = self._node_event_cache[key] = tuple(
                (Action(kind, -1, n), kind, n, after)
                for kind, n, after in self._node_events_now(nodes_part, system))
        return found

    def _node_events_now(self, nodes_part: int,
                         system: bool) -> Iterator[tuple[ActionKind, int, int]]:
        layout, a = self.layout, CONCRETE
        nv = layout.unpack_nodes(nodes_part)
        k, size = self.topology.max_down, self.n_nodes
        for n in range(size):
            candidates: list[tuple[ActionKind, NodeVars]] = []
            if system:
                # Expire also needs every self-fencing group clean: checked per state.
                if events.expire_guard(a, nv, n):
                    candidates.append((ActionKind.EXPIRE, events.expire_nodes(a, nv, n)))
            else:
                if self._crash:
                    if events.crash_guard(a, nv, n, size, k):
                        candidates.append((ActionKind.CRASH, events.crash_nodes(a, nv, n)))
                    if events.rejoin_guard(a, nv, n):
                        candidates.append((ActionKind.REJOIN, events.rejoin_nodes(a, nv, n)))
                if self._partition:
                    if events.partition_guard(a, nv, n, size, k):
                        candidates.append((ActionKind.PARTITION,
                                           events.partition_nodes(a, nv, n)))
                    if events.heal_guard(a, nv, n):
                        candidates.append((ActionKind.HEAL, events.heal_nodes(a, nv, n)))
                if self._drain:
                    if events.drain_guard(a, nv, n, size, k):
                        candidates.append((ActionKind.DRAIN, events.drain_nodes(a, nv, n)))
                    if events.undrain_guard(a, nv, n):
                        candidates.append((ActionKind.UNDRAIN, events.undrain_nodes(a, nv, n)))
            for kind, after in candidates:
                yield kind, n, layout.pack_nodes(after)

    def _node_successors(self, state: State, system: bool) -> list[Transition]:
        layout = self.layout
        groups = range(len(self.groups))
        nodes_mask = (1 << layout.nodes_width) - 1
        out: list[Transition] = []
        for action, kind, n, nodes_after in self._node_events(state & nodes_mask, system):
            if kind is ActionKind.EXPIRE and not all(
                    self._expire_ready(g, n, state) for g in groups):
                continue
            functions = self._effect_functions.get((kind, n)) if self._code else None
            if functions is not None:
                # compiled fast path: each group's effect is one generated function
                after, gmask = nodes_after, layout.group_mask
                problems: Problems = ()
                for off, function in zip(layout.offsets, functions, strict=True):
                    part, found = function((state >> off) & gmask)
                    after |= part << off
                    if found:
                        problems += found
                out.append((action, after, problems))
            elif self._code and kind not in _GROUP_EFFECT_KINDS:
                out.append((action, (state & ~nodes_mask) | nodes_after, ()))
            else:
                effects = [self._node_effect(g, kind, n, state) for g in groups]
                found_all = tuple(p for _, found in effects for p in found)
                out.append((action, layout.assemble(nodes_after, [e for e, _ in effects]),
                            found_all))
        return out

    def system_transitions(self, state: State) -> list[Transition]:
        """Steps of the cluster service (and lease expiry), in a fixed order, each with
        the step invariants it breaks (normally none)."""
        out: list[Transition] = []
        nodes_part = self.layout.nodes_part(state)
        with_part = self.layout.with_group_part
        for g in range(len(self.groups)):
            for action, part, problems in self._group_steps(state, g, nodes_part, system=True):
                out.append((action, with_part(state, g, part), problems))
        out.extend(self._node_successors(state, system=True))
        return out

    def environment_transitions(self, state: State) -> list[Transition]:
        """Events the environment may choose within the config's assumptions."""
        out = self._node_successors(state, system=False)
        nodes_part = self.layout.nodes_part(state)
        with_part = self.layout.with_group_part
        for g in range(len(self.groups)):
            for action, part, problems in self._group_steps(state, g, nodes_part, system=False):
                out.append((action, with_part(state, g, part), problems))
        return out

    def system_successors(self, state: State) -> list[Successor]:
        return [(a, t) for a, t, _ in self.system_transitions(state)]

    def environment_successors(self, state: State) -> list[Successor]:
        return [(a, t) for a, t, _ in self.environment_transitions(state)]

    def successors(self, state: State) -> list[Successor]:
        return self.system_successors(state) + self.environment_successors(state)

    def state_problems(self, state: State, quiescent: bool) -> list[tuple[str, int]]:
        """State invariants ``state`` breaks, as (invariant name, group index). Pass
        ``quiescent=self.is_quiescent(state)`` to include the settled-state ones."""
        out: list[tuple[str, int]] = []
        nodes_part = self.layout.nodes_part(state)
        for g in range(len(self.groups)):
            part = self.layout.group_part(state, g)
            avoid_key = self._avoid_key(state, g)
            if self._code and not self._memo:
                code = self._code[g]
                names = (code.settled if quiescent else code.always)(nodes_part, part, avoid_key)
            else:
                key = (nodes_part, part, avoid_key, quiescent)
                cached = self._invariant_memo[g].get(key)
                if cached is None:
                    cached = self._invariant_memo[g][key] = self._group_problems(
                        g, state, nodes_part, part, avoid_key, quiescent)
                names = cached
            out.extend((name, g) for name in names)
        return out

    def _group_problems(self, g: int, state: State, nodes_part: int, part: int,
                        avoid_key: tuple[int, ...], quiescent: bool) -> tuple[str, ...]:
        if self._code:
            code = self._code[g]
            return (code.settled if quiescent else code.always)(nodes_part, part, avoid_key)
        return check_group(self.view(state, g), quiescent)

    def controller_actions(self, state: State) -> list[Action]:
        return [a for a, _ in self.system_successors(state)]

    def environment_events(self, state: State) -> list[Action]:
        return [a for a, _ in self.environment_successors(state)]

    def is_quiescent(self, state: State) -> bool:
        """No step of the cluster service (nor a lease expiry) is enabled."""
        return not self.system_successors(state)

    def apply(self, state: State, action: Action) -> State:
        """The state after ``action``; raises :class:`IllegalAction` if it is not enabled.

        Environment events are accepted whatever the config's fault assumptions (they
        limit what the checker explores, not what can happen to a running cluster)."""
        for candidate, after in self.system_successors(state):
            if candidate == action:
                return after
        for candidate, after in self._any_environment_successors(state):
            if candidate == action:
                return after
        raise IllegalAction(f"{action.kind.label} is not enabled")

    def _any_environment_successors(self, state: State) -> list[Successor]:
        if self._unrestricted is None:
            self._unrestricted = Model(Topology(self.topology.nodes, self.topology.groups,
                                                self.n_nodes, frozenset(Fault)),
                                       compiled=self.compiled)
        return self._unrestricted.environment_successors(state)

    def decide(self, state: State, node: int) -> list[Action]:
        """The cluster service's next steps for ``node``: what the runtime agent on that
        node may perform now (in the model's fixed order)."""
        return [a for a, _ in self.system_successors(state)
                if a.node == node and a.kind is not ActionKind.EXPIRE]
