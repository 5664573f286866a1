"""Seeded bugs in the rules, shared by the tests of both engines: each mutant swaps one or
two rules of ``crg.spec.rules.registry.KINDS`` (written, like the rules, in the algebra) and names
the invariants the bug must be caught by. Both engines are held to the same catalogue, so
a bug one of them can find and the other cannot shows up as a failing test."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import pytest
from checker_helpers import G, make_config

from crg.dsl import Config
from crg.spec import KINDS, ActionKind
from crg.spec.rules import halt as rules_halt
from crg.spec.rules.placement import moving, placement, switching_disabled
from crg.spec.rules.roles import app_wanted, orphaned_down
from crg.spec.rules.run import Step
from crg.spec.rules.view import View, has_owner, holds, owned, up
from crg.spec.vocabulary.variables import GroupVars

Rule = Callable[[View, int], Step]

FAILOVER = make_config(2, [G("a", "n1", ("n2",))])
THREE_NODES = make_config(3, [G("a", "n1", ("n2", "n3"))])
LIVENESS = "vip-held (liveness)"


@dataclass(frozen=True)
class Mutant:
    name: str
    rules: Mapping[ActionKind, Rule]
    breaks: frozenset[str]
    """Property labels the bug must be reported under, by either engine."""
    config: Config = FAILOVER
    lengths: Mapping[str, int] = field(default_factory=dict)
    """Pinned lengths of the explicit engine's shortest traces, where they say something."""

    @property
    def safety(self) -> frozenset[str]:
        return frozenset(b for b in self.breaks if b != LIVENESS)

    def apply(self, monkeypatch: pytest.MonkeyPatch) -> None:
        for kind, rule in self.rules.items():
            monkeypatch.setitem(KINDS, kind, dataclasses.replace(KINDS[kind], rule=rule))


def _claim_while_owned(v: View, n: int) -> Step:
    # A node takes the group over while the old owner still holds it: the VIP is on two
    # nodes (failback to n1 while n2 still runs it).
    a = v.a
    guard = a.and_(a.eq(placement(v), a.add(n, 1)), up(v, n), a.not_(owned(v, n)))
    return guard, v.g._replace(owner=a.add(n, 1), restarts=a.const(0))


def _never(v: View, n: int) -> Step:
    """A rule that is never enabled (the step is skipped)."""
    return v.a.false, v.g


def _notify_up_before_monitors(v: View, n: int) -> Step:
    a, g = v.a, v.g
    guard = a.and_(app_wanted(v, n), up(v, n), a.bit(g.vip, n), a.bit(g.app, n),
                   a.not_(g.announced))
    return guard, g._replace(announced=a.true)


def _claim_on_last_live(v: View, n: int) -> Step:
    # Claim on the last live candidate instead of the first.
    a = v.a
    last = a.first([(up(v, c), a.const(c + 1)) for c in reversed(v.topo.candidates)],
                   a.const(0))
    guard = a.and_(a.not_(has_owner(v)), a.eq(last, a.add(n, 1)), up(v, n))
    return guard, v.g._replace(owner=a.add(n, 1), restarts=a.const(0))


def _release_vip_while_staying(v: View, n: int) -> Step:
    # The VIP may be released although the group is not leaving: acquire and release
    # chase each other forever (a livelock, found as a fair lasso).
    a, g = v.a, v.g
    guard = a.and_(owned(v, n), up(v, n), a.bit(g.vip, n), a.not_(a.bit(g.app, n)),
                   a.not_(a.bit(g.mon, n)), a.not_(g.announced))
    after: GroupVars = g._replace(vip=a.with_bit(g.vip, n, a.false))
    return guard, after


def _stop_app_before_monitors(v: View, n: int) -> Step:
    a, g = v.a, v.g
    guard = a.and_(owned(v, n), up(v, n), a.bit(g.app, n), moving(v))
    return guard, g._replace(app=a.with_bit(g.app, n, a.false), failed=a.false,
                             wd=a.with_bit(g.wd, n, a.true))


def _alert_with_standbys_left(v: View, n: int) -> Step:
    a, g = v.a, v.g
    guard = a.and_(owned(v, n), up(v, n), a.not_(switching_disabled(v)), a.not_(g.alerted))
    return guard, g._replace(alerted=a.true)


def _give_up_ownership_holding_vip(v: View, n: int) -> Step:
    # The symbolic engine's auxiliary invariant stack-on-owner breaks first: it must not
    # stop at that counterexample to induction but find the real runs.
    a, g = v.a, v.g
    guard = a.and_(owned(v, n), up(v, n), moving(v), a.not_(a.bit(g.app, n)),
                   a.not_(g.announced))
    after: GroupVars = g._replace(owner=a.const(0), restarts=a.const(0), failed=a.false)
    return guard, after


def _release_ownership_leaving_leftovers(v: View, n: int) -> Step:
    # Ownership may go with the VIP still on the node, which the watchdog then owns.
    a, g = v.a, v.g
    guard = a.and_(owned(v, n), up(v, n), moving(v), a.not_(a.bit(g.mon, n)),
                   a.not_(a.bit(g.app, n)), a.not_(g.announced))
    return guard, g._replace(owner=a.const(0), restarts=a.const(0), failed=a.false,
                             wd=a.with_bit(g.wd, n, holds(v, n)))


MUTANTS: tuple[Mutant, ...] = (
    Mutant("claim-while-someone-owns-it", {ActionKind.CLAIM: _claim_while_owned},
           frozenset({"vip-unique"})),
    Mutant("skip-the-last-node-alert", {ActionKind.ALERT: _never},
           frozenset({"last-node-alert"})),
    Mutant("notify-up-before-the-monitors",
           {ActionKind.NOTIFY_UP: _notify_up_before_monitors}, frozenset({"notify"})),
    Mutant("fail-over-to-the-wrong-node", {ActionKind.CLAIM: _claim_on_last_live},
           frozenset({"failover-order"}), THREE_NODES),
    Mutant("release-the-vip-while-staying",
           {ActionKind.RELEASE_VIP: _release_vip_while_staying}, frozenset({LIVENESS}),
           lengths={LIVENESS: 3}),
    Mutant("halt-without-stopping-the-monitors-first",
           {ActionKind.STOP_APP: _stop_app_before_monitors}, frozenset({"run-order"})),
    Mutant("alert-on-a-node-with-standbys",
           {ActionKind.ALERT: _alert_with_standbys_left}, frozenset({"last-node-alert"})),
    Mutant("give-ownership-up-while-holding-the-vip",
           {ActionKind.RELEASE_OWNERSHIP: _give_up_ownership_holding_vip},
           frozenset({"vip-unique", "halt-order"})),
    # Leftovers stay on a node the group left and nothing removes them: the VIP stays
    # behind while the group starts elsewhere.
    Mutant("watchdog-that-never-cleans",
           {ActionKind.WATCHDOG_CLEAN: _never,
            ActionKind.RELEASE_OWNERSHIP: _release_ownership_leaving_leftovers},
           frozenset({"vip-unique"})),
)


def _orphaned_down_raises_the_alert(v: View, n: int) -> Step:
    # The coordinator's service down for a group left without a candidate also raises
    # the last-node alert (which only the alert step may raise).
    guard, after = rules_halt.notify_down(v, n)
    return guard, after._replace(alerted=v.a.or_(v.g.alerted, orphaned_down(v, n)))


# a: n1 -> n3 and b: n3 -> n1 have the same shape, but the coordinator (the first up node
# by index) is not renamed with them: after "drain n3, cut n1 off" it is n2 for a, while
# after the renamed "drain n1, cut n3 off" it is n1 for b.
COORDINATOR = Mutant(
    "orphaned-down-raises-the-alert", {ActionKind.NOTIFY_DOWN: _orphaned_down_raises_the_alert},
    frozenset({"last-node-alert"}),
    make_config(3, [G("a", "n1", ("n3",)), G("b", "n3", ("n1",))], down=2,
                faults="drain, partition"))
