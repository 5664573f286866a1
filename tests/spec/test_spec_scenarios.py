"""Claim-level behaviours, each shown on a small scenario driven through the model.

Each test scripts environment events and lets the cluster service settle (in the model's
fixed order, as ``crg simulate`` does), then checks what the claims promise: normal mode,
failover down the sequenced list, offline mode of instance groups, the last-node alert,
failback, the watchdog, service events, local restarts and self-fencing.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import pytest
from spec_helpers import EXAMPLES_DIR, bits, config, events, kinds, simulate, system_path

from crg.dsl import Config, load
from crg.spec import Action, ActionKind, State
from crg.spec.present.modes import Mode, placements
from crg.spec.present.simulation import ScenarioError, Simulation, Step
from crg.spec.rules.roles import leftovers

K = ActionKind
THREE = "nodes n1 n2 n3\n  assume at most 2 nodes down"
CHAIN = config(THREE, "g: preferred n1 possible n2, n3 failback auto restarts 2")
PAIR = config("nodes n1 n2", "g: preferred n1 possible n2 failback auto restarts 1")
WEB_TIER = load(str(EXAMPLES_DIR / "web-tier.crg"))
RAC = load(str(EXAMPLES_DIR / "rac.crg"))
QUICKSTART = load(str(EXAMPLES_DIR / "quickstart.crg"))


def where(sim: Simulation, state: State) -> dict[str, tuple[str | None, str]]:
    return {name: (p.node, p.mode.value) for name, p in placements(sim.model, state).items()}


def trace(sim: Simulation, *argv: str) -> Iterator[tuple[State, Action, State]]:
    """Every transition of a scenario (start-up, events, settling), with the states
    before and after, so tests can look between the steps."""
    state = sim.model.initial()
    for action, after in system_path(sim.model, state):
        yield state, action, after
        state = after
    for event in events(*argv):
        action = sim.action(state, event)
        after = sim.model.apply(state, action)
        yield state, action, after
        state = after
        for action, after in system_path(sim.model, state):
            yield state, action, after
            state = after


# -- normal mode (claims 4, 18) -----------------------------------------------------------------


@pytest.mark.parametrize("cfg", [QUICKSTART, WEB_TIER, RAC], ids=["quickstart", "web-tier", "rac"])
def test_normal_mode_every_group_on_its_preferred_node(cfg: Config) -> None:
    sim, steps = simulate(cfg)
    final = placements(sim.model, steps[-1].state)
    for group in sim.config.groups:
        p = final[group.name]
        assert (p.node, p.vip, p.mode, p.app) == (group.preferred, group.preferred,
                                                  Mode.NORMAL, "up")
        assert p.switching and not p.alerted
    assert not steps[-1].problems


def test_start_up_runs_the_run_method_in_order() -> None:
    _, steps = simulate(PAIR)
    assert kinds(steps[0].actions) == ["claim", "acquire-vip", "start-app", "start-monitors",
                                       "notify-up"]


# -- failover down the sequenced list (claims 1, 6, 10, 20, 24) ---------------------------------


def test_failover_to_the_first_live_possible_node() -> None:
    sim, steps = simulate(CHAIN, "--fail", "n1")
    assert where(sim, steps[-1].state)["g"] == ("n2", "failover")


def test_failover_skips_a_dead_possible_node() -> None:
    sim, steps = simulate(CHAIN, "--fail", "n2", "--fail", "n1")
    assert where(sim, steps[1].state)["g"] == ("n1", "normal")  # n2 was only a standby
    assert where(sim, steps[2].state)["g"] == ("n3", "failover")


def test_failover_is_off_the_critical_path() -> None:
    # The survivor does not wait for the dead node: it claims at once, sends the service
    # down its predecessor owed, then runs the group.
    sim, steps = simulate(CHAIN, "--fail", "n1")
    assert [(sim.model.topology.nodes[a.node], a.kind.label) for a in steps[1].actions] == [
        ("n2", "claim"), ("n2", "notify-down"), ("n2", "acquire-vip"), ("n2", "start-app"),
        ("n2", "start-monitors"), ("n2", "notify-up")]


def test_web_tier_groups_of_n1_go_to_their_next_possible_nodes() -> None:
    sim, steps = simulate(WEB_TIER, "--fail", "n1")
    assert where(sim, steps[-1].state) == {
        "www": ("n2", "failover"), "static": ("n3", "failover"),
        "api": ("n2", "normal"), "db": ("n4", "normal")}


# -- offline mode of an instance group (claims 5, 31-33, 38-40) -----------------------------------


def test_instance_vip_held_elsewhere_without_the_application() -> None:
    sim, steps = simulate(RAC, "--fail", "db1")
    state = steps[-1].state
    p = placements(sim.model, state)["inst1"]
    assert (p.node, p.vip, p.mode, p.app) == ("db2", "db2", Mode.OFFLINE, "down")
    g = sim.model.topology.group_index("inst1")
    assert sim.model.group_vars(state, g).app == 0  # no instance runs anywhere
    assert where(sim, state)["inst2"] == ("db2", "normal")  # the service goes on there


def test_instance_returns_to_its_node_when_it_comes_back() -> None:
    sim, steps = simulate(RAC, "--fail", "db1", "--join", "db1")
    assert where(sim, steps[-1].state)["inst1"] == ("db1", "normal")


def test_operator_offline_mode_keeps_the_vip() -> None:
    sim, steps = simulate(PAIR, "--offline", "g")
    p = placements(sim.model, steps[1].state)["g"]
    assert (p.node, p.vip, p.mode, p.app) == ("n1", "n1", Mode.OFFLINE, "down")
    sim, steps = simulate(PAIR, "--offline", "g", "--online", "g")
    assert where(sim, steps[2].state)["g"] == ("n1", "normal")


def test_why_online_is_refused_for_a_group_left_without_a_node() -> None:
    # Operator commands wait for a group at rest; one with no candidate left is not.
    sim = Simulation(RAC)
    steps = sim.run(events("--offline", "inst1", "--fail", "db1", "--fail", "db2",
                           "--fail", "db3"))
    [online] = events("--online", "inst1")
    assert sim.why_not(steps[-1].state, online) == "inst1 is not placed on any node (mode down)"


# -- last-node alert (claims 11, 25, 35, 42) ------------------------------------------------------


def _alerts(steps: list[Step]) -> list[int]:
    return [sum(a.kind is K.ALERT for a in step.actions) for step in steps]


def test_last_node_alert_raised_exactly_once_and_switching_disabled() -> None:
    sim, steps = simulate(PAIR, "--fail", "n1", "--fault", "g")
    assert _alerts(steps) == [0, 1, 0]
    for step in steps[1:]:
        p = placements(sim.model, step.state)["g"]
        assert (p.node, p.switching, p.alerted) == ("n2", False, True)
    # switching is disabled: the fault restarted the group in place, within its budget
    assert [n.kind for n in steps[1].notifications] == ["service-down", "service-up", "alert"]
    assert [n.kind for n in steps[2].notifications] == ["service-down", "service-up"]


def test_a_new_last_node_episode_raises_a_new_alert() -> None:
    sim, steps = simulate(PAIR, "--fail", "n1", "--join", "n1", "--fail", "n1")
    assert _alerts(steps) == [0, 1, 0, 1]
    # the standby's return ended the episode in the same step: no re-arm step to wait for
    p = placements(sim.model, steps[2].state)["g"]
    assert (p.node, p.switching, p.alerted) == ("n1", True, False)


def test_an_episode_that_follows_at_once_still_raises_its_alert() -> None:
    # The stale-alert defect: crash n2 (g on n1, its last node: alert), n2 rejoins, and
    # n1 crashes before the cluster service takes any step. g lands on n2, its last node
    # again: a new episode, which must raise its own alert. (With a separate re-arm step
    # the flag of the first episode was still set and swallowed the second alert.)
    m = Simulation(PAIR).model
    state = m.initial()
    raised = 0
    for label, n in (("settle", -1), ("crash", 1), ("settle", -1), ("rejoin", 1),
                     ("crash", 0), ("settle", -1)):
        if label == "settle":
            path = system_path(m, state)
            raised += sum(action.kind is K.ALERT for action, _ in path)
            state = path[-1][1] if path else state
            continue
        kind = K.CRASH if label == "crash" else K.REJOIN
        state = m.apply(state, Action(kind, -1, n))
    assert raised == 2
    p = placements(m, state)["g"]
    assert (p.node, p.alerted) == ("n2", True)


# -- blocked: a group that cannot run anywhere (issue 13) -------------------------------------


def test_a_group_that_fails_everywhere_is_blocked_and_alerts_once() -> None:
    # restarts 1: each node gets the first start and one local restart, then a ban
    sim, steps = simulate(PAIR, "--fault", "g", "--fault", "g", "--fault", "g",
                          "--fault", "g")
    final = placements(sim.model, steps[-1].state)["g"]
    assert (final.node, final.mode) == ("n2", Mode.BLOCKED)
    starts = sum(a.kind is K.START_APP for s in steps for a in s.actions)
    assert starts == 4  # budget + 1 per node: n1 twice, n2 twice
    blocked = [n.kind for s in steps for n in s.notifications if n.kind == "blocked"]
    assert blocked == ["blocked"]
    # the VIP stays, so clients are refused at once; nothing restarts without an event
    gv = sim.model.group_vars(steps[-1].state, 0)
    assert (gv.vip, gv.app, gv.announced) == (bits(1), 0, False)


def test_cleanup_brings_a_blocked_group_back() -> None:
    sim, steps = simulate(PAIR, "--fault", "g", "--fault", "g", "--fault", "g",
                          "--fault", "g", "--cleanup", "g", "n1")
    final = placements(sim.model, steps[-1].state)["g"]
    assert (final.node, final.mode) == ("n1", Mode.NORMAL)


def test_no_switchover_from_the_last_node() -> None:
    cfg = config(THREE, "g: preferred n1 possible n2, n3 failback manual")
    sim = Simulation(cfg)
    steps = sim.run(events("--fail", "n1", "--drain", "n2"))
    assert where(sim, steps[-1].state)["g"] == ("n3", "failover")
    assert not placements(sim.model, steps[-1].state)["g"].switching
    for target in ("n1", "n2"):
        with pytest.raises(ScenarioError, match=f"{target} is (down|drained)"):
            sim.step(steps[-1].state, events("--switchover", "g", target)[0])


# -- failback (claims 4, 18) ----------------------------------------------------------------------


def test_failback_auto_returns_and_manual_stays() -> None:
    sim, steps = simulate(WEB_TIER, "--fail", "n1", "--join", "n1")
    final = where(sim, steps[-1].state)
    assert final["www"] == ("n1", "normal")  # failback auto
    assert final["static"] == ("n3", "failover")  # failback manual


def test_manual_failback_by_switchover() -> None:
    sim, steps = simulate(WEB_TIER, "--fail", "n1", "--join", "n1", "--switchover", "static",
                          "n1")
    assert where(sim, steps[-1].state)["static"] == ("n1", "normal")


# -- watchdog (claims 3, 17, 34, 41) --------------------------------------------------------------


def _wd(sim: Simulation, state: State) -> int:
    return int(sim.model.group_vars(state, 0).wd)


def _retires_only_when_clean(sim: Simulation,
                             transitions: list[tuple[State, Action, State]]) -> None:
    """Whenever a watchdog goes, its node has no leftovers of the group any more."""
    for before, action, after in transitions:
        gone = _wd(sim, before) & ~_wd(sim, after)
        for n in range(sim.model.n_nodes):
            if gone >> n & 1 and sim.model.node_vars(after).down >> n & 1 == 0:
                assert not leftovers(sim.model.view(after, 0), n), (action, n)


def test_watchdog_spawned_by_a_fault_and_retired_after() -> None:
    sim = Simulation(PAIR)
    transitions = list(trace(sim, "--fault", "g"))
    fault = next(i for i, (_, a, _) in enumerate(transitions) if a.kind is K.FAULT)
    assert _wd(sim, transitions[fault][2]) == bits(0)  # at once, on the failed node
    # it stays while the failed application is there
    for _, _, after in transitions[fault:]:
        if sim.model.group_vars(after, 0).failed:
            assert _wd(sim, after) == bits(0)
    _retires_only_when_clean(sim, transitions)
    assert _wd(sim, transitions[-1][2]) == 0


def test_watchdog_spawned_on_halt_and_retired_after() -> None:
    sim = Simulation(PAIR)
    transitions = list(trace(sim, "--switchover", "g", "n2"))
    halt = next(i for i, (_, a, _) in enumerate(transitions) if a.kind is K.STOP_MONITORS)
    assert transitions[halt][1].node == 0
    assert _wd(sim, transitions[halt][2]) == bits(0)
    # it stays while n1 holds anything of the group, and goes once n1 is clean
    for _, _, after in transitions[halt:]:
        g = sim.model.group_vars(after, 0)
        if (g.vip | g.app | g.mon) & bits(0):
            assert _wd(sim, after) & bits(0)
    _retires_only_when_clean(sim, transitions)
    assert _wd(sim, transitions[-1][2]) == 0


# -- service up/down events (claims 12, 13, 26, 27, 30, 36, 37, 43) -------------------------------


@pytest.mark.parametrize("cfg, argv", [
    (WEB_TIER, ("--fail", "n1", "--fault", "www", "--join", "n1", "--switchover", "api", "n3",
                "--fault", "www", "--fault", "www", "--fault", "www", "--offline", "db",
                "--online", "db")),
    (RAC, ("--fail", "db1", "--partition", "db2", "--join", "db1", "--heal", "db2",
           "--drain", "db3", "--undrain", "db3")),
], ids=["web-tier", "rac"])
def test_service_events_alternate_and_come_from_the_host(cfg: Config, argv: tuple[str, ...]
                                                         ) -> None:
    sim = Simulation(cfg)
    sent: dict[int, list[ActionKind]] = {}
    for before, action, _ in trace(sim, *argv):
        if action.kind in (K.NOTIFY_UP, K.NOTIFY_DOWN):
            assert sim.model.group_vars(before, action.group).owner == action.node + 1
            sent.setdefault(action.group, []).append(action.kind)
    assert set(sent) == set(range(len(sim.model.groups)))
    for kinds_sent in sent.values():
        assert kinds_sent[0] is K.NOTIFY_UP
        assert all(a is not b for a, b in itertools.pairwise(kinds_sent))


def test_service_events_reach_the_subscribed_groups() -> None:
    _, steps = simulate(WEB_TIER, "--fail", "n1")
    by_group = {n.group: n.recipients for n in steps[1].notifications}
    assert by_group == {"www": ("api",), "static": ("www", "api", "db")}


# -- local restart within budget, then failover (claims 6-8, 20-22) ------------------------------


def test_local_restart_within_budget_then_failover() -> None:
    sim, steps = simulate(CHAIN, "--fault", "g", "--fault", "g", "--fault", "g")
    assert [where(sim, s.state)["g"][0] for s in steps] == ["n1", "n1", "n1", "n2"]
    restart = kinds(steps[1].actions)
    assert "release-vip" not in restart and "claim" not in restart  # the VIP stays
    assert restart[:3] == ["stop-monitors", "stop-app", "notify-down"]
    # n1 is banned until the window passes; then automatic failback brings it home
    sim, steps = simulate(CHAIN, "--fault", "g", "--fault", "g", "--fault", "g",
                          "--forgive", "g")
    assert where(sim, steps[-1].state)["g"] == ("n1", "normal")


# -- self-fencing under partition (claims 1, 5, 15, 19) -------------------------------------------


def test_self_fencing_releases_everything_before_the_lease_expires() -> None:
    sim = Simulation(RAC)
    db2 = sim.model.topology.node_index("db2")
    expired = False
    for before, action, after in trace(sim, "--partition", "db2", "--heal", "db2"):
        for g in range(len(sim.model.groups)):
            assert bin(int(sim.model.group_vars(after, g).vip)).count("1") <= 1
        if action.kind is K.EXPIRE:
            expired = True
            for g in range(len(sim.model.groups)):
                gv = sim.model.group_vars(before, g)
                assert not (gv.vip | gv.app | gv.mon) & bits(db2)
    assert expired


def test_without_fencing_a_partition_puts_the_vip_on_two_nodes() -> None:
    cfg = load(str(EXAMPLES_DIR / "broken" / "no-fencing.crg"))
    _, steps = simulate(cfg, "--partition", "n1")
    assert {p.invariant for p in steps[1].problems} >= {"vip-unique"}


# -- drain (operator maintenance) -----------------------------------------------------------------


def test_drain_moves_groups_away_in_order_and_undrain_brings_them_back() -> None:
    sim, steps = simulate(WEB_TIER, "--drain", "n1", "--undrain", "n1")
    assert where(sim, steps[1].state)["www"] == ("n2", "failover")
    halt = [k for k in kinds(steps[1].actions) if k != "watchdog-retire"][:5]
    assert halt == ["stop-monitors", "stop-app", "release-vip", "notify-down",
                    "release-ownership"]
    assert where(sim, steps[2].state)["www"] == ("n1", "normal")


# -- maintenance (issue 13) -------------------------------------------------------------------


def test_in_maintenance_nothing_is_done_until_it_ends() -> None:
    sim, steps = simulate(CHAIN, "--maintenance-on", "g", "--fail", "n1", "--maintenance-off",
                          "g")
    assert steps[2].actions == ()  # n1 crashed: nobody takes g over while in maintenance
    assert where(sim, steps[2].state)["g"] == (None, "moving")
    assert where(sim, steps[3].state)["g"] == ("n2", "failover")


def test_a_failure_in_maintenance_counts_once_it_ends() -> None:
    sim = Simulation(CHAIN)
    steps = sim.run(events("--maintenance-on", "g"))
    with pytest.raises(ScenarioError, match="fault"):
        sim.step(steps[-1].state, events("--fault", "g")[0])
