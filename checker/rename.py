"""Carrying a run of one model over to a model that is the same up to a renaming of nodes
(an isomorphic component, or the full component of a reduced one).

Renaming each action's node is not always enough: the cluster's coordinator, which sends
the *service down* of a group left without a candidate (``spec.derived.
cluster_coordinator``), is the first up node *by index*, and a renaming need not keep the
order of the nodes. Its step does the same whoever performs it, so the state graphs are
still isomorphic; only that label differs. So each step is carried by its renamed action
when that leads to the renamed state, and otherwise by the enabled action of the same kind
and group that does — and the run is checked state by state against the renamed original,
so a carried run is the same run, never an approximation.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from crg.checker.explicit.symmetry import GROUP_MASKS, GROUP_REFS
from crg.checker.result import TraceStep
from crg.spec import KINDS, Action, GroupVars, Model, NodeVars, State


class CarryError(ValueError):
    """The target model has no step matching the original (a bug in crg)."""


def rename_state(source: Model, target: Model, node_map: Mapping[int, int],
                 state: State) -> State:
    """``state`` of ``source`` with node ``n`` renamed ``node_map[n]`` in ``target``."""

    def mask(value: int) -> int:
        return sum(1 << node_map[n] for n in range(source.n_nodes) if (int(value) >> n) & 1)

    def ref(value: int) -> int:
        return node_map[int(value) - 1] + 1 if value else 0

    nodes = NodeVars(*(mask(x) for x in source.node_vars(state)))
    groups = []
    for g in range(len(source.groups)):
        gv = source.group_vars(state, g)
        changes = {f: mask(getattr(gv, f)) for f in GROUP_MASKS}
        changes.update({f: ref(getattr(gv, f)) for f in GROUP_REFS})
        groups.append(GroupVars(**{**gv._asdict(), **changes}))
    return target.encode(nodes, groups)


def carry_run(source: Model, target: Model, node_map: Mapping[int, int],
              actions: Sequence[Action]) -> list[TraceStep]:
    """The run of ``target`` that is ``actions`` (a run of ``source`` from its initial
    state) renamed; raises :class:`CarryError` if a step has no counterpart."""
    here, there = source.initial(), target.initial()
    if rename_state(source, target, node_map, here) != there:
        raise CarryError("the initial states do not correspond")
    steps = [TraceStep(None, there)]
    for i, action in enumerate(actions):
        system = KINDS[action.kind].system
        after = _successor(source, here, action, system)
        if after is None:
            raise CarryError(f"step {i + 1} ({action.kind.label}) is not enabled in the "
                             "original model")
        want = rename_state(source, target, node_map, after)
        renamed = action._replace(node=node_map[action.node] if action.node >= 0 else -1)
        transitions = (target.system_transitions(there) if system
                       else target.environment_transitions(there))
        chosen = next((a for a, t, _ in transitions if a == renamed and t == want), None)
        if chosen is None:
            chosen = next((a for a, t, _ in transitions if t == want and a.kind is action.kind
                           and a.group == action.group), None)
        if chosen is None:
            raise CarryError(f"step {i + 1} ({action.kind.label}) has no counterpart")
        steps.append(TraceStep(chosen, want))
        here, there = after, want
    return steps


def _successor(model: Model, state: State, action: Action, system: bool) -> State | None:
    transitions = (model.system_transitions(state) if system
                   else model.environment_transitions(state))
    return next((t for a, t, _ in transitions if a == action), None)
