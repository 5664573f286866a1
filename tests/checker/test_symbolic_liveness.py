"""Liveness in the symbolic engine: a ranking function proves it where the rules give one
(and never for a livelock), z3's lasso search respects the explicit engine's fairness, its
lassos are replayed before they are believed, what neither decides a small component's
explicit check does, and a large one stays ``unknown`` with the reason."""

from __future__ import annotations

import dataclasses
import time

import pytest
from checker_helpers import EXAMPLES, explicit, liveness_proved_by_z3, strengthened
from mutants import FAILOVER, LIVENESS

from crg import files
from crg.checker import Engine, Options, Status, check
from crg.checker.symbolic import lasso
from crg.checker.symbolic.api import ProofOptions, prove
from crg.checker.symbolic.component import STOPPED
from crg.checker.symbolic.encoding import Encoding
from crg.checker.symbolic.ranking import find_ranking
from crg.checker.symbolic.replay import ReplayError
from crg.spec import KINDS, Action, ActionKind, Model, Topology
from crg.spec.rules.run import Step
from crg.spec.rules.view import View, owned, up

FLAPPING = str(EXAMPLES / "broken" / "flapping.crg")


def _noop_on_owner(v: View, n: int) -> Step:
    # A seeded bug: a step that changes nothing is always enabled on the owner, so the
    # cluster never settles. Right after the claim, acquire-vip is enabled all along a
    # loop of it and never taken: unfair. Once the group runs, the no-op alone is
    # enabled: a fair loop.
    a = v.a
    return a.and_(owned(v, n), up(v, n)), v.g


@pytest.fixture
def noop(monkeypatch: pytest.MonkeyPatch) -> None:
    kind = ActionKind.WATCHDOG_RETIRE
    monkeypatch.setitem(KINDS, kind, dataclasses.replace(KINDS[kind], rule=_noop_on_owner))


def _lasso(topology: Topology, depth: int = 8) -> lasso.LassoSearch:
    return lasso.search(Encoding(topology), depth, 30_000, time.perf_counter() + 120)


@pytest.mark.usefixtures("noop")
def test_the_lasso_search_is_fair() -> None:
    topology = Topology.from_config(FAILOVER)
    found = _lasso(topology).lasso
    assert found is not None
    # The whole start-up (claim, VIP, application, monitors, service up) comes first: a
    # loop of the no-op before its end would leave a start-up step continuously enabled.
    assert [a.kind for a in found.actions] == [
        ActionKind.CLAIM, ActionKind.ACQUIRE_VIP, ActionKind.START_APP,
        ActionKind.START_MONITORS, ActionKind.NOTIFY_UP, ActionKind.WATCHDOG_RETIRE]
    assert found.loop == 5
    model = Model(topology)
    lasso.confirm_lasso(model, found.actions, found.loop)
    # The unfair loop right after the claim is refused by the replay too.
    unfair = (Action(ActionKind.CLAIM, 0, 0), Action(ActionKind.WATCHDOG_RETIRE, 0, 0))
    with pytest.raises(ReplayError, match="not fair: acquire-vip"):
        lasso.confirm_lasso(model, unfair, 1)
    # And the explicit engine reports the same livelock.
    assert any(v.prop.label == LIVENESS for v in explicit(FAILOVER).violations)


@pytest.mark.usefixtures("noop")
def test_a_livelock_beyond_the_bound_is_not_found() -> None:
    found = _lasso(Topology.from_config(FAILOVER), depth=5)
    assert (found.lasso, found.stopped, found.searched) == (None, None, 5)


def test_confirm_refuses_what_is_not_a_lasso() -> None:
    topology = Topology.from_config(files.load(FLAPPING))
    found = _lasso(topology, depth=12).lasso
    assert found is not None
    model = Model(topology)
    lasso.confirm_lasso(model, found.actions, found.loop)
    with pytest.raises(ReplayError, match="does not return"):
        lasso.confirm_lasso(model, found.actions[:-1], found.loop)
    crash = Action(ActionKind.CRASH, -1, 1)
    with pytest.raises(ReplayError, match="environment event"):
        lasso.confirm_lasso(model, (*found.actions[:-1], crash), found.loop)
    with pytest.raises(ReplayError, match="no loop"):
        lasso.confirm_lasso(model, found.actions, len(found.actions))


def test_a_correct_config_has_no_lasso() -> None:
    found = _lasso(Topology.from_config(FAILOVER))
    assert found.lasso is None and found.searched == 8


def test_a_ranking_function_proves_it() -> None:
    info = liveness_proved_by_z3(FAILOVER)
    assert "decreases a ranking function" in info["reason"]
    assert info["components"][0]["ranking_levels"] >= 2


@pytest.mark.usefixtures("noop")
def test_no_ranking_function_for_a_livelock() -> None:
    # the seeded no-op is enabled for ever on the owner: nothing can rank it, and the
    # lasso search refutes liveness instead
    enc, prover = strengthened(FAILOVER)
    assert find_ranking(enc, prover, 60) is None


def test_no_ranking_function_for_the_flapping_ring() -> None:
    enc, prover = strengthened(files.load(FLAPPING))
    assert find_ranking(enc, prover, 60) is None


def test_a_large_component_stays_unknown() -> None:
    result = prove(FAILOVER, ProofOptions(facts=False, liveness_states=10, ranking=False))
    assert result.verdicts[LIVENESS] == "unknown"
    reason = result.details["invariants"][LIVENESS]["reason"]
    assert "no fair lasso within 8 steps (z3)" in reason
    assert "too large to enumerate (more than 10 states)" in reason


def test_a_small_component_is_decided_by_the_explicit_engine() -> None:
    result = prove(FAILOVER, ProofOptions(facts=False, ranking=False))
    assert result.verdicts[LIVENESS] == "holds"
    info = result.details["invariants"][LIVENESS]
    assert info["decided_by"] == "explicit"
    states = explicit(FAILOVER).states
    assert f"in all {states:,} reachable states" in info["reason"]


@pytest.mark.usefixtures("noop")
def test_the_explicit_engine_finds_what_z3_cannot_reach() -> None:
    result = prove(FAILOVER, ProofOptions(facts=False, lasso_depth=3))
    assert result.verdicts[LIVENESS] == "violated"
    info = result.details["invariants"][LIVENESS]
    assert info["decided_by"] == "explicit"
    assert "no fair lasso within 3 steps (z3)" in info["reason"]
    assert result.details["internal_errors"] == []



@pytest.mark.parametrize("keep_going", [False, True])
def test_liveness_waits_for_keep_going_after_a_violation(keep_going: bool) -> None:
    # two-down.crg: z3 finds coverage broken by two crashes; without --keep-going the
    # component's liveness is not looked for (as the explicit search stops at its first
    # violation), with it the ranking function proves it
    config = files.load(str(EXAMPLES / "broken" / "two-down.crg"))
    report = check(config, Options(engine=Engine.SYMBOLIC, keep_going=keep_going))
    assert report.status is Status.VIOLATED
    info = report.symbolic.details["invariants"][LIVENESS]
    if keep_going:
        assert info["verdict"] == "holds" and "ranking function" in info["reason"]
    else:
        assert info["verdict"] == "unknown" and info["reason"] == STOPPED
    assert report.symbolic.details["options"]["keep_going"] is keep_going
