"""One configuration across hosts, with real agents and a real etcd (on loopback, no
root needed: ``--address null``): a second agent whose file differs is refused, naming
the difference; one whose file differs only in comments and layout joins; a running
agent raises a runtime alert when a live node publishes another configuration; ``crg
status`` shows the fingerprints."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from etcd_server import EtcdCluster

from crg.dsl import parse
from crg.runtime.agreement import node_record
from crg.runtime.control import ControlError, request
from crg.runtime.fingerprint import fingerprint, short
from crg.runtime.records import Keys
from crg.runtime.store.etcd import EtcdStore

pytestmark = pytest.mark.timeout(120)

CONFIG = """cluster {name} {{
  nodes n1 n2 n3
  lease 2s
  heartbeat 250ms
  store-timeout 400ms
  fence-margin 500ms
}}
group job {{
  vip 127.0.78.9/8
  app {{ start "{python} -c 'import time; time.sleep(300)'" stop signal TERM timeout 2s }}
  monitor process every {every}
  preferred n1
  possible n2, n3
}}
"""


class Agents:
    def __init__(self, etcd: EtcdCluster, workdir: Path, name: str) -> None:
        self.etcd, self.workdir, self.name = etcd, workdir, name
        self.processes: dict[str, subprocess.Popen[str]] = {}

    def write(self, file: str, every: str = "250ms", prefix: str = "") -> Path:
        path = self.workdir / file
        path.write_text(prefix + CONFIG.format(name=self.name, python=sys.executable,
                                               every=every))
        return path

    def start(self, node: str, config: Path) -> subprocess.Popen[str]:
        process = subprocess.Popen(
            [sys.executable, "-m", "crg", "run", str(config), "--node", node, "--store",
             self.etcd.url, "--address", "null", "--run-dir", str(self.run_dir(node)),
             "--events", str(self.workdir / f"events-{node}.jsonl")],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            start_new_session=True)
        self.processes[node] = process
        return process

    def run_dir(self, node: str) -> Path:
        return self.workdir / f"run-{node}"

    def status(self, node: str) -> dict[str, object] | None:
        try:
            found: dict[str, object] = request(self.run_dir(node) / "control.sock",
                                               {"op": "status"}, timeout_s=2)["status"]
        except ControlError:
            return None
        return found

    def wait_running(self, node: str, timeout_s: float = 40) -> dict[str, object]:
        deadline = time.monotonic() + timeout_s
        while True:
            found = self.status(node)
            if found is not None and found.get("agent") == "running":
                return found
            process = self.processes[node]
            assert process.poll() is None, process.communicate()[0]
            assert time.monotonic() < deadline, f"{node}'s agent did not start"
            time.sleep(0.1)

    def events(self, node: str) -> list[dict[str, object]]:
        path = self.workdir / f"events-{node}.jsonl"
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text().split("\n")[:-1] if line]

    def stop_all(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes.values():
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)


@pytest.fixture
def agents(etcd: EtcdCluster, tmp_path: Path) -> Iterator[Agents]:
    found = Agents(etcd, tmp_path, f"agree{os.getpid()}{time.monotonic_ns() % 10**6}")
    try:
        yield found
    finally:
        found.stop_all()


def test_a_second_agent_with_another_configuration_refuses_to_start(agents: Agents) -> None:
    ours = agents.write("ours.crg")
    agents.start("n1", ours)
    status = agents.wait_running("n1")
    sha_ours = fingerprint(parse(ours.read_text(), "ours.crg"))[0]
    assert status["config_sha256"] == sha_ours
    assert status["node_configs"] == {"n1": sha_ours}

    theirs = agents.write("theirs.crg", every="500ms")
    sha_theirs = fingerprint(parse(theirs.read_text(), "theirs.crg"))[0]
    refused = agents.start("n2", theirs)
    output, _ = refused.communicate(timeout=60)
    assert refused.returncode == 2, output
    assert f"sha256 {short(sha_theirs)}" in output and f"sha256 {short(sha_ours)}" in output
    assert ("group job: monitors[0].interval_ms is 500 here, 250 in the running cluster "
            "(n1)") in output, output
    assert "Traceback" not in output
    assert set(agents.status("n1")["node_configs"]) == {"n1"}  # type: ignore[index, arg-type]

    # The same configuration, written differently (comments, layout): welcome.
    same = agents.write("same.crg", prefix="# the same cluster, commented\n\n")
    agents.start("n2", same)
    agents.wait_running("n2")
    assert agents.status("n1")["node_configs"] == {  # type: ignore[index]
        "n1": sha_ours, "n2": sha_ours}


def test_a_running_agent_alerts_when_a_live_node_runs_another_configuration(
        agents: Agents) -> None:
    ours = agents.write("ours.crg")
    agents.start("n1", ours)
    agents.wait_running("n1")
    other = fingerprint(parse(agents.write("other.crg", every="1s").read_text(), "o"))[0]
    keys = Keys(agents.name)

    async def impostor(hold_s: float) -> None:
        """n3 registered (say, while n1 was cut off) with another configuration."""
        store = EtcdStore.from_url(agents.etcd.url)
        try:
            lease = await store.grant(2000)
            assert await store.create(keys.node("n3"), node_record(other), lease)
            deadline = time.monotonic() + hold_s
            while time.monotonic() < deadline:
                await asyncio.sleep(0.5)
                await store.keepalive(lease)
                if any(e["event"] == "runtime-alert" for e in agents.events("n1")):
                    break
            await store.revoke(lease)
        finally:
            await store.close()

    asyncio.run(impostor(20))
    alerts = [e for e in agents.events("n1") if e["event"] == "runtime-alert"]
    assert len(alerts) == 1 and alerts[0]["action"] == "config", alerts
    assert "run by n3" in str(alerts[0]["reason"]), alerts
    assert alerts[0]["group"] is None
