"""What happens to a mutant: which invariant catches it, on which configuration — or, for
one that nothing catches, whether it is a slip at all.

A mutant is *caught* when ``crg check``'s explicit engine reports an invariant violated on
one of the harness's configurations (tried smallest first, the examples last) that the
unmutated rules do not violate there (a configuration may go beyond its own assumption on
purpose, to see what the rules do there). One that
breaks the model itself (a state it cannot represent, an exception) is *refused*. One that
passes every configuration is *equivalent* when its reachable transition system is the
original's on every one of them — the same states and the same labelled transitions,
compared as sets (states are canonical packed integers, so equal sets are the same
graph) — and a *survivor* otherwise: a behaviour change that no invariant sees.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from crg.checker.api import check
from crg.checker.components import components
from crg.checker.mutation.operators import Mutant
from crg.checker.mutation.world import installed
from crg.checker.options import Engine, Options
from crg.dsl import Config, load
from crg.spec import Model, Topology

CONFIGS = Path(__file__).parent / "configs"
HARNESS_CONFIGS = ("blocked", "nofence", "pair", "partition", "avoid", "instance", "stranded",
                   "chain", "fenced", "cutoff", "spread", "kept", "banned",
                   "instance-avoid", "cycle", "maintained", "twice-out", "down-in-maintenance",
                   "instance-manual", "lone-node")
"""The harness's own configurations, small first (each a few thousand states)."""

EQUIVALENCE_STATES = 200_000
"""Largest transition system compared for equivalence, per configuration."""


@dataclass(frozen=True, slots=True)
class Verdict:
    outcome: str
    """``caught``, ``refused``, ``equivalent`` or ``survived``."""
    config: str | None = None
    """The configuration that caught or refused it."""
    invariant: str | None = None
    """The property reported (caught), or the error (refused)."""
    seconds: float = 0.0


def harness_configs(examples: Path | None = None) -> list[tuple[str, Config]]:
    """(name, config): the harness's own, then the examples (if a folder is given)."""
    out = [(name, load(str(CONFIGS / f"{name}.crg"))) for name in HARNESS_CONFIGS]
    if examples is not None:
        out += [(f"examples/{p.name}", load(str(p))) for p in sorted(examples.glob("*.crg"))]
    return out


def judging_options(keep_going: bool = False) -> Options:
    """``crg check``'s explicit search as the judge runs it: in this process, where the
    mutant is installed (a worker process would build its model from the original
    rules), and over every interleaving (the reduction reads its dependencies off the
    rules, and removes nothing on these configurations anyway: SPEC.md section 11)."""
    return Options(engine=Engine.EXPLICIT, keep_going=keep_going, jobs=1, reduction=False)


def violations(mutant: Mutant | None, config: Config, every: bool) -> list[str]:
    """The properties ``crg check`` reports violated with ``mutant`` installed, shortest
    counterexample first (``every``: search on after the first violation)."""
    with installed(mutant):
        report = check(config, judging_options(keep_going=every))
    found = sorted(report.violations, key=lambda v: (v.failures, v.trace.length,
                                                      v.prop.label))
    return [v.prop.label for v in found]


_BASELINES: dict[int, tuple[Config, frozenset[str]]] = {}


def baseline(config: Config) -> frozenset[str]:
    """What the unmutated rules violate on ``config`` (a configuration beyond its own
    assumptions shows what the rules do there; only a *new* violation catches a mutant)."""
    cached = _BASELINES.get(id(config))
    if cached is None or cached[0] is not config:
        cached = _BASELINES[id(config)] = (config, frozenset(violations(None, config, True)))
    return cached[1]


def judge(mutant: Mutant, configs: Sequence[tuple[str, Config]],
          equivalence: bool = True) -> Verdict:
    started = time.perf_counter()
    for name, config in configs:
        known = baseline(config)
        try:
            found = [v for v in violations(mutant, config, bool(known)) if v not in known]
        except Exception as exc:  # the mutated rules broke the model: that is the verdict
            return Verdict("refused", name, f"{type(exc).__name__}: {exc}"[:200],
                           time.perf_counter() - started)
        if found:
            return Verdict("caught", name, found[0], time.perf_counter() - started)
    # Equivalence on the harness's own configurations, built to reach every rule: the
    # examples' systems without symmetry are many times larger and add no rule to reach.
    if equivalence and all(same_system(mutant, config) for name, config in configs
                           if not name.startswith("examples/")):
        return Verdict("equivalent", seconds=time.perf_counter() - started)
    return Verdict("survived", seconds=time.perf_counter() - started)


def transition_system(mutant: Mutant | None,
                      config: Config) -> list[set[tuple[int, int, int]]]:
    """Per component of interacting groups (the checker's composition, SPEC.md section
    11), every reachable (state, action, next state), actions numbered by kind, group and
    node; no symmetry reduction."""
    out = []
    with installed(mutant):
        topology = Topology.from_config(config)  # with a slip of the placement order
        for part in components(topology):
            model = Model(topology.restrict(part))
            start = model.initial()
            seen, queue = {start}, deque([start])
            edges: set[tuple[int, int, int]] = set()
            while queue:
                state = queue.popleft()
                for action, after in model.successors(state):
                    code = (action.kind.value * 64 + action.group + 1) * 64 + action.node + 1
                    edges.add((state, code, after))
                    if after not in seen:
                        if len(seen) >= EQUIVALENCE_STATES:
                            raise RuntimeError(f"more than {EQUIVALENCE_STATES} states")
                        seen.add(after)
                        queue.append(after)
            out.append(edges)
    return out


_ORIGINAL_SYSTEMS: dict[int, tuple[Config, list[set[tuple[int, int, int]]]]] = {}


def same_system(mutant: Mutant, config: Config) -> bool:
    cached = _ORIGINAL_SYSTEMS.get(id(config))
    if cached is None or cached[0] is not config:
        cached = _ORIGINAL_SYSTEMS[id(config)] = (config, transition_system(None, config))
    return transition_system(mutant, config) == cached[1]
