"""Real ``crg run --node`` agents of one small cluster on a loopback etcd, no root needed
(``--address null``): started as processes of their own, read back through their control
sockets and ``--events`` files, stopped with SIGTERM (SIGKILL to the session if they
linger)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from etcd_server import EtcdCluster

from crg.runtime.control import ControlError, request

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

    def start(self, node: str, config: Path, *options: str) -> subprocess.Popen[str]:
        process = subprocess.Popen(
            [sys.executable, "-m", "crg", "run", str(config), "--node", node, "--store",
             self.etcd.url, "--address", "null", "--run-dir", str(self.run_dir(node)),
             "--events", str(self.workdir / f"events-{node}.jsonl"), *options],
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

    def wait_placed(self, node: str, group: str, where: tuple[str, str, str],
                    timeout_s: float = 30) -> None:
        """Until ``node``'s status shows ``group`` as ``where`` (its node, mode and
        application), or fail with the last placement seen."""
        deadline = time.monotonic() + timeout_s
        seen: tuple[object, ...] | None = None
        while seen != where:
            assert time.monotonic() < deadline, f"{group} is {seen}, not {where}"
            time.sleep(0.1)
            groups = (self.status(node) or {}).get("groups")
            if isinstance(groups, list):
                seen = next(((g["node"], g["mode"], g["app"]) for g in groups
                             if g["group"] == group), None)

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
