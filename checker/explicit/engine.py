"""The explicit-state engine: every component searched breadth-first, the findings combined.

The configuration is split into components (:mod:`crg.checker.components`); each is
explored (:mod:`crg.checker.explicit.explore`) with symmetry reduction
(:mod:`crg.checker.explicit.symmetry`) and, where it is sound, partial-order reduction
(:mod:`crg.checker.explicit.reduction`); components isomorphic to one already explored
are carried over, renamed. Components run in worker processes
(:mod:`crg.checker.parallel`); what a worker sends back is plain data — verdicts, counts
and counterexamples as runs — which this process replays on its own models.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from crg.checker import stages
from crg.checker.budget import Budget
from crg.checker.components import Signature, signature
from crg.checker.explicit.explore import Search, SearchStats
from crg.checker.explicit.liveness import loop_detail
from crg.checker.explicit.predict import predict
from crg.checker.explicit.symmetry import canonicaliser
from crg.checker.explicit.trace import step_detail, violation
from crg.checker.options import AUTO_GROUPS, SOLO_PROBE, Options, Progress
from crg.checker.parallel import Board, run_tasks
from crg.checker.rename import carry_run
from crg.checker.result import (
    PROPERTIES,
    CheckReport,
    ComponentResult,
    Finding,
    Property,
    PropertyResult,
    Trace,
    Verdict,
    Violation,
)
from crg.checker.runs import Run, to_violation
from crg.spec import Model, Topology

_ModelOf = Callable[[tuple[int, ...]], Model]


@dataclass(slots=True)
class PartSearch:
    """One component's search, as a worker hands it back (plain data, no model)."""

    groups: tuple[int, ...]
    stats: SearchStats
    runs: dict[Property, tuple[Run, int, float]]
    """Per violated property: the run, states explored and seconds when it was found."""
    symmetry: str = ""
    reduced: bool = False


def search_part(topology: Topology, part: tuple[int, ...], options: Options,
                budget: Budget, cap: int | None, progress: Progress | None = None,
                predicted: bool = True) -> PartSearch:
    """Explore the component ``part`` of ``topology`` (in a worker process, or here).

    With a ``cap`` (``--engine auto``), a component of several groups whose size is
    predicted beyond it (:mod:`crg.checker.explicit.predict`) is not searched at all
    (``predicted``: predict)."""
    if cap is not None and len(part) > AUTO_GROUPS:
        return PartSearch(part, SearchStats(capped=True, limit="auto"), {})
    sub = topology.restrict(part)
    if cap is not None and predicted and len(part) > 1:
        guess = predict(sub, cap)
        if guess.beyond:
            return PartSearch(part, SearchStats(capped=True, limit="auto",
                                                predicted=guess.estimate), {})
    probe = cap is not None and predicted and len(part) == 1 and cap > SOLO_PROBE
    if probe:
        cap = SOLO_PROBE
    model = Model(sub)
    canon, described = canonicaliser(model, options.symmetry)
    limit = budget.states if cap is None else min(cap, budget.states)

    def explore(reduction: bool, max_events: int | None) -> tuple[Search, SearchStats]:
        search = Search(model, canon=canon, max_events=max_events,
                        keep_going=options.explicit_keep_going, max_states=limit,
                        memory=budget.memory, progress=progress, reduction=reduction,
                        reduction_warmup=options.reduction_warmup)
        return search, search.run()

    search, stats = explore(options.reduction, options.max_events)
    reduced = search.reducer is not None and search.reducer.reduced > 0
    sources = {key: (search, found) for key, found in stats.found.items()}
    if reduced and stats.found:
        # A reduced search keeps the fewest events of every counterexample, not always
        # the fewest steps: the layers up to the deepest one are searched again without
        # reduction for the shortest runs. If that stops at its budget, the reduced
        # search's counterexamples stand (still fewest events, not fewest steps).
        depth = max(f.cost[0] for f in stats.found.values())
        full, again = explore(False, depth)
        if not again.capped:
            sources.update({key: (full, again.found[key]) for key in sources
                            if key in again.found})
    if stats.capped and stats.limit == "states" and cap is not None and cap < budget.states:
        stats.limit = "auto"
        stats.probed = probe
    runs: dict[Property, tuple[Run, int, float]] = {}
    for source, found in sources.values():
        v = violation(source, found)
        runs[v.prop] = (Run.of(v), found.states, found.seconds)
    stats.found = {}  # Found objects hold traces of this process's model
    return PartSearch(part, stats, runs, described, reduced)


@dataclass(slots=True)
class _Outcome:
    """One component's findings, in the component's own model."""

    search: PartSearch
    violations: dict[Property, tuple[Violation, int, float]] = field(default_factory=dict)


def explore(topology: Topology, parts: list[tuple[int, ...]], options: Options,
            budget: Budget, cap: int | None = None, predicted: bool = True) -> CheckReport:
    """Search every component of ``parts``; ``cap``: stop each search at this many states
    (``--engine auto`` hands those components to the symbolic engine), and with
    ``predicted`` do not start those predicted to exceed it."""
    started = time.perf_counter()
    shapes: dict[tuple[object, ...], int] = {}
    firsts: list[tuple[int, ...]] = []
    sigs = [signature(topology, part) for part in parts]
    for part, sig in zip(parts, sigs, strict=True):
        if options.symmetry and sig.key in shapes:
            continue
        shapes[sig.key] = len(firsts)
        firsts.append(part)
    workers = options.workers
    parallel = workers > 1 and len(firsts) > 1
    explored = [0]

    def offset(states: int, layer: int, seconds: float) -> None:
        assert options.progress is not None
        options.progress(explored[0] + states, layer, seconds)

    def done(index: int, result: PartSearch) -> None:
        explored[0] += result.stats.states
        if board is not None:
            board.settle(index, result.stats.states, result.stats.layers)

    def tick() -> None:
        assert options.progress is not None and board is not None
        states, layer = board.read()
        options.progress(states, layer, time.perf_counter() - started)

    # The workers get the options without the progress callbacks: a closure over the
    # terminal (or stderr) cannot be pickled. They write their figures on a shared
    # board instead, and this process shows the sum (else a parallel search said only
    # "still checking" for as long as it ran).
    sent = replace(options, progress=None, stage=None)
    if parallel:
        stages.say(f"{len(firsts)} components searched on {min(workers, len(firsts))} "
                   "processes")
    with contextlib.ExitStack() as stack:
        board = (stack.enter_context(Board(len(firsts)))
                 if parallel and options.progress is not None else None)
        searched = run_tasks(
            search_part,
            [(topology, part, sent, budget, cap,
              board.slot(i) if board is not None else offset if options.progress else None,
              predicted) for i, part in enumerate(firsts)],
            workers, done, tick if board is not None else None)
        if board is not None:
            tick()  # the exact totals, every task settled
    models: dict[tuple[int, ...], Model] = {}

    def model_of(part: tuple[int, ...]) -> Model:
        if part not in models:
            models[part] = Model(topology.restrict(part))
        return models[part]

    outcomes = [_replayed(s, model_of) for s in searched]
    rows: list[tuple[_Outcome, ComponentResult, int, float]] = []
    total, clock = 0, 0.0
    for part, sig in zip(parts, sigs, strict=True):
        names = tuple(topology.groups[g].name for g in part)
        first = shapes[sig.key] if options.symmetry else None
        if first is not None and firsts[first] != part:
            source = outcomes[first]
            carried = _carry_over(source, sigs[parts.index(source.search.groups)], sig,
                                  model_of, part)
            stats = carried.search.stats
            rows.append((carried, _component(names, carried, 0.0, reused_from=tuple(
                topology.groups[g].name for g in source.search.groups)), total, clock))
            continue
        outcome = outcomes[firsts.index(part)]
        stats = outcome.search.stats
        rows.append((outcome, _component(names, outcome, stats.seconds), total, clock))
        total += stats.states
        clock += stats.seconds
    seconds = time.perf_counter() - started
    results = {p: _combine(p, rows, total, seconds) for p in PROPERTIES}
    return CheckReport(results, [r[1] for r in rows], total, seconds,
                       options={"max_down": topology.max_down,
                                "faults": sorted(f.value for f in topology.faults),
                                "compose": options.compose, "symmetry": options.symmetry,
                                "max_depth": options.max_events,
                                "keep_going": options.explicit_keep_going})


def _replayed(found: PartSearch, model_of: _ModelOf) -> _Outcome:
    outcome = _Outcome(found)
    if found.runs:
        model = model_of(found.groups)
        for prop, (run, states, seconds) in found.runs.items():
            outcome.violations[prop] = (to_violation(model, prop, run), states, seconds)
    return outcome


def _component(names: tuple[str, ...], outcome: _Outcome, seconds: float,
               reused_from: tuple[str, ...] | None = None) -> ComponentResult:
    s = outcome.search
    stats = s.stats
    return ComponentResult(names, stats.states, stats.edges, seconds, stats.layers,
                           stats.complete, reused_from=reused_from, symmetry=s.symmetry,
                           limit=stats.limit, reduced=s.reduced,
                           predicted=stats.predicted, probed=stats.probed,
                           findings=_findings(outcome))


def _findings(outcome: _Outcome) -> dict[Property, Finding]:
    stats = outcome.search.stats
    out: dict[Property, Finding] = {}
    for prop in PROPERTIES:
        found = outcome.violations.get(prop)
        if found is not None:
            v, states, seconds = found
            out[prop] = Finding(Verdict.VIOLATED, v.detail, "explicit", states, seconds, v)
        elif stats.complete:
            out[prop] = Finding(Verdict.HOLDS, "", "explicit", stats.states, stats.seconds)
        elif stats.bounded:
            out[prop] = Finding(Verdict.BOUNDED, "no violation within the bound", "explicit",
                                stats.states, stats.seconds)
        else:
            out[prop] = Finding(Verdict.UNKNOWN, stop_reason(stats), "explicit",
                                stats.states, stats.seconds)
    return out


def stop_reason(stats: SearchStats) -> str:
    """Why a search that did not finish stopped, in words."""
    if stats.limit == "memory":
        return f"the search stopped at its memory budget ({stats.states:,} states)"
    if stats.limit == "states":
        return f"the search stopped at its state budget ({stats.states:,} states)"
    if stats.limit == "auto" and stats.predicted:
        return (f"predicted to have more than {stats.predicted:,} states, beyond an "
                "explicit search (--engine auto, --auto-states)")
    if stats.limit == "auto" and not stats.states:
        return "too many groups linked by avoid for an explicit search (--engine auto)"
    if stats.limit == "auto":
        return f"the explicit search stopped at {stats.states:,} states (--engine auto)"
    return "the search stopped after the first violation (--keep-going explores everything)"


def _combine(prop: Property, rows: list[tuple[_Outcome, ComponentResult, int, float]],
             total_states: int, total_seconds: float) -> PropertyResult:
    best: PropertyResult | None = None
    verdicts = set()
    reasons: list[str] = []
    depth = 0
    for outcome, _, offset_states, offset_seconds in rows:
        stats = outcome.search.stats
        depth = max(depth, stats.max_depth)
        found = outcome.violations.get(prop)
        if found is not None:
            v, states, seconds = found
            candidate = PropertyResult(prop, Verdict.VIOLATED, offset_states + states,
                                       v.trace.length, offset_seconds + seconds, v,
                                       reason=v.detail)
            if best is None or ((v.failures, v.trace.length)
                                < (best.violation.failures, best.depth)):  # type: ignore[union-attr]
                best = candidate
        elif stats.complete:
            verdicts.add(Verdict.HOLDS)
        elif stats.bounded:
            verdicts.add(Verdict.BOUNDED)
        else:
            verdicts.add(Verdict.UNKNOWN)
            reasons.append(stop_reason(stats))
    if best is not None:
        return best
    verdict = (Verdict.UNKNOWN if Verdict.UNKNOWN in verdicts
               else Verdict.BOUNDED if Verdict.BOUNDED in verdicts else Verdict.HOLDS)
    return PropertyResult(prop, verdict, total_states, depth, total_seconds,
                          reason=reasons[0] if reasons else "")


def _carry_over(source: _Outcome, source_sig: Signature, target: Signature,
                model_of: _ModelOf, part: tuple[int, ...]) -> _Outcome:
    """The result of an isomorphic component, renamed to the nodes of ``part``: the same
    counts, and each counterexample replayed on the component's model (so it is
    checked)."""
    s = source.search
    carried = _Outcome(PartSearch(part, s.stats, {}, s.symmetry, s.reduced))
    if not source.violations:
        return carried
    source_model, model = model_of(s.groups), model_of(part)
    node_map = dict(zip(source_sig.node_order, target.node_order, strict=True))
    for prop, (v, states, seconds) in source.violations.items():
        actions = [st.action for st in v.trace.steps[1:] if st.action is not None]
        loop_action = None
        if v.trace.loop is not None and v.trace.loop_action is not None:
            # the closing step too: it is carried like the others, then must close
            steps = carry_run(source_model, model, node_map, [*actions, v.trace.loop_action])
            closing = steps.pop()
            loop_action = closing.action
            if closing.state != steps[v.trace.loop].state:
                raise AssertionError("a carried-over loop does not close")
        else:
            steps = carry_run(source_model, model, node_map, actions)
        group = (model.groups[[g.name for g in source_model.groups].index(v.group)].name
                 if v.group is not None else None)
        trace = Trace(model, tuple(steps), v.trace.loop, loop_action)
        if v.kind == "liveness" and v.trace.loop is not None and loop_action is not None:
            detail = loop_detail(model, [st.action for st in steps[v.trace.loop + 1:]
                                         if st.action is not None] + [loop_action])
        elif v.kind == "step":
            last = steps[-1].action
            assert last is not None
            detail = step_detail(model, steps[-2].state, last, prop.name)
        else:
            detail = v.detail
        carried.violations[prop] = (Violation(prop, v.kind, group, detail, trace, v.failures),
                                    states, seconds)
    return carried
