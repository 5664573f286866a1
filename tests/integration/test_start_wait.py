"""``crg run --node N --start-wait`` with real agents on a real etcd (loopback, no root
needed): the first host up places nothing while the others are missing, and the group
starts on its preferred node once they register (tests/runtime/test_start_gate.py has
the agent's part: the wait running out, a host joining a running cluster)."""

from __future__ import annotations

import http.client
import json
import time

import pytest
from loopback_agents import Agents

from crg.runtime.endpoint.server import parse_address
from crg.runtime.status import WAITING_FOR_START, rows

pytestmark = pytest.mark.timeout(120)


def get(address: str, path: str) -> tuple[int, str]:
    host, port = parse_address(address)
    conn = http.client.HTTPConnection(host, port, timeout=5)
    try:
        conn.request("GET", path)
        reply = conn.getresponse()
        return reply.status, reply.read().decode()
    finally:
        conn.close()


def gauge(exposition: str, name: str) -> float:
    """The value of an unlabelled sample of a Prometheus text exposition."""
    found = [line.split()[1] for line in exposition.splitlines()
             if line.startswith(f"{name} ")]
    assert len(found) == 1, exposition
    return float(found[0])


def test_the_first_host_up_waits_and_the_group_starts_at_home(agents: Agents) -> None:
    config = agents.write("gate.crg")
    agents.start("n2", config, "--start-wait", "60s", "--http", "127.0.0.1:0")
    agents.wait_running("n2")
    deadline = time.monotonic() + 20
    status = agents.status("n2") or {}
    while status.get("waiting") is None:
        assert time.monotonic() < deadline, f"n2 does not say it waits: {status}"
        time.sleep(0.1)
        status = agents.status("n2") or {}
    assert status["waiting"]["for"] == ["n1", "n3"], status  # type: ignore[index]
    assert [g["node"] for g in status["groups"]] == [None], status  # type: ignore[union-attr]
    assert [row[2] for row in rows(status)] == [WAITING_FOR_START], status
    # its HTTP endpoint: healthy, saying what it waits for; job served nowhere
    address = str(status["http"]["n2"])  # type: ignore[index]
    code, text = get(address, "/health")
    health = json.loads(text)
    assert code == 200 and health["waiting"]["for"] == ["n1", "n3"], health
    code, text = get(address, "/groups/job")
    assert code == 503 and "n2 waits for n1 and n3 to register" in text, text
    code, text = get(address, "/metrics")
    assert 0 < gauge(text, "crg_start_wait_remaining_seconds") <= 60, text
    assert gauge(text, "crg_start_wait_nodes") == 2, text
    agents.start("n1", config)
    agents.start("n3", config)
    agents.wait_placed("n1", "job", ("n1", "normal", "up"))
    assert "waiting" not in (agents.status("n2") or {"waiting": "no status"})
    code, text = get(address, "/health")
    assert code == 200 and "waiting" not in json.loads(text), text
    code, text = get(address, "/metrics")
    assert gauge(text, "crg_start_wait_remaining_seconds") == 0, text
    assert gauge(text, "crg_start_wait_nodes") == 0, text
    started = [(e["event"], e.get("node")) for n in ("n1", "n2", "n3")
               for e in agents.events(n) if e["event"] in ("service-up", "alert", "stranded")]
    assert started == [("service-up", "n1")], started
