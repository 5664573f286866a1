"""The symbolic engine on the examples: every safe example is proved for all interleavings
(liveness is left to the explicit engine and says so), every broken one is caught with a
real, shortest run — except flapping.crg, whose only fault is a livelock."""

from __future__ import annotations

import pytest
from checker_helpers import EXAMPLES

from crg import files
from crg.checker.symbolic.api import ProofOptions, ProofResult, prove
from crg.spec import INVARIANT_NAMES, STATE_INVARIANTS, Model
from crg.spec.view import parse_action

SAFE = sorted(p.name for p in EXAMPLES.glob("*.crg"))
BROKEN = {
    # file: {invariant: shortest run (steps of any kind)}
    "no-standby.crg": {"coverage": 1},
    "two-down.crg": {"coverage": 2},
    "no-fencing.crg": {"vip-unique": 6, "app-exclusive": 8, "vip-held": 10},
    "crowded-preferred.crg": {"normal-mode": 10},
    "flapping.crg": {},
}
LIVENESS = "vip-held (liveness)"


def _prove(path: str) -> ProofResult:
    return prove(files.load(path), ProofOptions(facts=False))


def test_every_broken_example_is_listed() -> None:
    assert {p.name for p in (EXAMPLES / "broken").glob("*.crg")} == set(BROKEN)


@pytest.mark.parametrize("name", SAFE)
def test_safe_example_is_proved(name: str) -> None:
    result = _prove(str(EXAMPLES / name))
    assert set(result.verdicts) == {*INVARIANT_NAMES, LIVENESS}
    assert {k: v for k, v in result.verdicts.items() if k != LIVENESS} == {
        k: "proved" for k in INVARIANT_NAMES}
    assert result.verdicts[LIVENESS] == "unknown"
    assert "explicit engine" in result.details["invariants"][LIVENESS]["reason"]
    assert result.details["internal_errors"] == []


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_broken_example_is_caught(name: str) -> None:
    path = str(EXAMPLES / "broken" / name)
    result = _prove(path)
    violated = {k: len(result.details["invariants"][k]["trace"])
                for k, v in result.verdicts.items() if v == "violated"}
    assert violated == BROKEN[name]
    assert result.details["internal_errors"] == []
    # No invariant is left undecided; liveness is not the symbolic engine's.
    assert {k for k, v in result.verdicts.items() if v == "unknown"} == {LIVENESS}
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
        if invariant not in settled:
            assert (invariant, group) in model.state_problems(state, False)


def test_the_report_reads_well() -> None:
    text = _prove(str(EXAMPLES / "broken" / "two-down.crg")).render_text()
    assert "coverage" in text and "violated" in text
    assert "crash n1" in text and "crash n2" in text
