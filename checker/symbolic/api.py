"""``prove(config, options)``: the symbolic engine of ``crg check``.

The configuration is split into components of groups linked by ``avoid``
(:func:`crg.checker.components.components`); each is proved on its own
(:mod:`crg.checker.symbolic.component`) against the whole node environment. Components of
the same *shape* — equal up to a renaming of nodes (:func:`crg.checker.components.signature`:
kinds, policies, candidate lists after renaming, fencing, budgets, avoid links, and the
cluster's node count, ``max_down`` and fault kinds) — are the same problem, so each shape
is proved once (shapes in worker processes, :mod:`crg.checker.parallel`) and its verdicts
carried over; a counterexample is renamed and replayed on the component it is reported for.

Liveness (every fair run settles) is proved by a ranking function z3 checks rule by rule
(:mod:`crg.checker.symbolic.ranking`), refuted by a bounded z3 search for a fair lasso, and
otherwise decided, for a component small enough, by the explicit engine's liveness check
(:mod:`crg.checker.symbolic.liveness`); the verdict says which engine decided. The same
search settles a safety invariant z3 left open in such a component.

``prove`` returns a :class:`~crg.checker.result.SymbolicReport`: ``verdicts`` (property
label -> holds | violated | unknown), ``details`` (plain JSON-ready data: reasons, traces,
the auxiliary invariants, per-component figures, configuration facts), the replayed
counterexamples and what each component found.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass
from typing import Any

import z3

from crg.checker import stages
from crg.checker.components import Signature, components, signature
from crg.checker.explicit.liveness import loop_group
from crg.checker.options import EXPLICIT_MAX_STATES, RANKING_S, SYMBOLIC_GROUPS
from crg.checker.parallel import run_tasks
from crg.checker.rename import CarryError, carry_run
from crg.checker.result import PROPERTIES, Finding, Property, SymbolicReport, Verdict, Violation
from crg.checker.symbolic.auxiliary import GROUP_AUXILIARIES, NODE_AUXILIARIES
from crg.checker.symbolic.bmc import Target
from crg.checker.symbolic.component import (
    HOLDS,
    STOPPED,
    UNKNOWN,
    VIOLATED,
    ComponentOutcome,
    Settings,
    TargetResult,
    prove_component,
)
from crg.checker.symbolic.coverage import CoverageReport, explain_coverage
from crg.checker.symbolic.facts import Fact, all_facts
from crg.checker.symbolic.lasso import confirm_lasso
from crg.checker.symbolic.liveness import Explicit, decide_explicitly
from crg.checker.symbolic.reduction import footprint_holds, reduce_nodes
from crg.checker.symbolic.replay import ReplayError, confirm
from crg.checker.symbolic.violations import as_violation
from crg.dsl import Config, Fault
from crg.spec import (
    INVARIANT_NAMES,
    LIVENESS,
    STATE_INVARIANTS,
    STEP_INVARIANTS,
    Action,
    Model,
    Topology,
)
from crg.spec.present.modes import action_dict, describe

LIVENESS_LABEL = f"{LIVENESS[0]} (liveness)"


@dataclass(frozen=True, slots=True)
class ProofOptions:
    max_down: int | None = None
    """Override ``assume at most k nodes down``."""
    faults: frozenset[Fault] | None = None
    """Override ``assume faults``."""
    compose: bool = True
    """Prove components of interacting groups one at a time (otherwise all groups at once)."""
    symmetry: bool = True
    """Prove each shape of component once and carry the verdicts over."""
    timeout_ms: int = 30_000
    bmc_depth: int = 24
    max_k: int = 3
    budget_s: float = 120.0
    lasso_depth: int = 8
    """Longest fair lasso (steps of any kind) z3 looks for, to refute liveness."""
    liveness_states: int = EXPLICIT_MAX_STATES
    """Components with at most this many states get liveness, and any safety invariant z3
    left open, decided by the explicit engine (0: never)."""
    facts: bool = True
    """Also answer the configuration facts (coverage, placement, last node)."""
    reduce: bool = True
    """Prove a component on its candidates and ``k`` other nodes when that is sound."""
    ranking: bool = True
    """Try to prove liveness with a ranking function (z3) before any explicit search."""
    ranking_s: float = RANKING_S
    """Time for the ranking function of one component (``--liveness-time``)."""
    jobs: int = 1
    """Worker processes for the shapes."""
    keep_going: bool = True
    """Decide liveness even in a component whose safety is already violated (``crg check``
    passes ``--keep-going``: without it, such a component's liveness is left unknown)."""

    @staticmethod
    def from_any(options: object) -> ProofOptions:
        """Options from any object with some of these attributes (``crg check`` passes
        :class:`crg.checker.options.Options`)."""
        if isinstance(options, ProofOptions):
            return options
        if options is None:
            return ProofOptions()
        known = ProofOptions.__dataclass_fields__
        values = {name: getattr(options, name) for name in known
                  if getattr(options, name, None) is not None}
        workers = getattr(options, "workers", None)
        if isinstance(workers, int):
            values["jobs"] = workers
        keep_going = getattr(options, "explicit_keep_going", None)  # --engine both too
        if isinstance(keep_going, bool):
            values["keep_going"] = keep_going
        return ProofOptions(**values)

    def settings(self) -> Settings:
        return Settings(self.timeout_ms, self.bmc_depth, self.max_k, self.budget_s,
                        self.lasso_depth, self.ranking, self.ranking_s, self.keep_going)


@dataclass(slots=True)
class _Part:
    groups: tuple[int, ...]
    topology: Topology
    """The component's own topology (every node of the cluster)."""
    outcome: ComponentOutcome
    """Results with counterexamples in ``topology``'s numbering."""
    reused_from: tuple[str, ...] | None = None
    nodes_proved: int = 0
    """Nodes of the model the proof ran on (fewer than the cluster's when reduced)."""
    _model: Model | None = None

    @property
    def model(self) -> Model:
        # Built only when a counterexample needs replaying or describing.
        if self._model is None:
            self._model = Model(self.topology)
        return self._model


def prove(config: Config, options: object = None) -> SymbolicReport:
    opts = ProofOptions.from_any(options)
    topology = Topology.from_config(config, max_down=opts.max_down, faults=opts.faults)
    parts = (components(topology) if opts.compose
             else [tuple(range(len(topology.groups)))] if topology.groups else [])
    return prove_parts(topology, parts, opts)


def prove_parts(topology: Topology, parts: list[tuple[int, ...]],
                opts: ProofOptions) -> SymbolicReport:
    """Prove the components ``parts`` of ``topology`` (each shape once, on up to
    ``opts.jobs`` processes)."""
    started = time.perf_counter()
    sigs = [signature(topology, part) for part in parts]
    firsts: dict[tuple[object, ...], int] = {}
    tasks: list[tuple[tuple[int, ...], Topology, ProofOptions]] = []
    for part, sig in zip(parts, sigs, strict=True):
        if opts.symmetry and sig.key in firsts:
            continue
        firsts[sig.key] = len(tasks)
        tasks.append((part, topology.restrict(part), opts))
    decided = itertools.count(1)

    def one_more(index: int, part: _Part) -> None:
        if len(tasks) > 1:  # the workers say nothing of their own (crg.checker.stages)
            stages.say(f"{next(decided)} of {len(tasks)} components decided by the symbolic "
                       "engine")

    if len(tasks) > 1 and opts.jobs > 1:
        stages.say(f"{len(tasks)} components proved on {min(opts.jobs, len(tasks))} "
                   "processes (z3), none decided yet")
    proved = run_tasks(_prove_part, tasks, opts.jobs, done=one_more)
    proved_parts: list[_Part] = []
    for part, sig in zip(parts, sigs, strict=True):
        index = firsts[sig.key] if opts.symmetry else None
        source = proved[index] if index is not None else None
        if source is None or source.groups == part:
            proved_parts.append(source if source is not None else next(
                p for p in proved if p.groups == part))
            continue
        proved_parts.append(_carry_over(source, signature(topology, source.groups), sig,
                                        part, topology.restrict(part)))

    verdicts, invariants, violations = _combine(proved_parts)
    verdicts[LIVENESS_LABEL], invariants[LIVENESS_LABEL], livelock = _combine_liveness(
        proved_parts)
    if livelock is not None:
        violations.append(livelock)
    facts = all_facts(topology) if opts.facts else []
    internal = [e for p in proved_parts for e in p.outcome.internal_errors]
    # placement and last-node compare the spec with itself (an independent statement,
    # the alert rule): a disagreement is a bug in crg, not a property of the config
    internal += [f"configuration fact {f.name} of group {f.group}: {f.sentence}"
                 for f in facts if f.name in ("placement", "last-node")
                 and not f.holds and f.complete]
    details: dict[str, Any] = {
        "engine": f"z3 {z3.get_version_string()}",
        "invariants": invariants,
        "components": [_component_dict(topology, p) for p in proved_parts],
        "auxiliary_invariants": [{"name": x.name, "statement": x.statement}
                                 for x in NODE_AUXILIARIES]
                                + [{"name": x.name, "statement": x.statement}
                                   for x in GROUP_AUXILIARIES],
        "facts": [f.as_dict() for f in facts],
        "internal_errors": internal,
        "seconds": round(time.perf_counter() - started, 3),
        "options": {"max_down": topology.max_down,
                    "faults": sorted(f.value for f in topology.faults),
                    "compose": opts.compose, "symmetry": opts.symmetry,
                    "timeout_ms": opts.timeout_ms, "bmc_depth": opts.bmc_depth,
                    "max_k": opts.max_k, "lasso_depth": opts.lasso_depth,
                    "liveness_states": opts.liveness_states, "ranking": opts.ranking,
                    "keep_going": opts.keep_going,
                    "liveness_time_s": opts.ranking_s},
    }
    findings = [(tuple(topology.groups[g].name for g in p.groups), _part_findings(p))
                for p in proved_parts]
    return SymbolicReport({k: Verdict(v) for k, v in verdicts.items()}, details, violations,
                          findings)


def _prove_part(part: tuple[int, ...], sub: Topology, opts: ProofOptions) -> _Part:
    """Prove one component, on fewer nodes when its footprint allows (see
    :mod:`crg.checker.symbolic.reduction`); counterexamples are mapped back to all nodes
    and replayed there too."""
    if len(part) > SYMBOLIC_GROUPS:
        return _too_large(part, sub)
    settings = opts.settings()
    reduced, kept = sub, tuple(range(sub.n_nodes))
    seconds = 0.0
    if opts.reduce and sub.n_nodes > len({c for g in sub.groups for c in g.candidates}):
        started = time.perf_counter()
        if footprint_holds(sub, settings.timeout_ms):
            reduced, kept = reduce_nodes(sub)
        seconds = time.perf_counter() - started
    outcome = prove_component(reduced, settings)
    live = outcome.liveness
    open_ = any(r.verdict == UNKNOWN for r in outcome.results.values())
    stopped = live is not None and live.reason == STOPPED
    if not stopped and (live is None or live.verdict == UNKNOWN
                        or (live.verdict == HOLDS and open_)):
        # On the reduced nodes too: the same verdict (see reduction), and several times
        # faster than on every node of a large cluster.
        started = time.perf_counter()
        explicit = decide_explicitly(reduced, live, opts.liveness_states)
        if live is None or live.verdict != HOLDS:
            outcome.liveness = explicit.liveness
        _settle_open(outcome, explicit)
        seconds += time.perf_counter() - started
    outcome.seconds += seconds
    entry = _Part(part, sub, outcome, nodes_proved=reduced.n_nodes)
    if reduced is not sub:
        _rename(entry, outcome, Model(reduced), {i: n for i, n in enumerate(kept)})
    entry._model = None  # compiled code: the process that reports builds its own
    return entry


def _too_large(part: tuple[int, ...], sub: Topology) -> _Part:
    """A component beyond the engine's size limit: every target open, with the reason."""
    reason = (f"not decided: a component of {len(part)} groups linked by avoid is beyond "
              f"the symbolic engine's limit of {SYMBOLIC_GROUPS} groups")
    names = [(i.name, False) for i in STATE_INVARIANTS] + [(i.name, True)
                                                             for i in STEP_INVARIANTS]
    results = {Target(name, g, step): TargetResult(UNKNOWN, reason)
               for g in range(len(part)) for name, step in names}
    outcome = ComponentOutcome(results, [], {}, liveness=TargetResult(UNKNOWN, reason))
    return _Part(part, sub, outcome)


def _part_findings(part: _Part) -> dict[Property, Finding]:
    """What the engine found for each property in one component."""
    out: dict[Property, Finding] = {}
    for prop in PROPERTIES:
        if prop.liveness:
            live = part.outcome.liveness or TargetResult(UNKNOWN, "not run")
            violation = None
            if live.verdict == VIOLATED and live.loop is not None:
                index = loop_group(list(live.actions[live.loop:]))
                group = part.topology.groups[index].name if index >= 0 else None
                violation = as_violation(part.model, prop.label, "liveness", group,
                                         live.reason, live.actions, live.loop)
            out[prop] = Finding(live.verdict, live.reason, live.engine, live.states,
                                violation=violation)
            continue
        found = [(t, r) for t, r in part.outcome.results.items() if t.name == prop.name]
        violated = [(t, r) for t, r in found if r.verdict == VIOLATED]
        unknown = [(t, r) for t, r in found if r.verdict == UNKNOWN]
        if violated:
            target, result = min(violated, key=lambda x: len(x[1].actions))
            group = part.topology.groups[target.group].name
            v = as_violation(part.model, prop.label, "step" if target.step else "state",
                             group, result.reason, result.actions)
            out[prop] = Finding(VIOLATED, result.reason, result.engine, violation=v)
        elif unknown:
            out[prop] = Finding(UNKNOWN, unknown[0][1].reason, unknown[0][1].engine)
        else:
            engines = ", ".join(sorted({r.engine for _, r in found})) or "z3"
            out[prop] = Finding(HOLDS, "; ".join(sorted({r.reason for _, r in found})),
                                engines)
    return out


def _settle_open(outcome: ComponentOutcome, explicit: Explicit) -> None:
    """A safety invariant z3 left open (no inductive strengthening it could find) is
    proved when the explicit engine enumerated the whole component without a violation of
    it; the reason says which engine decided. A violation the explicit search found stays
    z3's to show (it is the one whose trace this engine replays): open."""
    for target, result in outcome.results.items():
        if result.verdict == UNKNOWN and target.name in explicit.safe:
            outcome.results[target] = TargetResult(
                HOLDS, f"decided by the explicit engine: no violation in all "
                        f"{explicit.states:,} reachable states of the component "
                        f"(z3: {result.reason})", engine="explicit")


def _rename(entry: _Part, source: ComponentOutcome, source_model: Model,
            node_map: dict[int, int]) -> None:
    """Carry ``source``'s results into ``entry``, each counterexample carried over by
    ``node_map`` (:func:`crg.checker.rename.carry_run`) and replayed on ``entry``'s own
    model."""
    def carry(actions: tuple[Action, ...]) -> tuple[Action, ...]:
        try:
            steps = carry_run(source_model, entry.model, node_map, actions)
        except CarryError as exc:
            raise ReplayError(str(exc)) from None
        return tuple(s.action for s in steps[1:] if s.action is not None)

    results: dict[Target, TargetResult] = {}
    for target, result in source.results.items():
        if result.verdict != VIOLATED:
            results[target] = result
            continue
        try:
            actions = carry(result.actions)
            confirm(entry.model, actions, target)
        except ReplayError as exc:
            entry.outcome.internal_errors.append(
                f"{target.name}: a renamed counterexample does not replay: {exc}")
            results[target] = TargetResult(UNKNOWN, "internal error: see internal_errors")
            continue
        results[target] = TargetResult(VIOLATED, result.reason, actions)
    entry.outcome.results = results
    live = source.liveness
    if live is not None and live.verdict == VIOLATED and live.loop is not None:
        try:
            actions = carry(live.actions)
            confirm_lasso(entry.model, actions, live.loop)
        except ReplayError as exc:
            entry.outcome.internal_errors.append(
                f"{LIVENESS_LABEL}: a renamed lasso does not replay: {exc}")
            live = TargetResult(UNKNOWN, "internal error: see internal_errors")
        else:
            live = TargetResult(VIOLATED, live.reason, actions, live.loop, live.engine)
    entry.outcome.liveness = live


def _carry_over(source: _Part, source_sig: Signature, target_sig: Signature,
                part: tuple[int, ...], sub: Topology) -> _Part:
    """A component of the same shape: the same verdicts; each counterexample renamed to
    this component's nodes and replayed on its model (so it is checked here too)."""
    outcome = ComponentOutcome(dict(source.outcome.results), source.outcome.strengthening,
                               source.outcome.dropped, liveness=source.outcome.liveness,
                               ranking=source.outcome.ranking)
    entry = _Part(part, sub, outcome, reused_from=tuple(g.name for g in source.topology.groups),
                  nodes_proved=source.nodes_proved)
    _rename(entry, source.outcome, source.model,
            dict(zip(source_sig.node_order, target_sig.node_order, strict=True)))
    return entry


def _combine(parts: list[_Part]
             ) -> tuple[dict[str, str], dict[str, dict[str, Any]], list[Violation]]:
    verdicts: dict[str, str] = {}
    invariants: dict[str, dict[str, Any]] = {}
    violations: list[Violation] = []
    for name in INVARIANT_NAMES:
        found: list[tuple[_Part, Target, TargetResult]] = [
            (p, t, r) for p in parts for t, r in p.outcome.results.items() if t.name == name]
        violated = [x for x in found if x[2].verdict == VIOLATED]
        unknown = [x for x in found if x[2].verdict == UNKNOWN]
        if violated:
            part, target, result = min(violated, key=lambda x: len(x[2].actions))
            verdicts[name] = VIOLATED
            group = part.topology.groups[target.group].name
            kind = "step" if target.step else "state"
            invariants[name] = {
                "verdict": VIOLATED, "reason": result.reason, "group": group, "kind": kind,
                "trace": _trace(part.model, result.actions)}
            violations.append(as_violation(part.model, name, kind, group, result.reason,
                                           result.actions))
        elif unknown:
            part, target, result = unknown[0]
            verdicts[name] = UNKNOWN
            invariants[name] = {"verdict": UNKNOWN, "reason": result.reason,
                                "group": part.topology.groups[target.group].name}
        else:
            verdicts[name] = HOLDS
            how = sorted({r.reason for _, _, r in found})
            invariants[name] = {
                "verdict": HOLDS,
                "reason": ("proved for all interleavings: " + "; ".join(how)) if found
                else "proved: no group to check",
                "decided_by": ", ".join(sorted({r.engine for _, _, r in found})) or None}
    return verdicts, invariants, violations


def _combine_liveness(parts: list[_Part]) -> tuple[str, dict[str, Any], Violation | None]:
    """Liveness holds when it holds in every component (SPEC.md section 11): the shortest
    lasso of any component refutes it, any undecided component leaves it open."""
    found = [(p, p.outcome.liveness) for p in parts if p.outcome.liveness is not None]
    violated = [(p, r) for p, r in found if r.verdict == VIOLATED and r.loop is not None]
    if violated:
        part, result = min(violated, key=lambda x: len(x[1].actions))
        assert result.loop is not None
        index = loop_group(list(result.actions[result.loop:]))
        group = part.topology.groups[index].name if index >= 0 else None
        return VIOLATED, {
            "verdict": VIOLATED, "reason": result.reason, "decided_by": result.engine,
            "states": result.states,
            "group": group, "kind": "liveness", "trace": _trace(part.model, result.actions),
            "loop": result.loop}, as_violation(part.model, LIVENESS_LABEL, "liveness", group,
                                               result.reason, result.actions, result.loop)
    unknown = [(p, r) for p, r in found if r.verdict != HOLDS]
    if unknown or len(found) < len(parts):
        part, result = unknown[0] if unknown else (parts[0], TargetResult(UNKNOWN, "not run"))
        return UNKNOWN, {"verdict": UNKNOWN, "reason": result.reason, "decided_by": None,
                         "group": part.topology.groups[0].name}, None
    if not parts:
        return HOLDS, {"verdict": HOLDS, "reason": "proved: no group to check",
                        "decided_by": None}, None
    engines = sorted({r.engine for _, r in found})
    by_z3 = sum(1 for _, r in found if r.engine == "z3")
    reason = (found[0][1].reason if len(found) == 1 else
              f"every fair run settles in each of the {len(found)} components: "
              f"{by_z3} proved by a ranking function (z3), {len(found) - by_z3} by the "
              "explicit engine's liveness check")
    return HOLDS, {"verdict": HOLDS, "reason": reason, "decided_by": ", ".join(engines),
                   "states": sum(r.states for _, r in found)}, None


def _trace(model: Model, actions: tuple[Action, ...]) -> list[dict[str, Any]]:
    return [{"step": i + 1, "action": action_dict(model, a), "text": describe(model, a)}
            for i, a in enumerate(actions)]


def _component_dict(topology: Topology, part: _Part) -> dict[str, Any]:
    o = part.outcome
    return {
        "groups": [topology.groups[g].name for g in part.groups],
        "reused_from": list(part.reused_from) if part.reused_from else None,
        "nodes": part.nodes_proved,
        "seconds": round(o.seconds, 3),
        "queries": o.queries,
        "bmc_depth": o.bmc_depth,
        "strengthening": len(o.strengthening),
        "dropped": dict(o.dropped),
        "ranking_levels": len(o.ranking) or None,
        "liveness": ({"verdict": o.liveness.verdict, "reason": o.liveness.reason,
                      "decided_by": o.liveness.engine if o.liveness.verdict != UNKNOWN
                      else None} if o.liveness is not None else None),
    }


__all__ = ["CoverageReport", "Fact", "ProofOptions", "explain_coverage",
           "prove"]
