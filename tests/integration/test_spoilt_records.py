"""A record in etcd that another writer spoilt (README, "crg run", *The store*): real
agents on a loopback etcd. While it cannot be read, nothing is decided: each lane says
so once as a runtime alert and tries again every second (not at every change in the
store), ``crg status`` answers with the key and the cause, and no traceback reaches the
log; an agent that starts meanwhile refuses, exit 2; once the record is repaired, the
cluster goes on where it was."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time

import pytest
from loopback_agents import Agents

from crg.runtime.records import Keys
from crg.runtime.store.etcd import EtcdStore

pytestmark = pytest.mark.timeout(120)

SPOILT_S = 3.0
"""How long the record stays spoilt: long enough to see the lanes' pace."""


async def put(url: str, key: str, value: str) -> str:
    """Write ``value`` at ``key`` as a foreign writer would; the value it replaced."""
    store = EtcdStore.from_url(url)
    try:
        before = (await store.snapshot(key)).get(key)
        await store.put(key, value)
        assert before is not None, f"no {key} to spoil"
        return before.value
    finally:
        await store.close()


def crg(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "crg", *argv], capture_output=True,
                          text=True, timeout=60, check=False)


def test_a_spoilt_record_stops_decisions_loudly_and_they_resume_once_repaired(
        agents: Agents) -> None:
    config = agents.write("ours.crg")
    # n1 first, and job settled on it before n2 starts: started together, n2 could take
    # job first (failback manual keeps it there). Settled also because the record put
    # back must be one of a group at rest (one taken while the application was starting
    # would send it through its start again).
    agents.start("n1", config)
    agents.wait_running("n1")
    agents.wait_placed("n1", "job", ("n1", "normal", "up"))
    agents.start("n2", config)
    agents.wait_running("n2")
    owner = Keys(agents.name).owner("job")
    good = asyncio.run(put(agents.etcd.url, owner, "garbage{"))
    assert '"node":"n1"' in good.replace(" ", "")
    spoilt_at = time.monotonic()

    status = crg("status", "--run-dir", str(agents.run_dir("n1")))
    assert status.returncode == 2, status.stdout + status.stderr
    assert (f"the store holds a record this runtime cannot read: {owner}: not JSON"
            in status.stderr), status.stderr
    # A new agent cannot start on it: a clear refusal, not "a bug in crg".
    refused = agents.start("n3", config)
    output, _ = refused.communicate(timeout=60)
    assert refused.returncode == 2, output
    assert f"the store holds a record crg cannot read: {owner}: not JSON" in output
    assert "Traceback" not in output and "bug in crg" not in output

    time.sleep(max(0.0, SPOILT_S - (time.monotonic() - spoilt_at)))
    asyncio.run(put(agents.etcd.url, owner, good))
    spoilt_s = time.monotonic() - spoilt_at
    agents.wait_placed("n1", "job", ("n1", "normal", "up"))  # status answers again
    # Both lanes decide again: n1's halts the group, n2's runs it.
    moved = crg("switchover", "job", "n2", "--run-dir", str(agents.run_dir("n1")))
    assert moved.returncode == 0, moved.stdout + moved.stderr
    assert "job: failover on n2, application up" in moved.stdout, moved.stdout

    for node in ("n1", "n2"):
        alerts = [e for e in agents.events(node) if e["event"] == "runtime-alert"
                  and "cannot read" in str(e["reason"])]
        # Once for the lane (one group, no service events to deliver): one episode,
        # however many tries.
        assert [(a["action"], a["group"]) for a in alerts] == [("cycle", "job")], alerts
    agents.stop_all()
    for node in ("n1", "n2"):
        log = agents.processes[node].communicate(timeout=10)[0]
        assert "Traceback" not in log, log[-3000:]
        tries = log.count("cycle of job failed again")
        # Every second, not at every change in the store (that spun at 40 a second).
        assert tries <= spoilt_s + 2, (tries, spoilt_s)
        assert f"{node}: cycle of job works again" in log, log[-3000:]
