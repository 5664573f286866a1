"""The symbolic transition system of one (sub-)model, built from the spec's own rules.

A symbolic state is the spec's :class:`~crg.spec.vocabulary.variables.NodeVars` and one
:class:`~crg.spec.vocabulary.variables.GroupVars` per group whose fields are z3 terms. A
:class:`Step` is one *template* of transition: an action kind on a group (or a node
event) performed by a node that may be a z3 variable, with the guard and the next state
that the very rule functions of :mod:`crg.spec` return when evaluated with
:class:`~crg.checker.symbolic.algebra.Z3Algebra`. Nothing here restates the semantics.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import z3

from crg.checker.symbolic.algebra import Bool, Word, Z3Algebra, word_width
from crg.spec.model import Model, State
from crg.spec.rules import events
from crg.spec.rules.registry import (
    GROUP_EFFECTS,
    KINDS,
    NODE_UPDATES,
    SYSTEM_GROUP_KINDS,
    assumed_group_events,
    assumed_node_events,
    node_guard,
)
from crg.spec.rules.view import View
from crg.spec.vocabulary.actions import Action, ActionKind
from crg.spec.vocabulary.topology import Topology
from crg.spec.vocabulary.variables import FLAG_FIELDS, GroupVars, NodeVars, avoided_vars


@dataclass(frozen=True, slots=True)
class SymState:
    nodes: NodeVars
    groups: tuple[GroupVars, ...]

    def with_group(self, g: int, after: GroupVars) -> SymState:
        groups = list(self.groups)
        groups[g] = after
        return SymState(self.nodes, tuple(groups))


@dataclass(frozen=True, slots=True)
class Step:
    """One transition template: ``guard`` enables it, ``after`` is the next state."""

    kind: ActionKind
    group: int
    """Group index, or -1 for a node event."""
    node: Word
    """The performing node: an int, a z3 node variable, or -1 when the kind has none."""
    guard: Bool
    after: SymState

    @property
    def system(self) -> bool:
        return KINDS[self.kind].system

    @property
    def changed_groups(self) -> tuple[int, ...] | None:
        """The groups whose variables the step may change (None: all, with the nodes)."""
        return None if self.group < 0 else (self.group,)


_GROUP_FIELDS = GroupVars._fields
_FLAG_FIELDS = frozenset(FLAG_FIELDS)
_NODE_EFFECTS = GROUP_EFFECTS
"""Node events with an effect on each group: the spec's own table, so it cannot drift."""


class Encoding:
    """The symbolic reading of ``Model(topology)``: same states, same transitions."""

    def __init__(self, topology: Topology) -> None:
        self.topology = topology
        self.groups = topology.groups
        self.n_nodes = topology.n_nodes
        self.max_budget = max((g.budget for g in topology.groups), default=1)
        self.width = word_width(self.n_nodes, self.max_budget)
        self.a = Z3Algebra(self.width)
        self.node_mask = (1 << self.n_nodes) - 1
        faults = topology.faults
        self.env_group_kinds = assumed_group_events(faults)
        # The environment's node events as the model lists them
        # (tests/checker/test_symbolic_agreement.py compares every transition).
        self.node_events = assumed_node_events(faults)

    # -- states ----------------------------------------------------------------------

    def fresh_state(self, tag: str) -> SymState:
        w = self.width

        def word(name: str) -> z3.BitVecRef:
            return z3.BitVec(f"{tag}.{name}", w)

        nodes = NodeVars(*(word(f) for f in NodeVars._fields))
        groups = tuple(
            GroupVars(**{f: (z3.Bool(f"{tag}.g{g}.{f}") if f in _FLAG_FIELDS
                             else word(f"g{g}.{f}")) for f in _GROUP_FIELDS})
            for g in range(len(self.groups)))
        return SymState(nodes, groups)

    def initial_state(self) -> SymState:
        """:meth:`Model.initial`: everything zero (as constants, folded by the algebra)."""
        zero = GroupVars(**{f: (False if f in _FLAG_FIELDS else 0) for f in _GROUP_FIELDS})
        return SymState(NodeVars(*(0 for _ in NodeVars._fields)),
                        tuple(zero for _ in self.groups))

    def concrete_state(self, model: Model, state: State) -> SymState:
        """A packed state of ``model`` as a constant symbolic state."""
        return SymState(model.node_vars(state),
                        tuple(model.group_vars(state, g) for g in range(len(self.groups))))

    def node_var(self, tag: str) -> z3.BitVecRef:
        return z3.BitVec(f"{tag}.node", self.width)

    def view(self, s: SymState, g: int) -> View:
        topo = self.groups[g]
        avoided = {h: avoided_vars(s.groups[h]) for h in topo.avoid}
        return View(self.a, topo, s.nodes, s.groups[g], avoided, self.n_nodes)

    def equal(self, s: SymState, t: SymState) -> Bool:
        """``s`` and ``t`` are the same state."""
        a = self.a
        parts = [a.eq(x, y) for x, y in zip(s.nodes, t.nodes, strict=True)]
        for gs, gt in zip(s.groups, t.groups, strict=True):
            parts += [a.eq(x, y) for x, y in zip(gs, gt, strict=True)]
        return a.and_(*parts)

    def renaming(self, s: SymState, t: SymState) -> list[tuple[z3.ExprRef, z3.ExprRef]]:
        """Pairs for ``z3.substitute`` that turn a term on ``s`` (a fresh state: every
        variable a z3 constant) into the same term on ``t``: each variable of ``s`` that
        ``t`` gives another value. Substituting a term built once is far cheaper than
        building it again through the rules (most of a proof's time was that)."""
        pairs = []
        for var, value in zip(_variables(s), _variables(t), strict=True):
            if isinstance(value, z3.ExprRef) and value.eq(var):
                continue
            if isinstance(value, bool):
                value = z3.BoolVal(value)
            elif isinstance(value, int):
                value = z3.BitVecVal(value, var.size())
            pairs.append((var, value))
        return pairs

    def extract(self, model: z3.ModelRef, s: SymState) -> tuple[NodeVars, list[GroupVars]]:
        """The concrete variables of ``s`` in a z3 model."""
        nodes = NodeVars(*(self._value(model, x) for x in s.nodes))
        groups = [GroupVars(*(self._value(model, x) for x in gv)) for gv in s.groups]
        return nodes, groups

    @staticmethod
    def _value(model: z3.ModelRef, x: Any) -> Any:
        if isinstance(x, bool | int):
            return x
        value = model.eval(x, model_completion=True)
        if z3.is_true(value) or z3.is_false(value):
            return z3.is_true(value)
        return value.as_long()

    # -- transitions -----------------------------------------------------------------

    def node_range(self, n: Word) -> Bool:
        """A symbolic performing node is one of the model's nodes."""
        if isinstance(n, int):
            return 0 <= n < self.n_nodes
        return z3.ULT(n, self.n_nodes)

    def group_steps(self, s: SymState, g: int, kinds: Sequence[ActionKind],
                    n: Word) -> Iterator[Step]:
        view = self.view(s, g)
        for kind in kinds:
            info = KINDS[kind]
            assert info.rule is not None
            node = n if info.uses_node else -1
            guard, after = info.rule(view, node)
            if info.uses_node:
                guard = self.a.and_(self.node_range(n), guard)
            if guard is False:
                continue
            yield Step(kind, g, node, guard, s.with_group(g, after))

    def _node_step(self, s: SymState, kind: ActionKind, n: Word, guard: Bool,
                   nodes: NodeVars) -> Step:
        effect = _NODE_EFFECTS[kind]
        groups = tuple(effect(self.view(s, g), n) for g in range(len(s.groups)))
        return Step(kind, -1, n, self.a.and_(self.node_range(n), guard), SymState(nodes, groups))

    def node_steps(self, s: SymState, n: Word, *, system: bool) -> Iterator[Step]:
        a, nv, size, k = self.a, s.nodes, self.n_nodes, self.topology.max_down
        if system:
            ready = a.and_(*(events.expire_ready(self.view(s, g), n)
                             for g in range(len(self.groups))))
            yield self._node_step(s, ActionKind.EXPIRE, n,
                                  a.and_(events.expire_guard(a, nv, n), ready),
                                  events.expire_nodes(a, nv, n))
            return
        for kind in self.node_events:
            yield self._node_step(s, kind, n, node_guard(kind, a, nv, n, size, k),
                                  NODE_UPDATES[kind](a, nv, n))

    def system_steps(self, s: SymState, n: Word) -> list[Step]:
        out: list[Step] = []
        for g in range(len(self.groups)):
            out.extend(self.group_steps(s, g, SYSTEM_GROUP_KINDS, n))
        out.extend(self.node_steps(s, n, system=True))
        return out

    def environment_steps(self, s: SymState, n: Word) -> list[Step]:
        out = list(self.node_steps(s, n, system=False))
        for g in range(len(self.groups)):
            out.extend(self.group_steps(s, g, self.env_group_kinds, n))
        return out

    def steps(self, s: SymState, n: Word) -> list[Step]:
        """Every transition template (system and environment within the assumptions)."""
        return self.system_steps(s, n) + self.environment_steps(s, n)

    def quiescent(self, s: SymState, nodes: Sequence[int] | None = None) -> Bool:
        """No system step is enabled, for any performing node in ``nodes`` (default: all).

        A subset of the nodes gives a *weaker* condition; proving ``P`` under it proves
        ``P`` under full quiescence, which is why proofs may pass the candidates only."""
        a = self.a
        if nodes is None:
            nodes = range(self.n_nodes)
        return a.and_(*(a.not_(step.guard) for n in nodes for step in self.system_steps(s, n)))

    def action(self, step: Step, model: z3.ModelRef | None) -> Action:
        """The concrete :class:`Action` a step stands for in a z3 model."""
        node = step.node
        if not isinstance(node, int):
            assert model is not None
            node = model.eval(node, model_completion=True).as_long()
        return Action(step.kind, step.group, node)


def _variables(s: SymState) -> list[Any]:
    return [*s.nodes, *(x for gv in s.groups for x in gv)]
