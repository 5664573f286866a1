"""``crg run --node N --start-wait`` with real agents on a real etcd (loopback, no root
needed): the first host up places nothing while the others are missing, and the group
starts on its preferred node once they register (tests/runtime/test_start_gate.py has
the agent's part: the wait running out, a host joining a running cluster)."""

from __future__ import annotations

import time

import pytest
from loopback_agents import Agents

pytestmark = pytest.mark.timeout(120)


def test_the_first_host_up_waits_and_the_group_starts_at_home(agents: Agents) -> None:
    config = agents.write("gate.crg")
    agents.start("n2", config, "--start-wait", "60s")
    agents.wait_running("n2")
    deadline = time.monotonic() + 20
    status = agents.status("n2") or {}
    while status.get("waiting") is None:
        assert time.monotonic() < deadline, f"n2 does not say it waits: {status}"
        time.sleep(0.1)
        status = agents.status("n2") or {}
    assert status["waiting"]["for"] == ["n1", "n3"], status  # type: ignore[index]
    assert [g["node"] for g in status["groups"]] == [None], status  # type: ignore[union-attr]
    agents.start("n1", config)
    agents.start("n3", config)
    agents.wait_placed("n1", "job", ("n1", "normal", "up"))
    assert "waiting" not in (agents.status("n2") or {"waiting": "no status"})
    started = [(e["event"], e.get("node")) for n in ("n1", "n2", "n3")
               for e in agents.events(n) if e["event"] in ("service-up", "alert", "stranded")]
    assert started == [("service-up", "n1")], started
