"""A safety invariant z3 cannot settle is decided, for a small component, by the explicit
search the symbolic engine runs anyway for liveness; a large one stays ``unknown``."""

from __future__ import annotations

from checker_helpers import G, explicit, make_config

from crg.checker.symbolic.api import ProofOptions, prove

# Two groups that avoid each other on two nodes, and no event ever possible: z3's
# auxiliary invariants do not say that nothing moves, so normal-mode is not inductive.
QUIET = make_config(2, [G("g0", "n1", ("n2",), "manual", avoid=("g1",)),
                        G("g1", "n2", ("n1",), avoid=("g0",))], down=0, faults="crash")


def test_z3_alone_leaves_it_open() -> None:
    result = prove(QUIET, ProofOptions(facts=False, liveness_states=0))
    assert result.verdicts["normal-mode"] == "unknown"


def test_the_explicit_search_decides_it_and_says_so() -> None:
    result = prove(QUIET, ProofOptions(facts=False))
    assert set(result.verdicts.values()) == {"holds"}
    info = result.details["invariants"]["normal-mode"]
    # z3 proves it for g1 (failback auto), the explicit search for g0
    assert info["decided_by"] == "explicit, z3"
    states = explicit(QUIET).states
    assert f"no violation in all {states:,} reachable states" in info["reason"]
    assert result.details["invariants"]["vip-unique"]["decided_by"] == "z3"


def test_a_component_beyond_the_cap_stays_open() -> None:
    result = prove(QUIET, ProofOptions(facts=False, liveness_states=5))
    assert result.verdicts["normal-mode"] == "unknown"
