"""Seeded bugs in the rules (``mutants.py``) are caught by the explicit engine, each under
the invariant it breaks: the checker can fail."""

from __future__ import annotations

import pytest
from checker_helpers import G, explicit, make_config
from mutants import FAILOVER, MUTANTS, Mutant

from crg.checker.result import CheckReport
from crg.dsl import Config


def violated(config: Config) -> dict[str, int]:
    """Property label → length of its shortest trace, for every violated property."""
    report: CheckReport = explicit(config, symmetry=False)
    return {v.prop.label: v.trace.length for v in report.violations}


def test_the_unmutated_rules_hold() -> None:
    assert violated(FAILOVER) == {}
    assert violated(make_config(3, [G("a", "n1", ("n2", "n3"))])) == {}


@pytest.mark.parametrize("mutant", MUTANTS, ids=lambda m: m.name)
def test_a_seeded_bug_is_caught(mutant: Mutant, monkeypatch: pytest.MonkeyPatch) -> None:
    mutant.apply(monkeypatch)
    found = violated(mutant.config)
    assert mutant.breaks <= found.keys(), f"found only {sorted(found)}"
    for label, length in mutant.lengths.items():
        assert found[label] == length
