"""What an alert says about its group (runtime/notices.py): where it is, in the words of
its placement — an offline group does not "run" anywhere."""

from __future__ import annotations

from crg.dsl import parse
from crg.runtime.notices import alert_reason, service_reason
from crg.spec import ActionKind
from crg.spec.present.simulation import Event, Simulation

CONFIG = """cluster c {
  nodes n1 n2 n3
  assume at most 2 nodes down
}
group report {
  vip 127.0.0.13/8
  app { start "sleep 600" }
  monitor process
  preferred n3
  possible n1
}
"""


def reason_after(*events: tuple[str, ...]) -> str:
    sim = Simulation(parse(CONFIG, "c.crg"))
    steps = sim.run([Event(e[0], e[1:]) for e in events])
    return alert_reason(sim.model, steps[-1].state, 0)


def test_a_running_group_on_its_last_node_runs_there() -> None:
    assert reason_after(("fail", "n1")) == (
        "report runs on n3, the last available node of its list (n3, n1); switching is "
        "disabled")


def test_an_offline_group_on_its_last_node_is_said_to_be_offline() -> None:
    assert reason_after(("offline", "report"), ("fail", "n1")) == (
        "report is in offline mode on n3 (VIP held, application stopped), the last "
        "available node of its list (n3, n1); switching is disabled")


def downs_after(*events: tuple[str, ...], config: str = CONFIG) -> list[str]:
    """The reasons of the service downs the cluster service sends, settling after the
    last event (in the order the runtime would take the steps)."""
    sim = Simulation(parse(config, "c.crg"))
    steps = sim.run([Event(e[0], e[1:]) for e in events[:-1]])
    last = events[-1]
    state = sim.model.apply(steps[-1].state, sim.action(steps[-1].state,
                                                        Event(last[0], last[1:])))
    reasons = []
    while transitions := sim.model.system_transitions(state):
        action, after, _ = transitions[0]
        if action.kind is ActionKind.NOTIFY_DOWN:
            reasons.append(service_reason(sim.model, state, after, action.group))
        state = after
    return reasons


def test_a_down_owed_by_a_lost_node_says_so() -> None:
    # The hook's CRG_REASON said "the service stopped" for a service whose node crashed.
    assert downs_after(("fail", "n3")) == [
        "its node was lost (crashed or cut off); n1 takes it over"]
    assert downs_after(("fail", "n1"), ("fail", "n3")) == [
        "its node was lost (crashed or cut off), and no node can host it"]
    instance = CONFIG.replace("group report {", "group report {\n  kind instance")
    assert downs_after(("fail", "n3"), config=instance) == [
        "its node was lost (crashed or cut off); n1 holds its VIP in offline mode: the "
        "instance runs only on its preferred node"]
    assert downs_after(("switchover", "report", "n1"), config=instance) == ["moving to n1"]


def test_a_down_after_a_local_restart_says_the_application_failed() -> None:
    # The down of a restart said "its node was lost (crashed or cut off); n3 takes it
    # over" in the events and the hooks' CRG_REASON: the halt's stop-app clears `failed`
    # before notify-down is enabled, so the reason never saw the failure.
    assert downs_after(("fault", "report")) == [
        "the application failed; n3 restarts it"]
    spent = CONFIG.replace("  monitor process", "  restarts 0 within 1m\n  monitor process")
    assert downs_after(("fail", "n1"), ("fault", "report"), config=spent) == [
        "the application failed; its restart budget is spent on n3, so it is stopped there"]
