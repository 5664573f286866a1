"""Evaluating one configuration's group rules on packed states, fast (the memo layer).

A group's rules read only the node status, that group's variables and the owners of the
groups it avoids, so their outcome is memoised on exactly that key. With ``compiled``
code (:mod:`crg.spec.fast.compiler`) each evaluation is one generated function;
otherwise the rules are interpreted with the concrete algebra, asking only the nodes
that can perform each kind (:mod:`crg.spec.fast.performers`). Either way the answer is
what the rules say; :class:`~crg.spec.model.Model` is the front that puts the pieces of
a state together.
"""

from __future__ import annotations

from crg.spec.fast.compiler import CompiledGroup, GroupCompiler
from crg.spec.fast.layout import Layout
from crg.spec.fast.performers import Performers
from crg.spec.invariants import NO_AVOIDED, after_view, check_group, check_step
from crg.spec.rules import events
from crg.spec.rules.registry import GROUP_EFFECTS, KINDS, NODE_UPDATES, SYSTEM_GROUP_KINDS
from crg.spec.rules.view import View
from crg.spec.vocabulary.actions import Action, ActionKind
from crg.spec.vocabulary.algebra import CONCRETE
from crg.spec.vocabulary.topology import GroupTopology, Topology
from crg.spec.vocabulary.variables import AvoidedVars, NodeVars

Problems = tuple[tuple[str, str], ...]
"""Step invariants a transition breaks: (invariant name, explanation)."""
GroupSteps = tuple[tuple[Action, int, Problems], ...]
"""One group's enabled steps: the action, the group's packed part after it, problems."""

_MemoKey = tuple[int, int, tuple[int, ...]]


class Evaluator:
    """The group rules of one topology, evaluated on packed group parts."""

    def __init__(self, topology: Topology, layout: Layout, env_kinds: tuple[ActionKind, ...],
                 *, compiled: bool, memo: bool,
                 node_kinds: tuple[ActionKind, ...] = tuple(GROUP_EFFECTS)) -> None:
        self.topology = topology
        self.groups = topology.groups
        self.n_nodes = topology.n_nodes
        self.layout = layout
        self.env_kinds = env_kinds
        self.memo = memo
        n = len(self.groups)
        self._system_memo: list[dict[_MemoKey, GroupSteps]] = [{} for _ in range(n)]
        self._env_memo: list[dict[_MemoKey, GroupSteps]] = [{} for _ in range(n)]
        self._effect_memo: list[dict[tuple[ActionKind, int, int, int],
                                     tuple[int, Problems]]] = [{} for _ in range(n)]
        self._invariant_memo: list[dict[tuple[int, int, tuple[int, ...], bool],
                                        tuple[str, ...]]] = [{} for _ in range(n)]
        self._ready_memo: list[dict[tuple[int, int], bool]] = [{} for _ in range(n)]
        self._performers = [Performers(g, self.n_nodes) for g in self.groups]
        self.code: list[CompiledGroup] = (
            [GroupCompiler(g, layout, self.n_nodes, env_kinds, node_kinds).compile()
             for g in self.groups]
            if compiled else [])
        self.effect_functions = {
            (kind, node): [code.node_effects[(kind, node)] for code in self.code]
            for kind in node_kinds for node in range(self.n_nodes)} if compiled else {}
        """The compiled effects of the node events the model explores (the others, asked
        for by a test or a what-if, are interpreted)."""

    # -- group steps -------------------------------------------------------------------

    def _avoided(self, topo: GroupTopology,
                 avoid_key: tuple[int, ...]) -> dict[int, AvoidedVars]:
        return {h: self.layout.unpack_avoided(key)
                for h, key in zip(topo.avoid, avoid_key, strict=True)}

    def interpret(self, g: int, nodes_part: int, part: int, avoid_key: tuple[int, ...],
                  kinds: tuple[ActionKind, ...], exhaustive: bool = False) -> GroupSteps:
        """The rules read with the concrete algebra: the reference the compiled code is
        tested against. ``exhaustive`` asks every node, not only the possible performers."""
        topo = self.groups[g]
        group = self.layout.unpack_group(part)
        view = View(CONCRETE, topo, self.layout.unpack_nodes(nodes_part), group,
                    self._avoided(topo, avoid_key), self.n_nodes)
        performers = self._performers[g]
        every = tuple(range(self.n_nodes))
        steps: list[tuple[Action, int, Problems]] = []
        for kind in kinds:
            info = KINDS[kind]
            assert info.rule is not None
            if not info.uses_node:
                nodes: tuple[int, ...] = (-1,)
            else:
                nodes = every if exhaustive else performers.nodes(kind, int(group.owner))
            for n in nodes:
                guard, after = info.rule(view, n)
                if guard:
                    action = Action(kind, g, n)
                    steps.append((action, self.layout.pack_group(after),
                                  check_step(view, action, after_view(view, after))))
        return tuple(steps)

    def _compute(self, g: int, nodes_part: int, part: int, avoid_key: tuple[int, ...],
                 system: bool) -> GroupSteps:
        if self.code:
            code = self.code[g]
            fn = code.system_steps if system else code.environment_steps
            return fn(nodes_part, part, avoid_key)
        kinds = SYSTEM_GROUP_KINDS if system else self.env_kinds
        return self.interpret(g, nodes_part, part, avoid_key, kinds)

    def group_steps(self, g: int, nodes_part: int, part: int, avoid_key: tuple[int, ...],
                    system: bool) -> GroupSteps:
        if not self.memo:
            return self._compute(g, nodes_part, part, avoid_key, system)
        key = (nodes_part, part, avoid_key)
        memo = self._system_memo[g] if system else self._env_memo[g]
        steps = memo.get(key)
        if steps is None:
            steps = memo[key] = self._compute(g, nodes_part, part, avoid_key, system)
        return steps

    # -- node events -------------------------------------------------------------------

    def node_effect(self, g: int, kind: ActionKind, n: int, nodes_part: int,
                    part: int) -> tuple[int, Problems]:
        """A node event's effect on one group, with the step checks it breaks. It depends
        on the node status and the group's own variables (SPEC.md, section 11, fact 2)."""
        compiled = self.code[g].node_effects.get((kind, n)) if self.code else None
        if compiled is not None:
            return compiled(nodes_part, part)
        key = (kind, n, nodes_part, part)
        memo = self._effect_memo[g]
        found = memo.get(key)
        if found is None:
            nodes = self.layout.unpack_nodes(nodes_part)
            view = View(CONCRETE, self.groups[g], nodes, self.layout.unpack_group(part),
                        NO_AVOIDED, self.n_nodes)
            after = GROUP_EFFECTS[kind](view, n)
            w = after_view(view, after, NODE_UPDATES[kind](CONCRETE, nodes, n))
            found = memo[key] = (self.layout.pack_group(after),
                                 check_step(view, Action(kind, -1, n), w))
        return found

    def expire_ready(self, g: int, n: int, part: int) -> bool:
        ready_fn = self.code[g].expire_ready.get(n) if self.code else None
        if ready_fn is not None:
            return ready_fn(part)
        memo = self._ready_memo[g]
        ready = memo.get((n, part))
        if ready is None:
            view = View(CONCRETE, self.groups[g], NodeVars(0, 0, 0, 0),
                        self.layout.unpack_group(part), {}, self.n_nodes)
            ready = memo[(n, part)] = bool(events.expire_ready(view, n))
        return ready

    # -- invariants --------------------------------------------------------------------

    def problems(self, g: int, nodes_part: int, part: int, avoid_key: tuple[int, ...],
                 quiescent: bool) -> tuple[str, ...]:
        """Names of the state invariants group ``g`` breaks."""
        if self.code and not self.memo:
            code = self.code[g]
            return (code.settled if quiescent else code.always)(nodes_part, part, avoid_key)
        key = (nodes_part, part, avoid_key, quiescent)
        cached = self._invariant_memo[g].get(key)
        if cached is None:
            cached = self._invariant_memo[g][key] = self._problems_now(
                g, nodes_part, part, avoid_key, quiescent)
        return cached

    def _problems_now(self, g: int, nodes_part: int, part: int, avoid_key: tuple[int, ...],
                      quiescent: bool) -> tuple[str, ...]:
        if self.code:
            code = self.code[g]
            return (code.settled if quiescent else code.always)(nodes_part, part, avoid_key)
        topo = self.groups[g]
        view = View(CONCRETE, topo, self.layout.unpack_nodes(nodes_part),
                    self.layout.unpack_group(part),
                    self._avoided(topo, avoid_key), self.n_nodes)
        return check_group(view, quiescent)
