"""What an alert says about its group (runtime/notices.py): where it is, in the words of
its placement — an offline group does not "run" anywhere."""

from __future__ import annotations

from crg.dsl import parse
from crg.runtime.notices import alert_reason
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
