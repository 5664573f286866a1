"""Deciding every invariant of one component: induction, then BMC, then k-induction.

Order of business: the strengthened induction of :mod:`~crg.checker.symbolic.induction`
proves what it can; for the rest, bounded model checking looks for a real run from the
initial state (replayed on the concrete model before it is believed); what neither settles
gets a k-induction attempt; whatever is still open is reported as unknown, with the reason.
Liveness is proved by a ranking function (:mod:`~crg.checker.symbolic.ranking`) if one is
found, otherwise refuted by a bounded search for a fair lasso
(:mod:`~crg.checker.symbolic.lasso`); what neither settles
:mod:`~crg.checker.symbolic.liveness` may, with the explicit engine.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from crg.checker import stages
from crg.checker.options import RANKING_S
from crg.checker.result import Verdict
from crg.checker.symbolic import bmc, lasso
from crg.checker.symbolic.bmc import Target
from crg.checker.symbolic.encoding import Encoding, SymState
from crg.checker.symbolic.induction import Finding, Prover
from crg.checker.symbolic.kinduction import k_inductive
from crg.checker.symbolic.ranking import rank
from crg.checker.symbolic.replay import ReplayError, confirm
from crg.spec import Action, Model, Topology
from crg.spec.vocabulary.algebra import Bool

HOLDS, VIOLATED, UNKNOWN = Verdict.HOLDS, Verdict.VIOLATED, Verdict.UNKNOWN

LASSO_MIN_S = 20.0
"""Least time the fair-lasso search gets after the ranking function, however long that
took (a user who gives the ranking more time still wants a livelock found)."""


@dataclass(frozen=True, slots=True)
class Settings:
    timeout_ms: int = 30_000
    """Time limit of one z3 query."""
    bmc_depth: int = 24
    """Longest run bounded model checking looks at (steps of any kind)."""
    max_k: int = 3
    """Largest k tried by k-induction."""
    budget_s: float = 120.0
    """Time for the bounded search of one component."""
    lasso_depth: int = 8
    """Longest lasso (prefix and loop, steps of any kind) the livelock search looks at."""
    ranking: bool = True
    """Try to prove liveness with a ranking function first."""
    ranking_s: float = RANKING_S
    """Time for the ranking function search of one component (``crg check
    --liveness-time``)."""
    keep_going: bool = True
    """Look for a livelock even in a component where a safety invariant is already
    violated (``crg check --keep-going``); otherwise its liveness is left unknown, as the
    explicit engine stops at its first violation: the verdict is a violation either way,
    and the ranking function and the lasso search would spend a minute or more on it."""


STOPPED = ("not checked: the check stopped at the first violation (--keep-going checks "
           "it too)")
"""Why a component's liveness is unknown when a safety violation ended its check."""


@dataclass(slots=True)
class TargetResult:
    verdict: Verdict
    reason: str
    actions: tuple[Action, ...] = ()
    """The counterexample, for a violation (actions of the component's model)."""
    loop: int | None = None
    """For a livelock: the state the last action returns to (a lasso)."""
    engine: str = "z3"
    """Who decided: ``z3``, or ``explicit`` (liveness of a small component)."""
    states: int = 0
    """States the explicit engine explored to decide it (0: z3 decided)."""


@dataclass(slots=True)
class ComponentOutcome:
    results: dict[Target, TargetResult]
    strengthening: list[str]
    """The conjuncts of the inductive invariant that was proved (labels)."""
    dropped: dict[str, str]
    seconds: float = 0.0
    queries: int = 0
    bmc_depth: int = -1
    """Depth bounded model checking searched completely (-1: it did not run)."""
    internal_errors: list[str] = field(default_factory=list)
    """Symbolic counterexamples the concrete model refused (bugs; never reported as
    violations)."""
    liveness: TargetResult | None = None
    """The liveness half of ``vip-held``: holds (a ranking function), violated (a fair
    lasso) or unknown (neither); None before the search ran."""
    ranking: tuple[tuple[str, ...], ...] = ()
    """The ranking function that proved liveness: the atoms of each level."""


def prove_component(topology: Topology, settings: Settings) -> ComponentOutcome:
    started = time.perf_counter()
    name = stages.label(topology.groups)
    stages.say(f"{name}: invariants, by induction (z3)")
    enc = Encoding(topology)
    prover = Prover(enc, settings.timeout_ms)
    prover.strengthen()
    findings: dict[Target, Finding] = {}
    for (name, g), f in prover.holding().items():
        findings[Target(name, g)] = f
    for (name, g), f in prover.settled().items():
        findings[Target(name, g)] = f
    for (name, g), f in prover.steps().items():
        findings[Target(name, g, step=True)] = f
    results = {t: TargetResult(HOLDS, f.reason) for t, f in findings.items() if f.proved}
    outcome = ComponentOutcome(results, prover.strengthening_labels(),
                               dict(prover.stats.dropped), queries=prover.stats.queries)
    open_targets = [t for t, f in findings.items() if not f.proved]
    deadline = time.perf_counter() + settings.budget_s
    if open_targets:
        stages.say(f"{name}: {len(open_targets)} left open: bounded search (z3)")
        _decide_open(enc, topology, prover, open_targets, findings, settings, outcome,
                     deadline)
    if not settings.keep_going and any(r.verdict == VIOLATED
                                       for r in outcome.results.values()):
        outcome.liveness = TargetResult(UNKNOWN, STOPPED)
        outcome.seconds = time.perf_counter() - started
        return outcome
    _find_livelock(enc, topology, prover, settings, outcome, deadline)
    outcome.seconds = time.perf_counter() - started
    return outcome


def _strengthening(enc: Encoding, prover: Prover) -> Callable[[SymState], Bool]:
    """The proved inductive invariant as a formula on any state (it holds in every
    reachable one, so asserting it on every frame of an unrolling prunes nothing real)."""
    active = [prover.conjuncts[i] for i in sorted(prover.active)]

    def strengthening(state: SymState) -> Bool:
        return enc.a.and_(*(c.holds(enc, state) for c in active))

    return strengthening


def _find_livelock(enc: Encoding, topology: Topology, prover: Prover, settings: Settings,
                   outcome: ComponentOutcome, deadline: float) -> None:
    gap = ""
    name = stages.label(topology.groups)
    if settings.ranking:
        stages.say(f"{name}: liveness: ranking function (z3, {settings.ranking_s:.0f} s "
                   "at most)")
        queries = prover.stats.queries
        attempt = rank(enc, prover, settings.ranking_s)
        outcome.queries += prover.stats.queries - queries
        ranking = attempt.ranking
        gap = f"no ranking function ({attempt.gap}); "
        if ranking is not None:
            outcome.liveness = TargetResult(HOLDS, f"proved: {ranking.describe()}")
            outcome.ranking = ranking.levels
            return
    deadline = max(deadline, time.perf_counter() + min(LASSO_MIN_S, settings.budget_s))
    stages.say(f"{name}: liveness: a livelock within {_steps(settings.lasso_depth)}? (z3)")
    found = lasso.search(enc, settings.lasso_depth, settings.timeout_ms, deadline,
                         _strengthening(enc, prover))
    outcome.queries += found.queries
    if found.lasso is None:
        bound = f"{gap}no fair lasso within {_steps(found.searched)} (z3)"
        if found.stopped:
            bound += f" (search stopped: {found.stopped})"
        outcome.liveness = TargetResult(UNKNOWN, bound)
        return
    run = found.lasso
    try:
        lasso.confirm_lasso(Model(topology), run.actions, run.loop)
    except ReplayError as exc:
        outcome.internal_errors.append(f"vip-held (liveness): a z3 lasso does not replay: {exc}")
        outcome.liveness = TargetResult(UNKNOWN, "internal error: see internal_errors")
        return
    outcome.liveness = TargetResult(VIOLATED, lasso_reason(run.actions, run.loop), run.actions,
                                    run.loop)


def lasso_reason(actions: tuple[Action, ...], loop: int) -> str:
    return (f"a fair lasso found by z3: {_steps(loop)} to the loop, then a loop of "
            f"{_steps(len(actions) - loop)} of the cluster service that repeats forever "
            "(replayed on the concrete model, fairness checked)")


def _steps(n: int) -> str:
    return f"{n} step" if n == 1 else f"{n} steps"


def _decide_open(enc: Encoding, topology: Topology, prover: Prover, targets: list[Target],
                 findings: dict[Target, Finding], settings: Settings,
                 outcome: ComponentOutcome, deadline: float) -> None:
    strengthening = _strengthening(enc, prover)
    runs, stopped, searched, queries = bmc.search(enc, targets, settings.bmc_depth,
                                                  settings.timeout_ms, deadline, strengthening)
    outcome.queries += queries
    outcome.bmc_depth = searched
    model = Model(topology)
    for target, run in runs.items():
        try:
            confirm(model, run.actions, target)
        except ReplayError as exc:
            outcome.internal_errors.append(f"{target.name} (group {target.group}): {exc}")
            continue
        outcome.results[target] = TargetResult(
            VIOLATED, f"a run of {_steps(len(run.actions))} from the initial state breaks it "
                      "(replayed on the concrete model)", run.actions)

    for target in targets:
        if target in outcome.results:
            continue
        proved_at = None
        for k in range(2, settings.max_k + 1):
            if searched < k - 1 or time.perf_counter() > deadline:
                break
            outcome.queries += 1
            if k_inductive(enc, target, k, strengthening, settings.timeout_ms):
                proved_at = k
                break
        if proved_at is not None:
            outcome.results[target] = TargetResult(
                HOLDS, f"{proved_at}-induction (with the inductive invariants), base case by "
                        f"bounded model checking to depth {searched}")
            continue
        why = findings[target].reason
        bound = (f"no violation within {_steps(searched)}" if searched >= 0
                 else "bounded model checking did not run")
        if stopped:
            bound += f" (search stopped: {stopped})"
        outcome.results[target] = TargetResult(
            UNKNOWN, f"not proved: {why}; {bound}; not {settings.max_k}-inductive")
