"""Seeded bugs are caught by the symbolic engine: one rule of ``crg.spec.actions.KINDS`` is
swapped for a mutant before anything is built, and the engine must report the invariant it
breaks as *violated*, with a run that the (equally mutated) concrete model replays. The
engine can fail, and a counterexample to induction alone never makes a violation."""

from __future__ import annotations

import dataclasses

import pytest
from checker_helpers import G, make_config

from crg.checker.symbolic.api import ProofOptions, prove
from crg.dsl import Config
from crg.spec import KINDS, ActionKind
from crg.spec.derived import (
    View,
    app_wanted,
    has_owner,
    holds,
    moving,
    owned,
    placement,
    switching_disabled,
    up,
)
from crg.spec.rules_run import Step
from crg.spec.variables import GroupVars

FAILOVER = make_config(2, [G("a", "n1", ("n2",))])
OPTIONS = ProofOptions(facts=False, bmc_depth=16)


def mutate(monkeypatch: pytest.MonkeyPatch, kind: ActionKind, rule: object) -> None:
    monkeypatch.setitem(KINDS, kind, dataclasses.replace(KINDS[kind], rule=rule))


def violated(config: Config) -> set[str]:
    result = prove(config, OPTIONS)
    assert result.details["internal_errors"] == []
    return {k for k, v in result.verdicts.items() if v == "violated"}


def test_the_unmutated_rules_are_proved() -> None:
    result = prove(FAILOVER, OPTIONS)
    assert {v for k, v in result.verdicts.items() if "liveness" not in k} == {"proved"}


def test_claim_while_someone_owns_it(monkeypatch: pytest.MonkeyPatch) -> None:
    def claim(v: View, n: int) -> Step:
        a = v.a
        guard = a.and_(a.eq(placement(v), a.add(n, 1)), up(v, n), a.not_(owned(v, n)))
        return guard, v.g._replace(owner=a.add(n, 1), restarts=a.const(0))

    mutate(monkeypatch, ActionKind.CLAIM, claim)
    assert "vip-unique" in violated(FAILOVER)


def test_skip_the_last_node_alert(monkeypatch: pytest.MonkeyPatch) -> None:
    def alert(v: View, n: int) -> Step:
        return v.a.false, v.g

    mutate(monkeypatch, ActionKind.ALERT, alert)
    assert "last-node-alert" in violated(FAILOVER)


def test_notify_up_before_the_monitors(monkeypatch: pytest.MonkeyPatch) -> None:
    def notify_up(v: View, n: int) -> Step:
        a, g = v.a, v.g
        guard = a.and_(app_wanted(v, n), up(v, n), a.bit(g.vip, n), a.bit(g.app, n),
                       a.not_(g.announced))
        return guard, g._replace(announced=a.true)

    mutate(monkeypatch, ActionKind.NOTIFY_UP, notify_up)
    assert "notify" in violated(FAILOVER)


def test_fail_over_to_the_wrong_node(monkeypatch: pytest.MonkeyPatch) -> None:
    def claim(v: View, n: int) -> Step:
        a = v.a
        last = a.first([(up(v, c), a.const(c + 1)) for c in reversed(v.topo.candidates)],
                       a.const(0))
        guard = a.and_(a.not_(has_owner(v)), a.eq(last, a.add(n, 1)), up(v, n))
        return guard, v.g._replace(owner=a.add(n, 1), restarts=a.const(0))

    mutate(monkeypatch, ActionKind.CLAIM, claim)
    assert "failover-order" in violated(make_config(3, [G("a", "n1", ("n2", "n3"))]))


def test_halt_without_stopping_the_monitors_first(monkeypatch: pytest.MonkeyPatch) -> None:
    def stop_app(v: View, n: int) -> Step:
        a, g = v.a, v.g
        guard = a.and_(owned(v, n), up(v, n), a.bit(g.app, n), moving(v))
        return guard, g._replace(app=a.with_bit(g.app, n, a.false), failed=a.false,
                                 wd=a.with_bit(g.wd, n, a.true))

    mutate(monkeypatch, ActionKind.STOP_APP, stop_app)
    assert "run-order" in violated(FAILOVER)


def test_alert_on_a_node_with_standbys(monkeypatch: pytest.MonkeyPatch) -> None:
    def alert(v: View, n: int) -> Step:
        a, g = v.a, v.g
        guard = a.and_(owned(v, n), up(v, n), a.not_(switching_disabled(v)),
                       a.not_(g.alerted))
        return guard, g._replace(alerted=a.true)

    mutate(monkeypatch, ActionKind.ALERT, alert)
    assert "last-node-alert" in violated(FAILOVER)


def test_give_ownership_up_while_holding_the_vip(monkeypatch: pytest.MonkeyPatch) -> None:
    # The auxiliary invariant stack-on-owner breaks first; the engine must not stop at
    # that counterexample to induction but find the real runs.
    def release_ownership(v: View, n: int) -> Step:
        a, g = v.a, v.g
        guard = a.and_(owned(v, n), up(v, n), moving(v), a.not_(a.bit(g.app, n)),
                       a.not_(g.announced))
        after: GroupVars = g._replace(owner=a.const(0), restarts=a.const(0), failed=a.false)
        return guard, after

    mutate(monkeypatch, ActionKind.RELEASE_OWNERSHIP, release_ownership)
    found = violated(FAILOVER)
    assert {"vip-unique", "halt-order"} <= found


def test_watchdog_that_never_cleans(monkeypatch: pytest.MonkeyPatch) -> None:
    # Leftovers stay on a node the group left: with the release guard also loosened, a
    # VIP is left behind, and nothing removes it.
    def watchdog_clean(v: View, n: int) -> Step:
        return v.a.false, v.g

    def release_ownership(v: View, n: int) -> Step:
        a, g = v.a, v.g
        guard = a.and_(owned(v, n), up(v, n), moving(v), a.not_(a.bit(g.mon, n)),
                       a.not_(a.bit(g.app, n)), a.not_(g.announced))
        return guard, g._replace(owner=a.const(0), restarts=a.const(0), failed=a.false,
                                 wd=a.with_bit(g.wd, n, holds(v, n)))

    mutate(monkeypatch, ActionKind.WATCHDOG_CLEAN, watchdog_clean)
    mutate(monkeypatch, ActionKind.RELEASE_OWNERSHIP, release_ownership)
    assert "vip-unique" in violated(FAILOVER)
