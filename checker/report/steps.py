"""A trace step by step, in the words of ``crg simulate`` and ``crg status``: what happened
(an event, or a step of the cluster service) and what changed (node status, placements)."""

from __future__ import annotations

import shlex
from dataclasses import dataclass

from crg.checker.result import Trace, TraceStep
from crg.spec import KINDS, Action, Model, Placement, State
from crg.spec.present.modes import describe, node_words_of, placements
from crg.spec.present.simulation import EVENTS, Arg

_SHOWN = ("node", "mode", "vip", "app", "switching", "alerted", "target", "watchdogs")


@dataclass(frozen=True, slots=True)
class StepView:
    index: int
    action: Action
    description: str
    event: bool
    """An environment event (a fault or a command), not a step of the cluster service."""
    changes: tuple[str, ...]
    closes_loop: bool = False


def step_views(trace: Trace) -> list[StepView]:
    """Every transition of ``trace``; for a lasso, the closing one last."""
    model = trace.model
    out = []
    before = trace.steps[0].state
    for index, step in enumerate(trace.steps[1:], start=1):
        assert step.action is not None
        out.append(_view(model, index, step.action, before, step.state))
        before = step.state
    if trace.loop is not None and trace.loop_action is not None:
        view = _view(model, len(trace.steps), trace.loop_action, before,
                     trace.steps[trace.loop].state)
        out.append(StepView(view.index, view.action, view.description, view.event,
                            view.changes, closes_loop=True))
    return out


def _view(model: Model, index: int, action: Action, before: State, after: State) -> StepView:
    return StepView(index, action, describe(model, action), not KINDS[action.kind].system,
                    tuple(changes(model, before, after)))


def changes(model: Model, before: State, after: State) -> list[str]:
    """``n1: up → down``, ``web: node n1 → n2, mode normal → moving``..."""
    out = []
    # With a drain in words: a drain of a node that is down changes no status, and would
    # otherwise show as a step that changed nothing.
    old_nodes, new_nodes = node_words_of(model, before), node_words_of(model, after)
    for node, status in new_nodes.items():
        if old_nodes[node] != status:
            out.append(f"{node}: {old_nodes[node]} → {status}")
    old, new = placements(model, before), placements(model, after)
    for g, (name, p) in enumerate(new.items()):
        was = {f: _value(model, before, g, old[name], f) for f in _SHOWN}
        now = {f: _value(model, after, g, p, f) for f in _SHOWN}
        diffs = [f"{f} {was[f]} → {now[f]}" for f in _SHOWN if was[f] != now[f]]
        if diffs:
            out.append(f"{name}: " + ", ".join(diffs))
    return out


def _value(model: Model, state: State, g: int, p: Placement, field: str) -> str:
    if field == "vip":
        # Every node that holds it: a placement names only one, a broken run may have two.
        mask = int(model.group_vars(state, g).vip)
        held = [n for k, n in enumerate(model.topology.nodes) if (mask >> k) & 1]
        return ",".join(held) or "—"
    if field == "app":
        # A placement says one word of the application; where it runs anywhere but on the
        # owner (a node cut off that keeps it, two nodes at once) the trace says where,
        # or a broken app-exclusive would show no application on two nodes.
        mask = int(model.group_vars(state, g).app)
        running = [n for k, n in enumerate(model.topology.nodes) if (mask >> k) & 1]
        if running and running != [p.node]:
            return f"{p.app} (runs on {','.join(running)})"
        return p.app
    value = getattr(p, field)
    if value is None or value == ():
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, tuple):
        return ",".join(value)
    return str(value)


def simulate_command(path: str, trace: Trace) -> str:
    """The ``crg simulate`` command line with the trace's environment events in order.
    ``crg simulate`` settles the cluster after every event, so it replays the trace
    exactly when the events of the trace also came at settled points."""
    model = trace.model
    words = ["crg", "simulate", path]
    by_kind = {spec.kind: spec for spec in EVENTS}
    for action in trace.events:
        spec = by_kind.get(action.kind)
        if spec is None:
            continue
        words.append(f"--{spec.name}")
        for arg in spec.args:
            if arg is Arg.NODE:
                words.append(model.topology.nodes[action.node])
            else:
                words.append(model.groups[action.group].name)
    return shlex.join(words)


def settled_events(trace: Trace) -> bool:
    """Every event of the trace happens in a settled state (so ``crg simulate`` replays
    it step for step)."""
    model = trace.model
    previous: TraceStep = trace.steps[0]
    for step in trace.steps[1:]:
        if (step.action is not None and not KINDS[step.action.kind].system
                and not model.is_quiescent(previous.state)):
            return False
        previous = step
    return True
