"""The symbolic engine on the examples: every safe example is proved for all interleavings
(liveness by a ranking function, and the verdict says so), every broken one is caught
with a real, shortest run — flapping.crg's livelock with a fair lasso that z3 found."""

from __future__ import annotations

import pytest
from checker_helpers import EXAMPLES, proof_of_example

from crg import files
from crg.checker.symbolic.api import ProofOptions, SymbolicReport, prove
from crg.spec import INVARIANT_NAMES, STATE_INVARIANTS, Model
from crg.spec.present.modes import parse_action

SAFE = sorted(p.name for p in EXAMPLES.glob("*.crg"))
BROKEN = {
    # file: {invariant: shortest run (steps of any kind)}
    "no-standby.crg": {"coverage": 1},
    "two-down.crg": {"coverage": 2},
    "no-fencing.crg": {"vip-unique": 6, "app-exclusive": 8, "vip-held": 10},
    "flapping.crg": {"vip-held (liveness)": 11},
}
LIVENESS = "vip-held (liveness)"


def _prove(path: str) -> SymbolicReport:
    return proof_of_example(path)


TWO_DOWN = pytest.mark.xdist_group("two-down")
"""two-down.crg's proof is read by two tests: they share it, in one process."""
RAC = pytest.mark.xdist_group("rac")
"""rac.crg's proof is read here and by tests/checker/test_symbolic_compose.py."""


def test_every_broken_example_is_listed() -> None:
    assert {p.name for p in (EXAMPLES / "broken").glob("*.crg")} == set(BROKEN)


@pytest.mark.parametrize("name", [pytest.param(n, marks=RAC) if n == "rac.crg" else n
                                  for n in SAFE])
def test_safe_example_is_proved(name: str) -> None:
    result = _prove(str(EXAMPLES / name))
    assert set(result.verdicts) == {*INVARIANT_NAMES, LIVENESS}
    assert result.verdicts == {k: "holds" for k in (*INVARIANT_NAMES, LIVENESS)}
    liveness = result.details["invariants"][LIVENESS]
    assert liveness["decided_by"] == "z3"
    assert "ranking function" in liveness["reason"]
    assert all(c["liveness"]["verdict"] == "holds" for c in result.details["components"])
    assert result.details["internal_errors"] == []


@pytest.mark.parametrize("name", [pytest.param(n, marks=TWO_DOWN) if n == "two-down.crg"
                                  else n for n in sorted(BROKEN)])
def test_broken_example_is_caught(name: str) -> None:
    path = str(EXAMPLES / "broken" / name)
    result = _prove(path)
    violated = {k: len(result.details["invariants"][k]["trace"])
                for k, v in result.verdicts.items() if v == "violated"}
    assert violated == BROKEN[name]
    assert result.details["internal_errors"] == []
    # Nothing is left undecided.
    assert "unknown" not in result.verdicts.values()
    # Each state-invariant run is a run of the whole configuration too (the other groups
    # simply stay idle), and the whole model reports the invariant broken at its end.
    config = files.load(path)
    model = Model.from_config(config)
    settled = {i.name for i in STATE_INVARIANTS if i.sort == "quiescent"}
    for invariant in violated:
        info = result.details["invariants"][invariant]
        state = model.initial()
        for step in info["trace"]:
            state = model.apply(state, parse_action(model, step["action"]))
        group = model.topology.group_index(info["group"])
        if invariant == LIVENESS:
            # the lasso returns to its loop's first state, by system steps only
            loop = info["loop"]
            replayed = [model.initial()]
            for step in info["trace"]:
                replayed.append(model.apply(replayed[-1], parse_action(model, step["action"])))
            assert replayed[-1] == replayed[loop]
            assert all(step["action"]["system"] for step in info["trace"][loop:])
        elif invariant not in settled:
            assert (invariant, group) in model.state_problems(state, False)


def test_the_livelock_is_found_by_z3() -> None:
    # the loop is longer than the default bound of the lasso search (8 steps)
    result = prove(files.load(str(EXAMPLES / "broken" / "flapping.crg")),
                   ProofOptions(facts=False, lasso_depth=12))
    info = result.details["invariants"][LIVENESS]
    assert info["decided_by"] == "z3"
    assert info["reason"].startswith("a fair lasso found by z3: 1 step to the loop, then a "
                                     "loop of 10 steps")
    assert info["loop"] == 1 and info["kind"] == "liveness"


@TWO_DOWN
def test_the_report_reads_well() -> None:
    text = _prove(str(EXAMPLES / "broken" / "two-down.crg")).render_text()
    assert "coverage" in text and "violated" in text
    assert "crash n1" in text and "crash n2" in text
