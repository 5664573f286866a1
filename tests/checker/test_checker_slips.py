"""Slips an independent verifier seeded into the rules (issue 11), each caught by a named
invariant on an example: a green `crg check` would have hidden every one of them before.

Each slip is written as an edit of the rule's own source and installed like the
harness's mutants (``crg.checker.mutation.world``): the model runs the slipped rule, the
invariants stay the originals. The edit's text must be found in the rule, so a rule that
changes under this test fails it loudly instead of testing nothing.
"""

from __future__ import annotations

import dataclasses
import inspect

import pytest
from checker_helpers import EXAMPLES

from crg import files
from crg.checker.api import check
from crg.checker.mutation.judge import CONFIGS, judging_options
from crg.checker.mutation.operators import Mutant
from crg.checker.mutation.world import installed, originals
from crg.dsl import Config
from crg.spec import Topology


def slip(module: str, function: str, old: str, new: str) -> Mutant:
    source = inspect.getsource(getattr(originals()[module], function))
    assert source.count(old) == 1, f"{module}.{function} no longer reads {old!r}"
    return Mutant(module, function, "seeded", f"{old!r} -> {new!r}",
                  source.replace(old, new))


SLIPS = {
    # 1. an instance group starts its application on a possible node
    "instance-runs-anywhere": (
        slip("roles", "runs_app", "return a.and_(a.eq(n, v.topo.preferred), role)",
             "return role"),
        "rac.crg", "app-role"),
    # 2. failback manual behaves like auto
    "manual-fails-back": (
        slip("placement", "_placement", "    if v.topo.auto_failback:\n        home",
             "    if True:\n        home"),
        "web-tier.crg", "failback"),
    # 3. a new owner starts the application without the down owed by the crashed owner
    "start-without-the-owed-down": (
        slip("run", "start_app", "a.not_(a.bit(g.app, n)),\n                   "
             "a.not_(g.announced), ", "a.not_(a.bit(g.app, n)),\n                   "),
        "quickstart.crg", "service-events"),
    # 4. the restart budget is one short
    "budget-one-short": (
        slip("events", "fault", "a.lt(g.restarts, a.const(v.topo.budget))",
             "a.lt(g.restarts, a.const(v.topo.budget - 1))"),
        "web-tier.crg", "restart-budget"),
    # 5. a drain keeps a switchover target that points at the drained node
    "drain-keeps-the-target": (
        slip("events", "drain_group",
             "g._replace(target=a.ite(a.eq(g.target, a.add(n, 1)), a.const(0), g.target))",
             "g"),
        "operations.crg", "drain"),
    # 6. the last-node alert raised twice in one episode
    "alert-twice": (
        slip("care", "alert", "switching_disabled(v), a.not_(g.alerted)",
             "switching_disabled(v)"),
        "quickstart.crg", "last-node-alert"),
    # a crash anywhere withdraws the switchover: the group goes back against the
    # operator's word (only a crash of the target's own node may withdraw it)
    "crash-drops-any-target": (
        slip("events", "crash_group",
             "target=a.ite(a.eq(g.target, a.add(n, 1)), a.const(0), g.target),",
             "target=a.const(0),"),
        "web-tier.crg", "commands"),
    # the stale-alert defect of the old rules: the episode's flag outlives the episode
    # (crash n2, n2 rejoins, n1 crashes before anything clears it: no alert on n2).
    # Since alert-episode states it, that is the invariant that catches it first: the
    # flag is still set in the state after the rejoin.
    "stale-alert": (
        slip("care", "end_episodes", "alerted=a.and_(g.alerted, switching_disabled(w))",
             "alerted=g.alerted"),
        "quickstart.crg", "alert-episode"),
}

# A second verifier's slips (one effect too many: each still passed every invariant
# before `frame`, and the events' lost-lease clause for a node that is not the owner),
# each on the smallest harness configuration that shows it.
SLIPS.update({
    "crash-undrains": (
        slip("events", "crash_nodes", "lost=a.with_bit(nodes.lost, n, a.false))",
             "lost=a.with_bit(nodes.lost, n, a.false), "
             "drained=a.with_bit(nodes.drained, n, a.false))"),
        "blocked", "frame"),
    "rejoin-undrains": (
        slip("events", "rejoin_nodes", "nodes._replace(down=a.with_bit(nodes.down, n, a.false))",
             "nodes._replace(down=a.with_bit(nodes.down, n, a.false), "
             "drained=a.with_bit(nodes.drained, n, a.false))"),
        "blocked", "frame"),
    "crash-heals-every-partition": (
        slip("events", "crash_nodes", "cut=a.with_bit(nodes.cut, n, a.false),",
             "cut=a.const(0),"),
        "twice-out", "frame"),
    "crash-lifts-every-ban": (
        slip("events", "crash_group", "ban=a.with_bit(g.ban, n, a.false),", "ban=a.const(0),"),
        "blocked", "frame"),
    "lost-lease-lifts-every-ban": (
        slip("events", "expire_group", "ban=a.with_bit(g.ban, n, a.false),", "ban=a.const(0),"),
        "partition", "frame"),
    "any-crash-clears-the-failure": (
        slip("events", "crash_group", "failed=a.ite(was_owner, a.false, g.failed),",
             "failed=a.false,"),
        "blocked", "events"),
    "any-lost-lease-clears-the-failure": (
        slip("events", "expire_group", "failed=a.ite(was_owner, a.false, g.failed),",
             "failed=a.false,"),
        "partition", "events"),
    "cleanup-clears-the-failure": (
        slip("events", "cleanup", "ban=a.with_bit(g.ban, n, a.false),",
             "ban=a.with_bit(g.ban, n, a.false), failed=a.false,"),
        "blocked", "frame"),
    "window-clears-the-failure": (
        slip("events", "forgive", "g._replace(ban=a.const(0), restarts=a.const(0))",
             "g._replace(ban=a.const(0), restarts=a.const(0), failed=a.false)"),
        "blocked", "frame"),
    "owner-crash-ends-offline": (
        slip("events", "crash_group", "failed=a.ite(was_owner, a.false, g.failed),",
             "failed=a.ite(was_owner, a.false, g.failed), "
             "offline=a.ite(was_owner, a.false, g.offline),"),
        "pair", "frame"),
    "switchover-brings-online": (
        slip("events", "switchover", "g._replace(target=a.add(n, 1))",
             "g._replace(target=a.add(n, 1), offline=a.false)"),
        "pair", "frame"),
    "maintenance-off-brings-online": (
        slip("events", "maintenance_off", "g._replace(maintenance=a.false)",
             "g._replace(maintenance=a.false, offline=a.false)"),
        "pair", "frame"),
    "lost-lease-retires-the-watchdog": (
        slip("events", "expire_group", "ban=a.with_bit(g.ban, n, a.false),",
             "ban=a.with_bit(g.ban, n, a.false), wd=a.with_bit(g.wd, n, a.false),"),
        "nofence", "frame"),
})

# A third round: guards stricter than the claims, which no invariant saying what a step
# may do can see — each now caught by what must be possible (`care-enabled`) or by when a
# watchdog may retire.
SLIPS.update({
    "fence-waits-out-maintenance": (
        slip("care", "fence", "a.bit(v.nodes.cut, n), holds(v, n))",
             "a.bit(v.nodes.cut, n), holds(v, n), managed(v))"),
        "fenced", "care-enabled"),
    "watchdog-retires-mid-halt": (
        slip("care", "watchdog_retire", "a.not_(excess(v, n))",
             "a.not_(a.or_(a.and_(a.not_(owned(v, n)), holds(v, n)), "
             "a.and_(owned(v, n), g.failed)))"),
        "blocked", "watchdog"),
    "last-node-alert-waits-for-the-vip": (
        slip("care", "alert", "a.not_(g.alerted))", "a.not_(g.alerted), a.bit(g.vip, n))"),
        "blocked", "care-enabled"),
    "blocked-alert-waits-for-the-stop": (
        slip("care", "alert_blocked", "a.not_(g.blocked_alerted))",
             "a.not_(g.blocked_alerted), a.not_(a.bit(g.app, n)))"),
        "blocked", "care-enabled"),
})


# A fourth verifier's slips, in the helpers the rules and the invariants once shared: as
# real edits they changed the oracle with the rules and every check stayed green. The
# invariants read in words of their own now (spec/invariants/words.py), so a slip there
# changes the rules alone — which is what installing it in the rules' copy does.
SLIPS.update({
    "live-forgets-down": (
        slip("view", "live", "a.not_(a.or_(a.bit(v.nodes.down, n), a.bit(v.nodes.lost, n)))",
             "a.not_(a.or_(a.bit(v.nodes.lost, n)))"),
        "quickstart.crg", "failover-order"),
    "last-node-counts-the-owner-gone": (
        slip("placement", "_switching_disabled",
             "a.or_(owned(v, c), a.not_(available(v, c)))", "a.not_(available(v, c))"),
        "quickstart.crg", "last-node-alert"),
    "last-node-counts-a-drained-standby": (
        slip("placement", "_switching_disabled",
             "a.or_(owned(v, c), a.not_(available(v, c)))",
             # live, not available: the drain forgotten
             "a.or_(owned(v, c), a.or_(a.bit(v.nodes.down, c), a.bit(v.nodes.lost, c)))"),
        "pair", "last-node-alert"),
    # a drained owner with nowhere else to go keeps its group (caught before on one
    # configuration only, and through a ban): failover-order says it may not
    "drained-owner-stays": (
        slip("placement", "moving", "a.and_(has_owner(v), a.not_(a.eq(placement(v), v.g.owner)))",
             "a.and_(has_owner(v), a.not_(a.eq(placement(v), 0)), "
             "a.not_(a.eq(placement(v), v.g.owner)))"),
        "blocked", "failover-order"),
    "cut-off-node-acts": (
        slip("view", "up", "return a.and_(live(v, n), a.not_(a.bit(v.nodes.cut, n)))",
             "return live(v, n)"),
        "partition", "contact"),
})


def _path(where: str) -> str:
    """An example (``x.crg``) or a harness configuration (by name)."""
    return str(EXAMPLES / where if where.endswith(".crg") else CONFIGS / f"{where}.crg")


@pytest.mark.parametrize("name", sorted(SLIPS))
def test_a_seeded_slip_is_caught_on_an_example(name: str) -> None:
    mutant, example, invariant = SLIPS[name]
    config = files.load(_path(example))
    with installed(mutant):
        report = check(config, judging_options(keep_going=True))
    assert invariant in {v.prop.label for v in report.violations}, (
        f"{name}: found only {sorted(v.prop.label for v in report.violations)}")


def test_the_stale_alert_trace_is_the_shortest_run_that_shows_it() -> None:
    mutant, example, _ = SLIPS["stale-alert"]
    config = files.load(str(EXAMPLES / example))
    with installed(mutant):
        report = check(config, judging_options())
    found = next(v for v in report.violations if v.prop.label == "alert-episode")
    events = [s.action.kind.label for s in found.trace.steps
              if s.action is not None and s.action.group < 0 and s.action.kind.label
              in ("crash", "rejoin")]
    # the episode ends when the standby comes back; the flag kept past that is stale (and
    # would swallow the alert of the group's next last-node episode)
    assert events[:2] == ["crash", "rejoin"]


def test_without_a_slip_none_of_those_invariants_breaks() -> None:
    # (some harness configurations go beyond their own assumption on purpose: there the
    # unmutated rules break `coverage` and the like, never the invariant a slip is caught by)
    for where in sorted({e for _, e, _ in SLIPS.values()}):
        with installed(None):  # the harness's own copy of the rules, unmutated
            report = check(files.load(_path(where)), judging_options(keep_going=True))
        caught_by = {i for _, e, i in SLIPS.values() if e == where}
        broken = {v.prop.label for v in report.violations}
        assert not broken & caught_by, (where, broken & caught_by)
        assert report.ok or not where.endswith(".crg"), where


def test_a_coordinator_sends_an_owed_down_only_once_it_runs_nothing_of_the_group() -> None:
    # A fourth verifier's finding in the unmutated rules: a lost node of a `fencing none`
    # group keeps its stack; healed and drained it is in contact but no candidate, the
    # coordinator of its stranded group, and sent the owed down with its application
    # still running (halt-order). `lone-node` goes beyond its own assumption on purpose
    # (coverage, and notify with every node out): nothing else may break there.
    report = check(files.load(_path("lone-node")), judging_options(keep_going=True))
    assert {v.prop.label for v in report.violations} <= {"coverage", "notify"}


@pytest.mark.parametrize(("field", "example", "invariant"), [
    ("auto_failback", "quickstart.crg", "normal-mode"),
    ("failover", "quickstart.crg", "app-role"),
])
def test_a_slip_in_reading_the_configuration_is_caught(
        field: str, example: str, invariant: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The rules read ``failover`` and ``auto_failback`` as Topology.from_config derives
    them; the invariants read the configuration's words (``Stated``). A slip in deriving
    one (``auto_failback`` read from ``manual``, ``failover`` from ``instance``) made the
    rules and the oracle agree on the wrong meaning."""
    built = Topology.from_config

    def slipped(config: Config, **options: object) -> Topology:
        right = built(config, **options)  # type: ignore[arg-type]
        return Topology(right.nodes, tuple(
            dataclasses.replace(g, **{field: not getattr(g, field)}) for g in right.groups),
            right.max_down, right.faults)

    monkeypatch.setattr(Topology, "from_config", staticmethod(slipped))
    report = check(files.load(str(EXAMPLES / example)), judging_options(keep_going=True))
    assert invariant in {v.prop.label for v in report.violations}, (
        sorted(v.prop.label for v in report.violations))
