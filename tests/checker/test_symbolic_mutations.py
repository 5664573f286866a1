"""Seeded bugs (``mutants.py``) are caught by the symbolic engine: it must report the
invariant each breaks as *violated*, with a run that the (equally mutated) concrete model
replays. The engine can fail, and a counterexample to induction alone never makes a
violation. A bug that breaks liveness must be caught by z3's own lasso search."""

from __future__ import annotations

import dataclasses

import pytest
from checker_helpers import G, make_config
from mutants import FAILOVER, MUTANTS, Mutant

from crg.checker.symbolic.api import ProofOptions, prove
from crg.dsl import Config

OPTIONS = ProofOptions(facts=False, bmc_depth=16)


def violated(config: Config) -> set[str]:
    result = prove(config, OPTIONS)
    assert result.details["internal_errors"] == []
    return {k for k, v in result.verdicts.items() if v == "violated"}


def test_the_unmutated_rules_are_proved() -> None:
    for config in (FAILOVER, make_config(3, [G("a", "n1", ("n2", "n3"))])):
        result = prove(config, OPTIONS)
        assert set(result.verdicts.values()) == {"holds"}


@pytest.mark.parametrize("mutant", MUTANTS, ids=lambda m: m.name)
def test_a_seeded_bug_is_caught(mutant: Mutant, monkeypatch: pytest.MonkeyPatch) -> None:
    mutant.apply(monkeypatch)
    # liveness_states=0: a livelock must be z3's find, not the explicit engine's
    result = prove(mutant.config, dataclasses.replace(OPTIONS, liveness_states=0))
    assert result.details["internal_errors"] == []
    found = {k for k, v in result.verdicts.items() if v == "violated"}
    assert mutant.breaks <= found, f"found only {sorted(found)}"
