"""After a store wipe, the agents wait for each other before placing anything (real
``crg run --node`` agents on a loopback etcd started again on an empty data directory).

Every agent registers again into a store where no group has an owner; the first to do so
(the one with nothing to fence: n2 here, while n1 stops job first) saw every other node
down, placed job on itself — its last node — and paged it, to hand it back to n1 a
moment later (an outside tester's three-host cluster got a false ``stranded`` page too).
Now each waits up to a lease, as at a cold start, for the nodes registered before the
loss."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest
from etcd_server import EtcdCluster
from loopback_agents import Agents

pytestmark = pytest.mark.timeout(150)


def test_after_a_wipe_no_group_lands_on_the_first_node_back(own_etcd: EtcdCluster,
                                                             tmp_path: Path) -> None:
    agents = Agents(own_etcd, tmp_path, f"wait{os.getpid()}{time.monotonic_ns() % 10**6}")
    try:
        config = agents.write("wait.crg")
        agents.start("n1", config)
        agents.wait_running("n1")
        agents.wait_placed("n1", "job", ("n1", "normal", "up"))
        agents.start("n2", config)
        agents.wait_running("n2")

        def pages() -> list[dict[str, object]]:
            return [e for node in ("n1", "n2") for e in agents.events(node)
                    if e.get("event") in ("alert", "stranded")]

        before = pages()  # n1 alone at first: job on its last node, paged then
        member = own_etcd.members[0]
        own_etcd.kill(member)
        shutil.rmtree(member.data_dir)
        own_etcd.start_member(member)
        own_etcd.wait_healthy()

        deadline = time.monotonic() + 60
        while not all((agents.status(n) or {}).get("store_reset") for n in ("n1", "n2")):
            assert time.monotonic() < deadline, agents.status("n2")
            time.sleep(0.2)
        agents.wait_placed("n2", "job", ("n1", "normal", "up"), timeout_s=60)
        waits = [e for node in ("n1", "n2") for e in agents.events(node)
                 if e.get("event") == "start-wait"]
        assert waits, "neither agent waited for the other after the wipe"
        assert all(e["waiting_for"] == ["n2" if e["node"] == "n1" else "n1"]
                   for e in waits), waits  # n3 never ran: not waited for
        assert pages() == before, pages()
    finally:
        agents.stop_all()
