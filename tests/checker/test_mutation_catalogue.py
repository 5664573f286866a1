"""The mutation harness's catalogue is complete and still true (checker/mutation).

Every slip the harness generates from the rules as they are now must be listed; every
caught one must still be caught, on the configuration recorded for it, by the invariant
recorded for it; every equivalent one must carry its reason and still change nothing on
the harness's small configurations. A changed rule changes its mutants' names, so this
fails until ``python3 benchmarks/mutation_score.py --update`` has judged them again.
"""

from __future__ import annotations

import pytest
from checker_helpers import EXAMPLES

from crg.checker.mutation import catalogue
from crg.checker.mutation.judge import baseline, harness_configs, same_system, violations
from crg.checker.mutation.operators import Mutant, mutants
from crg.checker.mutation.world import entry_points, originals

MUTANTS = {m.ident: m for m in mutants(originals(), entry_points())}
ENTRIES = catalogue.load()
CONFIGS = dict(harness_configs(EXAMPLES))
PER_MODULE = 2
"""Caught mutants replayed per rule module (the first by identity: a digest, so the sample
is fixed for given rules and still spread over each module's functions)."""
EQUIVALENT_SAMPLE = 4
MAX_SURVIVORS = 0
"""The known survivors' count when the catalogue was last judged: none since the
enabledness invariants (``events-enabled``, ``commands-accepted``)."""
ENABLEDNESS = ("events-enabled", "commands-accepted")


def test_every_mutant_of_the_rules_is_in_the_catalogue() -> None:
    missing = sorted(set(MUTANTS) - set(ENTRIES))
    stale = sorted(set(ENTRIES) - set(MUTANTS))
    assert not missing and not stale, (
        f"{len(missing)} new mutants (e.g. {missing[:3]}) and {len(stale)} stale entries "
        f"(e.g. {stale[:3]}): run python3 benchmarks/mutation_score.py --missing --update")


def test_every_equivalent_and_every_known_survivor_says_why() -> None:
    assert {e.outcome for e in ENTRIES.values()} <= {"caught", "refused", "equivalent",
                                                       "survived"}
    silent = [i for i, e in ENTRIES.items()
              if e.outcome in ("equivalent", "survived") and not e.reason]
    assert not silent, f"equivalent or surviving mutants without their reason: {silent[:5]}"


def test_known_survivors_are_a_small_share() -> None:
    # The catalogue lists the gaps the invariants still have (benchmarks/README.md); this
    # keeps them from growing unnoticed while they wait for their properties.
    survived = sum(e.outcome == "survived" for e in ENTRIES.values())
    changed = sum(e.outcome != "equivalent" for e in ENTRIES.values())
    assert survived <= MAX_SURVIVORS, f"{survived} survivors of {changed} slips"


def _sample(outcome: str, per_module: int) -> list[tuple[Mutant, catalogue.Entry]]:
    chosen = sorted((i, e) for i, e in ENTRIES.items() if e.outcome == outcome and i in MUTANTS)
    taken: dict[str, int] = {}
    out = []
    for ident, entry in chosen:
        module = MUTANTS[ident].module
        if taken.get(module, 0) < per_module:
            taken[module] = taken.get(module, 0) + 1
            out.append((MUTANTS[ident], entry))
    return out


@pytest.mark.parametrize(("mutant", "entry"), _sample("caught", PER_MODULE),
                         ids=lambda x: x.ident if isinstance(x, Mutant) else "")
def test_caught_mutants_are_still_caught(mutant: Mutant, entry: catalogue.Entry) -> None:
    assert entry.config is not None
    config = CONFIGS[entry.config]
    known = baseline(config)
    found = [v for v in violations(mutant, config, bool(known)) if v not in known]
    assert entry.invariant in found, (f"{mutant.description}: expected {entry.invariant} "
                                      f"on {entry.config}, found {found}")


def _enabledness_sample() -> list[tuple[Mutant, catalogue.Entry]]:
    # One slip per rule function whose narrowing only an enabledness invariant sees: a
    # guard that refuses more must keep failing the invariant that says it may not.
    seen: set[str] = set()
    out = []
    for ident, entry in sorted(ENTRIES.items()):
        function = ident.split(":")[0]
        if entry.invariant in ENABLEDNESS and ident in MUTANTS and function not in seen:
            seen.add(function)
            out.append((MUTANTS[ident], entry))
    return out


@pytest.mark.parametrize(("mutant", "entry"), _enabledness_sample(),
                         ids=lambda x: x.ident if isinstance(x, Mutant) else "")
def test_narrowed_guards_are_caught_by_the_enabledness_invariants(
        mutant: Mutant, entry: catalogue.Entry) -> None:
    test_caught_mutants_are_still_caught(mutant, entry)


def test_refused_mutants_are_still_refused() -> None:
    for mutant, entry in _sample("refused", PER_MODULE):
        assert entry.config is not None
        with pytest.raises(Exception):  # noqa: B017 - any failure of the model is the verdict
            violations(mutant, CONFIGS[entry.config], False)


def test_equivalent_mutants_change_nothing_on_the_smallest_configuration() -> None:
    smallest = CONFIGS["blocked"]
    every = _sample("equivalent", len(ENTRIES))
    stride = max(1, len(every) // EQUIVALENT_SAMPLE)
    for mutant, _ in every[::stride][:EQUIVALENT_SAMPLE]:
        assert same_system(mutant, smallest), mutant.ident
