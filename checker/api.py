"""``check(config, options) -> Report``: the model checker, whichever engine decides.

In the manner of stateright's ``Checker``: one options type
(:class:`~crg.checker.options.Options`), one verdict vocabulary
(:class:`~crg.checker.result.Verdict`) and one report for both engines. Which engine
decides a component, whether the engines agree, which properties stay undecided and the
status of the whole check (the exit status of ``crg check``) are decided here, so every
caller — the command line, tests, benchmarks — gets the same answer.

Engines: ``explicit`` searches every component (:mod:`crg.checker.explicit.engine`);
``symbolic`` proves them with z3 (:mod:`crg.checker.symbolic.api`); ``both`` runs both
and cross-checks them; ``auto`` (the default) searches each component explicitly while
its search stays small and hands the rest to the symbolic engine.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from crg.checker import stages
from crg.checker.budget import Budget
from crg.checker.components import components
from crg.checker.options import EXPLICIT_MAX_STATES, RANKING_S, Engine, Options
from crg.checker.result import (
    PROPERTIES,
    CheckReport,
    Finding,
    Property,
    PropertyResult,
    Report,
    Status,
    SymbolicReport,
    Verdict,
)
from crg.dsl import Config
from crg.spec import Topology
from crg.spec.fast.layout import Layout

if TYPE_CHECKING:
    from crg.checker.symbolic.api import ProofOptions

_HANDED_OVER = frozenset({"auto", "states", "memory"})
"""Why an explicit search stopped that ``--engine auto`` hands to the symbolic engine."""


class CheckError(ValueError):
    """The options do not fit the configuration (``--max-down`` above the node count)."""


def check(config: Config, options: Options | None = None) -> Report:
    opts = options or Options()
    if opts.max_down is not None and opts.max_down > len(config.nodes):
        n = len(config.nodes)
        raise CheckError(f"--max-down {opts.max_down}: the cluster has only "
                         f"{n} node{'' if n == 1 else 's'}")
    started = time.perf_counter()
    topology = Topology.from_config(config, max_down=opts.max_down, faults=opts.faults)
    parts = (components(topology) if opts.compose
             else [tuple(range(len(topology.groups)))] if topology.groups else [])
    try:
        with stages.listening(opts.stage):
            report = _run(topology, parts, opts)
    except MemoryError:
        report = _out_of_memory(opts)
    report.seconds = time.perf_counter() - started
    return report


def _run(topology: Topology, parts: list[tuple[int, ...]], opts: Options) -> Report:
    engine = opts.engine
    explicit: CheckReport | None = None
    symbolic: SymbolicReport | None = None
    if engine is not Engine.SYMBOLIC:
        from crg.checker.explicit.engine import explore

        # The memory is shared by the searches that run at once: no more than there are
        # components, however many processes -j allows (-j 64 on one component gave
        # its one search a 64th of the memory).
        budget = Budget.make(opts.memory, opts.max_states, min(opts.workers, len(parts)),
                             _state_bits(topology, parts))
        cap = opts.auto_states if engine is Engine.AUTO else None
        explicit = explore(topology, parts, opts, budget, cap)
    else:
        budget = None
    if engine in (Engine.SYMBOLIC, Engine.BOTH):
        symbolic = _prove(topology, parts, opts, opts.facts)
    elif engine is Engine.AUTO:
        assert explicit is not None
        handed = [part for part, c in zip(parts, explicit.components, strict=True)
                  if c.limit in _HANDED_OVER]
        if handed:
            symbolic = _prove(topology, handed, opts, False)
            _search_what_z3_left(topology, parts, explicit, symbolic, opts, budget)
    report = Report({}, Status.OK, engine.value, explicit, symbolic)
    if engine is Engine.EXPLICIT:
        assert explicit is not None
        report.results = dict(explicit.results)
    elif engine is Engine.SYMBOLIC:
        assert symbolic is not None
        report.results = _from_symbolic(symbolic)
    elif engine is Engine.BOTH:
        assert explicit is not None and symbolic is not None
        report.results = _both(explicit, symbolic, report)
    else:
        assert explicit is not None
        report.results = _auto(explicit, symbolic)
    _decide(report, opts)
    return report


def _search_what_z3_left(topology: Topology, parts: list[tuple[int, ...]],
                         explicit: CheckReport, symbolic: SymbolicReport, opts: Options,
                         budget: Budget | None) -> None:
    """``--engine auto``: a component handed to z3 on a prediction alone (or, a lone
    group, after a first search of ``SOLO_PROBE`` states), where z3 left a property open,
    gets the explicit search it would have had without the prediction (up to
    ``--auto-states``), so the prediction costs no verdict, only time — unless it is
    predicted beyond ``PREDICTION_SLACK`` times that limit: the estimate has never been
    above the real count on the components measured, so such a search would stop at the
    limit with nothing decided (SPEC.md section 11). Its row in ``explicit`` is replaced by
    that search's."""
    from crg.checker.explicit.engine import explore
    from crg.checker.explicit.predict import PREDICTION_SLACK, predict

    assert budget is not None
    proved = dict(symbolic.parts)
    again = [i for i, c in enumerate(explicit.components)
             if (c.predicted or c.probed) and any(f.verdict is Verdict.UNKNOWN
                                                  for f in proved[c.groups].values())
             and (c.probed or not predict(topology.restrict(parts[i]),
                                          PREDICTION_SLACK * opts.auto_states).beyond)]
    if not again:
        return
    searched = explore(topology, [parts[i] for i in again], opts, budget, opts.auto_states,
                       predicted=False)
    for i, row in zip(again, searched.components, strict=True):
        explicit.components[i] = row
    explicit.states += searched.states
    explicit.seconds += searched.seconds
    for prop, result in explicit.results.items():
        result.states += searched.results[prop].states


def _state_bits(topology: Topology, parts: list[tuple[int, ...]]) -> int:
    largest = max((len(p) for p in parts), default=0)
    layout = Layout(topology.n_nodes, largest, max((g.budget for g in topology.groups),
                                                   default=1))
    return layout.nodes_width + largest * layout.group_width


def _prove(topology: Topology, parts: list[tuple[int, ...]], opts: Options,
           facts: bool) -> SymbolicReport:
    # imported here: z3 costs a second at start-up
    from crg.checker.symbolic.api import prove_parts

    return prove_parts(topology, parts, _proof_options(opts, facts))


def _proof_options(opts: Options, facts: bool) -> ProofOptions:
    from crg.checker.symbolic.api import ProofOptions

    return ProofOptions(
        max_down=opts.max_down, faults=opts.faults, compose=opts.compose,
        symmetry=opts.symmetry, facts=facts, jobs=opts.workers,
        keep_going=opts.explicit_keep_going,
        liveness_states=(EXPLICIT_MAX_STATES if opts.liveness_states is None
                         else opts.liveness_states),
        ranking_s=RANKING_S if opts.liveness_time is None else opts.liveness_time)


# -- combining ------------------------------------------------------------------------


def _from_symbolic(symbolic: SymbolicReport) -> dict[Property, PropertyResult]:
    violations = {v.prop: v for v in symbolic.violations}
    invariants = symbolic.details.get("invariants", {})
    assert isinstance(invariants, dict)
    out = {}
    for prop in PROPERTIES:
        verdict = symbolic.verdicts.get(prop.label, Verdict.UNKNOWN)
        info = invariants.get(prop.label, {})
        v = violations.get(prop)
        states = info.get("states")  # an explicit search's, where it decided liveness
        out[prop] = PropertyResult(prop, verdict, states if isinstance(states, int) else 0,
                                   v.trace.length if v else 0, 0.0, v,
                                   engine=str(info.get("decided_by") or "z3"),
                                   reason=str(info.get("reason", "")))
    return out


def _both(explicit: CheckReport, symbolic: SymbolicReport,
          report: Report) -> dict[Property, PropertyResult]:
    theirs = _from_symbolic(symbolic)
    out = {}
    for prop, ours in explicit.results.items():
        other = theirs[prop]
        verdicts = {ours.verdict, other.verdict}
        if verdicts == {Verdict.HOLDS, Verdict.VIOLATED}:
            report.disagreements.append(prop.label)
        if ours.verdict in (Verdict.HOLDS, Verdict.VIOLATED):
            decided = [e for e, r in (("explicit", ours), (other.engine, other))
                       if r.verdict is ours.verdict]
            out[prop] = PropertyResult(prop, ours.verdict, ours.states, ours.depth,
                                       ours.seconds, ours.violation or other.violation,
                                       engine=", ".join(decided), reason=ours.reason)
        elif other.verdict in (Verdict.HOLDS, Verdict.VIOLATED):
            out[prop] = PropertyResult(prop, other.verdict, ours.states, other.depth,
                                       ours.seconds, other.violation, engine=other.engine,
                                       reason=other.reason)
        else:
            out[prop] = ours
    return out


def _auto(explicit: CheckReport, symbolic: SymbolicReport | None
          ) -> dict[Property, PropertyResult]:
    """Per component, the explicit engine's findings where its search finished (or found
    a violation), the symbolic engine's where it was handed over."""
    if symbolic is None:
        return dict(explicit.results)
    proved = {groups: findings for groups, findings in symbolic.parts}
    rows: list[dict[Property, Finding]] = []
    for component in explicit.components:
        if component.limit in _HANDED_OVER:
            theirs = proved[component.groups]
            rows.append({p: f if component.findings[p].verdict is not Verdict.VIOLATED
                         else component.findings[p] for p, f in theirs.items()})
        else:
            rows.append(component.findings)
    # A verdict that waited for the symbolic engine was reached once it was done too:
    # the explicit search's time alone would say 0.4 s of a check that took half a minute.
    z3_seconds = symbolic.seconds
    by_symbolic = {id(f) for findings in proved.values() for f in findings.values()}
    out = {}
    for prop, ours in explicit.results.items():
        found = [row[prop] for row in rows]
        violated = [f for f in found if f.violation is not None]
        if violated:
            best = min(violated, key=lambda f: (f.violation.failures,  # type: ignore[union-attr]
                                                f.violation.trace.length))  # type: ignore[union-attr]
            v = best.violation
            assert v is not None
            seconds = ours.seconds + z3_seconds if id(best) in by_symbolic else best.seconds
            out[prop] = PropertyResult(prop, Verdict.VIOLATED, best.states or ours.states,
                                       v.trace.length, seconds, v, engine=best.engine,
                                       reason=best.reason)
            continue
        verdicts = [f.verdict for f in found]
        verdict = (Verdict.UNKNOWN if Verdict.UNKNOWN in verdicts or Verdict.VIOLATED in verdicts
                   else Verdict.BOUNDED if Verdict.BOUNDED in verdicts else Verdict.HOLDS)
        engines = sorted({e.strip() for f in found for e in f.engine.split(",")})
        reason = next((f.reason for f in found if f.verdict is verdict and f.reason), "")
        out[prop] = PropertyResult(prop, verdict, ours.states, ours.depth,
                                   ours.seconds + z3_seconds,
                                   engine=", ".join(engines), reason=reason)
    return out


def _decide(report: Report, opts: Options) -> None:
    """The status of the check, and what to say about it."""
    if report.symbolic is not None:
        errors = report.symbolic.details.get("internal_errors") or []
        assert isinstance(errors, list)
        report.errors += [str(e) for e in errors]
    if report.disagreements:
        report.errors.append("the explicit and symbolic engines disagree on "
                             + ", ".join(report.disagreements))
    if report.explicit is not None:
        for c in report.explicit.components:
            if c.limit in ("states", "memory") and report.engine != Engine.AUTO:
                report.limits.append(f"component {', '.join(c.groups)}: "
                                     + _limit_words(c.limit, c.states))
    verdicts = [r.verdict for r in report.results.values()]
    report.undecided = [r.prop.label for r in report.results.values()
                        if r.verdict is Verdict.UNKNOWN]
    if report.errors:
        report.status = Status.INTERNAL
    elif Verdict.VIOLATED in verdicts:
        report.status = Status.VIOLATED
    elif report.undecided:
        report.status = Status.INCONCLUSIVE
    else:
        report.status = Status.OK
        if Verdict.BOUNDED in verdicts:
            report.bounded = opts.max_events


def _limit_words(limit: str, states: int) -> str:
    if limit == "memory":
        return f"the search stopped at its memory budget after {states:,} states"
    # the states it had explored, which a layer's end may take past the budget itself
    return f"the search stopped at its state budget after {states:,} states"


def _out_of_memory(opts: Options) -> Report:
    reason = "the check ran out of memory (--memory sets a budget it stops at)"
    results = {p: PropertyResult(p, Verdict.UNKNOWN, 0, 0, 0.0, reason=reason)
               for p in PROPERTIES}
    return Report(results, Status.INCONCLUSIVE, opts.engine.value,
                  undecided=[p.label for p in PROPERTIES], limits=[reason])
