"""A safety invariant z3 cannot settle is decided, for a small component, by the explicit
search the symbolic engine runs anyway for liveness; a large one stays ``unknown``.

z3 settles every safety invariant of the small configurations tried here, so the test
takes one of its auxiliary invariants away (the one saying a group's owner is a live
candidate): without it the failover order is not inductive, and the explicit search has
to decide it."""

from __future__ import annotations

import pytest
from checker_helpers import G, explicit, make_config

from crg.checker.symbolic import auxiliary, conjuncts
from crg.checker.symbolic.api import ProofOptions, prove

# Two groups that avoid each other on two nodes, and no event ever possible.
QUIET = make_config(2, [G("g0", "n1", ("n2",), avoid=("g1",)),
                        G("g1", "n2", ("n1",), avoid=("g0",))], down=0, faults="crash")


@pytest.fixture(autouse=True)
def weaker_z3(monkeypatch: pytest.MonkeyPatch) -> None:
    kept = tuple(a for a in auxiliary.GROUP_AUXILIARIES if a.name != "owner-live-candidate")
    assert len(kept) == len(auxiliary.GROUP_AUXILIARIES) - 1
    monkeypatch.setattr(conjuncts, "GROUP_AUXILIARIES", kept)


def test_z3_alone_leaves_it_open() -> None:
    result = prove(QUIET, ProofOptions(facts=False, liveness_states=0))
    assert result.verdicts["failover-order"] == "unknown"


def test_the_explicit_search_decides_it_and_says_so() -> None:
    result = prove(QUIET, ProofOptions(facts=False))
    assert set(result.verdicts.values()) == {"holds"}
    info = result.details["invariants"]["failover-order"]
    assert "explicit" in info["decided_by"]
    states = explicit(QUIET).states
    assert f"no violation in all {states:,} reachable states" in info["reason"]
    assert result.details["invariants"]["vip-unique"]["decided_by"] == "z3"


def test_a_component_beyond_the_cap_stays_open() -> None:
    result = prove(QUIET, ProofOptions(facts=False, liveness_states=5))
    assert result.verdicts["failover-order"] == "unknown"
