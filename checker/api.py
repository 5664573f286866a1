"""``run_check(config, options)``: the explicit-state checker as ``crg check`` uses it.

The configuration is split into components (:mod:`crg.checker.components`), each is
explored (:mod:`crg.checker.explore`) with symmetry reduction
(:mod:`crg.checker.symmetry`), and the per-component findings are combined into one
verdict per property. Isomorphic components are explored once.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from crg.checker.components import Signature, components, signature
from crg.checker.explore import Progress, Search, SearchStats
from crg.checker.liveness import loop_detail
from crg.checker.rename import carry_run
from crg.checker.result import (
    PROPERTIES,
    CheckReport,
    ComponentResult,
    Property,
    PropertyResult,
    Trace,
    TraceStep,
    Verdict,
    Violation,
)
from crg.checker.symmetry import canonicaliser
from crg.checker.trace import step_detail, violation
from crg.dsl import Config, Fault
from crg.spec import Model, Topology


@dataclass(frozen=True, slots=True)
class CheckOptions:
    max_down: int | None = None
    """Override ``assume at most k nodes down``."""
    faults: frozenset[Fault] | None = None
    """Override ``assume faults``."""
    compose: bool = True
    """Check components of interacting groups one at a time."""
    symmetry: bool = True
    """Canonicalise interchangeable nodes and groups, and reuse isomorphic components."""
    max_events: int | None = None
    """Explore runs of at most this many environment events (``--max-depth``)."""
    keep_going: bool = False
    """Explore everything even after a violation (otherwise the search stops once the
    layer of environment events that holds the first violation is finished)."""
    progress: Progress | None = field(default=None, compare=False)
    max_states: int | None = None
    """Stop each component's search once it has found this many states (benchmarks; the
    verdicts left open are ``unknown``)."""
    liveness_states: int | None = None
    """Symbolic engine only: the largest component whose liveness (and whatever z3 left
    open) the explicit search decides (``--liveness-states``; None: the engine's default)."""


@dataclass(slots=True)
class _Outcome:
    """One component's findings, in the component's own model."""

    model: Model
    stats: SearchStats
    violations: dict[Property, tuple[Violation, int, float]]
    """Per property: the violation, states explored and seconds when it was found."""


def run_check(config: Config, options: CheckOptions | None = None) -> CheckReport:
    options = options or CheckOptions()
    started = time.perf_counter()
    topology = Topology.from_config(config, max_down=options.max_down, faults=options.faults)
    parts = (components(topology) if options.compose
             else [tuple(range(len(topology.groups)))] if topology.groups else [])
    done: dict[tuple[object, ...], tuple[_Outcome, Signature, tuple[int, ...]]] = {}
    rows: list[tuple[_Outcome, ComponentResult, int, float]] = []
    explored = 0
    for part in parts:
        names = tuple(topology.groups[g].name for g in part)
        sig = signature(topology, part)
        offset_states, offset_seconds = explored, time.perf_counter() - started
        previous = done.get(sig.key) if options.symmetry else None
        if previous is not None:
            # Building a model compiles its rules: only needed to replay counterexamples.
            outcome = _carry_over(previous[0], previous[1], sig, topology, part)
            stats = outcome.stats
            source = tuple(topology.groups[g].name for g in previous[2])
            rows.append((outcome, ComponentResult(names, stats.states, stats.edges, 0.0,
                                                  stats.layers, stats.complete,
                                                  reused_from=source), offset_states,
                         offset_seconds))
            continue
        model = Model(topology.restrict(part))
        canon, described = canonicaliser(model, options.symmetry)
        progress = options.progress
        search = Search(model, canon=canon, max_events=options.max_events,
                        keep_going=options.keep_going, max_states=options.max_states,
                        progress=None if progress is None else _offset(progress, explored))
        stats = search.run()
        outcome = _Outcome(model, stats, {})
        for found in stats.found.values():
            v = violation(search, found)
            outcome.violations[v.prop] = (v, found.states, found.seconds)
        del search
        explored += stats.states
        done[sig.key] = (outcome, sig, part)
        rows.append((outcome, ComponentResult(names, stats.states, stats.edges, stats.seconds,
                                              stats.layers, stats.complete,
                                              symmetry=described),
                     offset_states, offset_seconds))
    seconds = time.perf_counter() - started
    results = {p: _combine(p, rows, explored, seconds) for p in PROPERTIES}
    return CheckReport(results, [r[1] for r in rows], explored, seconds,
                       options={"max_down": topology.max_down,
                                "faults": sorted(f.value for f in topology.faults),
                                "compose": options.compose, "symmetry": options.symmetry,
                                "max_depth": options.max_events,
                                "keep_going": options.keep_going})


def _offset(progress: Progress, base: int) -> Progress:
    return lambda states, layer, seconds: progress(base + states, layer, seconds)


def _combine(prop: Property, rows: list[tuple[_Outcome, ComponentResult, int, float]],
             total_states: int, total_seconds: float) -> PropertyResult:
    best: PropertyResult | None = None
    verdicts = set()
    depth = 0
    for outcome, _, offset_states, offset_seconds in rows:
        depth = max(depth, outcome.stats.max_depth)
        found = outcome.violations.get(prop)
        if found is not None:
            v, states, seconds = found
            candidate = PropertyResult(prop, Verdict.VIOLATED, offset_states + states,
                                       v.trace.length, offset_seconds + seconds, v)
            if best is None or ((v.failures, v.trace.length)
                                < (best.violation.failures, best.depth)):  # type: ignore[union-attr]
                best = candidate
        elif outcome.stats.complete:
            verdicts.add(Verdict.HOLDS)
        elif outcome.stats.bounded:
            verdicts.add(Verdict.BOUNDED)
        else:
            verdicts.add(Verdict.UNKNOWN)
    if best is not None:
        return best
    verdict = (Verdict.UNKNOWN if Verdict.UNKNOWN in verdicts
               else Verdict.BOUNDED if Verdict.BOUNDED in verdicts else Verdict.HOLDS)
    return PropertyResult(prop, verdict, total_states, depth, total_seconds)


def _carry_over(outcome: _Outcome, source: Signature, target: Signature, topology: Topology,
                part: tuple[int, ...]) -> _Outcome:
    """The result of an isomorphic component, renamed to the nodes of ``part``: the same
    counts, and each counterexample replayed on the component's model (so it is
    checked)."""
    if not outcome.violations:
        return _Outcome(outcome.model, outcome.stats, {})
    model = Model(topology.restrict(part))
    node_map = dict(zip(source.node_order, target.node_order, strict=True))
    carried = _Outcome(model, outcome.stats, {})
    for prop, (v, states, seconds) in outcome.violations.items():
        actions = [s.action for s in v.trace.steps[1:] if s.action is not None]
        loop_action = None
        if v.trace.loop is not None and v.trace.loop_action is not None:
            # the closing step too: it is carried like the others, then must close
            steps = carry_run(outcome.model, model, node_map, [*actions, v.trace.loop_action])
            closing = steps.pop()
            loop_action = closing.action
            if closing.state != steps[v.trace.loop].state:
                raise AssertionError("a carried-over loop does not close")
        else:
            steps = carry_run(outcome.model, model, node_map, actions)
        group = (model.groups[[g.name for g in outcome.model.groups].index(v.group)].name
                 if v.group is not None else None)
        trace = Trace(model, tuple(steps), v.trace.loop, loop_action)
        if v.kind == "liveness" and v.trace.loop is not None and loop_action is not None:
            detail = loop_detail(model, [s.action for s in steps[v.trace.loop + 1:]
                                         if s.action is not None] + [loop_action])
        elif v.kind == "step":
            last = steps[-1].action
            assert last is not None
            detail = step_detail(model, steps[-2].state, last, prop.name)
        else:
            detail = v.detail
        carried.violations[prop] = (Violation(prop, v.kind, group, detail, trace, v.failures),
                                    states, seconds)
    return carried


__all__ = ["CheckOptions", "TraceStep", "run_check"]
