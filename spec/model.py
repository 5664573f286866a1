"""The executable model: initial state, enabled actions, next state.

:class:`Model` is the front that the checker, ``crg simulate`` and the runtime use. It
puts a state together from its parts — the node events (:mod:`crg.spec.rules.events`),
which depend on the node masks alone, and each group's steps, which the evaluator
(:mod:`crg.spec.fast.evaluator`) computes from the rules in :mod:`crg.spec.rules` on
packed states (:mod:`crg.spec.fast.layout`).
"""

from __future__ import annotations

from collections.abc import Iterator

from crg.dsl.model import Config, Fault
from crg.spec.fast.evaluator import Evaluator, Problems
from crg.spec.fast.layout import Layout
from crg.spec.rules.registry import (
    GROUP_EFFECTS,
    KINDS,
    NODE_UPDATES,
    assumed_group_events,
    assumed_node_events,
    node_guard,
)
from crg.spec.rules.view import View
from crg.spec.vocabulary.actions import Action, ActionKind
from crg.spec.vocabulary.algebra import CONCRETE
from crg.spec.vocabulary.topology import Topology
from crg.spec.vocabulary.variables import GroupVars, NodeVars, avoided_vars

State = int
Successor = tuple[Action, State]
Transition = tuple[Action, State, Problems]

_NodeEvent = tuple[Action, ActionKind, int, int]


class IllegalAction(ValueError):
    """The action is not enabled in the given state."""


class Model:
    """The model of one configuration (or of a component of it, see Topology.restrict).

    ``compiled`` (the default) evaluates the rules through code generated from them
    (:mod:`crg.spec.fast.compiler`); ``compiled=False`` interprets them with the concrete
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
        env_kinds = assumed_group_events(faults)
        self._env_node_kinds = assumed_node_events(faults)
        """The environment's node events the config assumes, in the registry's order."""
        self._avoid_shift = tuple(tuple(self.layout.offsets[h] for h in g.avoid)
                                  for g in topology.groups)
        self._unrestricted: Model | None = None
        self._node_event_cache: dict[tuple[int, bool], tuple[_NodeEvent, ...]] = {}
        self._nodes_mask = (1 << self.layout.nodes_width) - 1
        self.compiled = compiled
        node_kinds = tuple(k for k in GROUP_EFFECTS if KINDS[k].fault in faults)
        self.evaluator = Evaluator(topology, self.layout, env_kinds, compiled=compiled,
                                   memo=len(topology.groups) > 1 if memo is None else memo,
                                   node_kinds=node_kinds)
        self._code = self.evaluator.code
        self._effect_functions = self.evaluator.effect_functions

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
        avoided = {h: avoided_vars(self.group_vars(state, h)) for h in topo.avoid}
        return View(CONCRETE, topo, self.node_vars(state), self.group_vars(state, g), avoided,
                    self.n_nodes)

    def avoid_key(self, state: State, g: int) -> tuple[int, ...]:
        """What ``g``'s rules read of the groups it avoids, and all they read of other
        groups: each one's part masked to its ``AvoidedVars`` (see ``Layout.avoided_mask``)."""
        shifts = self._avoid_shift[g]
        if not shifts:
            return ()
        mask = self.layout.avoided_mask
        return tuple((state >> shift) & mask for shift in shifts)

    # -- enabled actions -------------------------------------------------------------

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
        # Expire also needs every self-fencing group clean: checked per state.
        kinds = (ActionKind.EXPIRE,) if system else self._env_node_kinds
        for n in range(size):
            for kind in kinds:
                if node_guard(kind, a, nv, n, size, k):
                    yield kind, n, layout.pack_nodes(NODE_UPDATES[kind](a, nv, n))

    def _node_successors(self, state: State, system: bool) -> list[Transition]:
        layout = self.layout
        before = state & self._nodes_mask
        node_events = self._node_events(before, system)
        if not node_events:  # the common case for the system's: no lease to expire
            return []
        evaluator = self.evaluator
        ready, effect = evaluator.expire_ready, evaluator.node_effect
        groups = range(len(self.groups))
        gmask = layout.group_mask
        out: list[Transition] = []
        for action, kind, n, nodes_after in node_events:
            if kind is ActionKind.EXPIRE and not all(
                    ready(g, n, (state >> off) & gmask)
                    for g, off in zip(groups, layout.offsets, strict=True)):
                continue
            functions = self._effect_functions.get((kind, n)) if self._code else None
            if functions is not None:
                # compiled fast path: each group's effect is one generated function
                after = nodes_after
                problems: Problems = ()
                for off, function in zip(layout.offsets, functions, strict=True):
                    part, found = function(before, (state >> off) & gmask)
                    after |= part << off
                    if found:
                        problems += found
                out.append((action, after, problems))
            else:
                effects = [effect(g, kind, n, before, (state >> off) & gmask)
                           for g, off in zip(groups, layout.offsets, strict=True)]
                found_all = tuple(p for _, found in effects for p in found)
                out.append((action, layout.assemble(nodes_after, [e for e, _ in effects]),
                            found_all))
        return out

    def system_transitions(self, state: State) -> list[Transition]:
        """Steps of the cluster service (and lease expiry), in a fixed order, each with
        the step invariants it breaks (normally none)."""
        out: list[Transition] = []
        self._add_group_transitions(state, out, system=True)
        out.extend(self._node_successors(state, system=True))
        return out

    def environment_transitions(self, state: State) -> list[Transition]:
        """Events the environment may choose within the config's assumptions."""
        out = self._node_successors(state, system=False)
        self._add_group_transitions(state, out, system=False)
        return out

    def _add_group_transitions(self, state: State, out: list[Transition], system: bool) -> None:
        layout = self.layout
        nodes_part = layout.nodes_part(state)
        with_part, part_of = layout.with_group_part, layout.group_part
        steps, avoid_key = self.evaluator.group_steps, self.avoid_key
        for g in range(len(self.groups)):
            for action, part, problems in steps(g, nodes_part, part_of(state, g),
                                                avoid_key(state, g), system):
                out.append((action, with_part(state, g, part), problems))

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
        problems, part_of = self.evaluator.problems, self.layout.group_part
        for g in range(len(self.groups)):
            names = problems(g, nodes_part, part_of(state, g), self.avoid_key(state, g),
                             quiescent)
            out.extend((name, g) for name in names)
        return out

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
