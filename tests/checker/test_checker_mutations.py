"""Seeded bugs in the rules are caught, each by the invariant it breaks: the checker can
fail. Each test swaps one rule of ``crg.spec.actions.KINDS`` for a mutant (written, like
the rules, in the algebra) before the model is built from it."""

from __future__ import annotations

import dataclasses

import pytest
from checker_helpers import G, make_config

from crg.checker.api import CheckOptions, run_check
from crg.checker.result import CheckReport
from crg.dsl import Config
from crg.spec import KINDS, ActionKind
from crg.spec.derived import (
    View,
    app_wanted,
    has_owner,
    moving,
    owned,
    placement,
    switching_disabled,
    up,
)
from crg.spec.rules_run import Step
from crg.spec.variables import GroupVars

FAILOVER = make_config(2, [G("a", "n1", ("n2",))])


def mutate(monkeypatch: pytest.MonkeyPatch, kind: ActionKind, rule: object) -> None:
    monkeypatch.setitem(KINDS, kind, dataclasses.replace(KINDS[kind], rule=rule))


def violated(config: Config) -> dict[str, int]:
    report: CheckReport = run_check(config, CheckOptions(symmetry=False))
    return {v.prop.label: v.trace.length for v in report.violations}


def test_the_unmutated_rules_hold() -> None:
    assert violated(FAILOVER) == {}


def test_claim_while_someone_owns_it(monkeypatch: pytest.MonkeyPatch) -> None:
    # A node takes the group over while the old owner still holds it: the VIP is on two
    # nodes (failback to n1 while n2 still runs it).
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
    # Claim on the last live candidate instead of the first.
    def claim(v: View, n: int) -> Step:
        a = v.a
        last = a.first([(up(v, c), a.const(c + 1)) for c in reversed(v.topo.candidates)],
                       a.const(0))
        guard = a.and_(a.not_(has_owner(v)), a.eq(last, a.add(n, 1)), up(v, n))
        return guard, v.g._replace(owner=a.add(n, 1), restarts=a.const(0))

    mutate(monkeypatch, ActionKind.CLAIM, claim)
    config = make_config(3, [G("a", "n1", ("n2", "n3"))])
    assert "failover-order" in violated(config)


def test_release_the_vip_while_staying(monkeypatch: pytest.MonkeyPatch) -> None:
    # The VIP may be released although the group is not leaving: acquire and release
    # chase each other forever (a livelock, found as a fair lasso).
    def release_vip(v: View, n: int) -> Step:
        a, g = v.a, v.g
        guard = a.and_(owned(v, n), up(v, n), a.bit(g.vip, n), a.not_(a.bit(g.app, n)),
                       a.not_(a.bit(g.mon, n)), a.not_(g.announced))
        after: GroupVars = g._replace(vip=a.with_bit(g.vip, n, a.false))
        return guard, after

    mutate(monkeypatch, ActionKind.RELEASE_VIP, release_vip)
    found = violated(FAILOVER)
    assert found.get("vip-held (liveness)") == 3


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
