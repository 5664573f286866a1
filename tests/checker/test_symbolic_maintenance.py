"""Maintenance in the symbolic engine: a configuration that explores it gets its proof
from z3. ``blocked`` (a blocked group runs no application) was left unknown there — a
blocked group in maintenance with its application running is quiescent, and nothing said
such a state is unreachable — until the auxiliary invariant
``banned-owner-stopped-in-maintenance`` said why; that fact is checked here on every
reachable state of a small configuration, not only proved by z3 (found by an outside
tester on three groups and three nodes, explicit search beyond 4 GB)."""

from __future__ import annotations

from collections import deque

import pytest
from checker_helpers import G, make_config

from crg.checker.symbolic import auxiliary, conjuncts
from crg.checker.symbolic.api import ProofOptions, prove
from crg.dsl import parse
from crg.spec import INVARIANT_NAMES, Model, Topology

TESTER = parse("""
cluster c2 {
  nodes n1 n2 n3
  assume faults crash, app-fault, switchover, drain, maintenance
}
defaults {
  app { start "sleep 100" }
  monitor process
  failback auto
}
group big { vip 127.0.6.1/8  preferred n1  possible n2, n3 }
group inst { kind instance  vip 127.0.6.2/8  preferred n1  possible n2  avoid big }
group other { vip 127.0.6.3/8  preferred n2  possible n1  avoid big }
""", "c2.crg")

AUXILIARY = "banned-owner-stopped-in-maintenance"


def _z3_alone() -> ProofOptions:
    return ProofOptions(facts=False, liveness_states=0)


def test_every_invariant_is_proved_by_z3() -> None:
    result = prove(TESTER, _z3_alone())
    assert result.verdicts == {k: "holds" for k in (*INVARIANT_NAMES, "vip-held (liveness)")}
    assert result.details["invariants"]["blocked"]["decided_by"] == "z3"


def test_without_the_auxiliary_blocked_is_left_open(monkeypatch: pytest.MonkeyPatch) -> None:
    kept = tuple(a for a in auxiliary.GROUP_AUXILIARIES if a.name != AUXILIARY)
    assert len(kept) == len(auxiliary.GROUP_AUXILIARIES) - 1
    monkeypatch.setattr(conjuncts, "GROUP_AUXILIARIES", kept)
    # A short bounded search and no liveness: only whether the proof goes through counts.
    quick = ProofOptions(facts=False, liveness_states=0, bmc_depth=4, max_k=1, ranking=False,
                         lasso_depth=1)
    assert prove(TESTER, quick).verdicts["blocked"] == "unknown"


def test_the_auxiliary_holds_on_every_reachable_state() -> None:
    # One group that a single fault bans on its only node (blocked), and maintenance.
    config = make_config(2, [G("g", "n1", ("n2",), restarts=0)], down=1,
                         faults="crash, app-fault, maintenance, switchover")
    model = Model(Topology.from_config(config))
    fact = next(a for a in auxiliary.GROUP_AUXILIARIES if a.name == AUXILIARY)
    seen = {model.initial()}
    todo = deque(seen)
    blocked_in_maintenance = 0
    while todo:
        state = todo.popleft()
        view = model.view(state, 0)
        assert fact.predicate(view, model.topology), state
        gv = model.group_vars(state, 0)
        blocked_in_maintenance += bool(gv.maintenance and gv.owner and gv.ban >> (gv.owner - 1) & 1)
        for _, after in model.successors(state):
            if after not in seen:
                seen.add(after)
                todo.append(after)
        assert len(seen) < 200_000, "the small configuration grew"
    assert blocked_in_maintenance > 0, "the case the fact is about was never reached"
