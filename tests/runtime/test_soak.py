"""The randomized fault soak (tests/runtime/soak.py) in the suite: about three minutes of
application kills, node crashes and joins, switchovers, drains and offline mode against
``crg run``, with no double holder, a conforming trace and nothing left running. The
seed is printed; ``CRG_SOAK_SEED=N`` replays it, ``CRG_SOAK_SECONDS`` changes the length
(benchmarks/runtime_soak.py runs it longer and records the figures)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from soak import seed_from_environment, soak

SECONDS = float(os.environ.get("CRG_SOAK_SECONDS", "60"))


@pytest.mark.slow
@pytest.mark.timeout(SECONDS + 300)
def test_random_faults_never_make_a_double_holder(tmp_path: Path) -> None:
    report = soak(tmp_path, SECONDS, seed_from_environment())
    print(report)  # shown with -s, and by pytest when a later assertion fails
    done = report.operations
    assert sum(done.values()) >= SECONDS / 5, report
    assert done.get("kill-app", 0) > 0 and done.get("switchover", 0) > 0, report
    assert report.events.get("fault", 0) > 0 and report.events.get("service-up", 0) > 3


def test_the_seed_to_replay_is_read_or_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRG_SOAK_SEED", "4087129645")
    assert seed_from_environment() == 4087129645
    monkeypatch.setenv("CRG_SOAK_SEED", "")
    assert seed_from_environment() is None
    monkeypatch.setenv("CRG_SOAK_SEED", "0x2a")  # once silently replaced by a new seed
    with pytest.raises(ValueError, match="CRG_SOAK_SEED='0x2a'"):
        seed_from_environment()
