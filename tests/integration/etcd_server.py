"""Real etcd members for the tests: started from Debian's ``/usr/bin/etcd`` with a data
directory under the test's tmp dir, optionally inside a network namespace, always killed
by :meth:`EtcdCluster.stop` (the fixtures call it in their finalizers)."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from nsthread import in_netns

ETCD = shutil.which("etcd") or "/usr/bin/etcd"


def etcd_available() -> bool:
    return os.access(ETCD, os.X_OK)


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


@dataclass
class Member:
    name: str
    host: str
    client_port: int
    peer_port: int
    data_dir: Path
    log: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def client_url(self) -> str:
        return f"http://{self.host}:{self.client_port}"

    @property
    def peer_url(self) -> str:
        return f"http://{self.host}:{self.peer_port}"

    @property
    def endpoint(self) -> str:
        return f"{self.host}:{self.client_port}"


@dataclass
class EtcdCluster:
    """``hosts``: one address per member (loopback, or the test bed's LAN addresses);
    ``netns``: the namespace the members run in (None: this one)."""

    workdir: Path
    hosts: tuple[str, ...] = ("127.0.0.1",)
    netns: str | None = None
    heartbeat_ms: int = 50
    election_ms: int = 500
    members: list[Member] = field(default_factory=list)

    def __post_init__(self) -> None:
        # Ports are probed free here; inside a fresh namespace every port is free anyway.
        for i, host in enumerate(self.hosts):
            fixed = self.netns is not None
            client = 2379 if fixed else free_port(host)
            peer = 2380 if fixed else free_port(host)
            self.members.append(Member(f"m{i}", host, client, peer, self.workdir / f"etcd-m{i}",
                                       self.workdir / f"etcd-m{i}.log"))

    @property
    def url(self) -> str:
        return "etcd://" + ",".join(m.endpoint for m in self.members)

    def _command(self, m: Member) -> list[str]:
        initial = ",".join(f"{x.name}={x.peer_url}" for x in self.members)
        argv = [ETCD, "--name", m.name, "--data-dir", str(m.data_dir),
                "--listen-client-urls", m.client_url, "--advertise-client-urls", m.client_url,
                "--listen-peer-urls", m.peer_url, "--initial-advertise-peer-urls", m.peer_url,
                "--initial-cluster", initial, "--initial-cluster-state", "new",
                "--initial-cluster-token", f"crg-test-{os.getpid()}",
                "--heartbeat-interval", str(self.heartbeat_ms),
                "--election-timeout", str(self.election_ms),
                "--pre-vote", "--log-level", "warn"]
        return (["ip", "netns", "exec", self.netns] if self.netns else []) + argv

    def start_member(self, m: Member) -> None:
        m.data_dir.mkdir(parents=True, exist_ok=True)
        with m.log.open("ab") as log:
            m.process = subprocess.Popen(self._command(m), stdout=log, stderr=log,
                                         stdin=subprocess.DEVNULL, start_new_session=True)

    def start(self, timeout_s: float = 20.0) -> EtcdCluster:
        for m in self.members:
            self.start_member(m)
        self.wait_healthy(timeout_s)
        return self

    def wait_healthy(self, timeout_s: float = 20.0, members: list[Member] | None = None) -> None:
        """Poll /health of the running members until each says it has a leader."""
        deadline = time.monotonic() + timeout_s
        pending = [m for m in (members or self.members) if self.running(m)]
        while pending:
            m = pending[0]
            if self.healthy(m):
                pending.pop(0)
                continue
            if time.monotonic() > deadline:
                raise TimeoutError(f"etcd {m.name} not healthy after {timeout_s}s:\n"
                                   + m.log.read_text(errors="replace")[-2000:])
            time.sleep(0.05)

    def healthy(self, m: Member) -> bool:
        def probe() -> bool:
            try:
                return bool(httpx.get(m.client_url + "/health", timeout=0.5)
                            .json().get("health") == "true")
            except (httpx.HTTPError, ValueError):
                return False

        return in_netns(self.netns, probe) if self.netns else probe()

    def leader(self) -> Member | None:
        """The member that is raft leader now, as reported by the first running member
        that knows. Asked over etcd's HTTP gateway: gRPC's own threads would stay in
        whatever namespace they were first started from."""
        for m in self.members:
            if not self.running(m):
                continue

            try:
                member_id, leader_id = (in_netns(self.netns, lambda m=m: _status(m))
                                        if self.netns else _status(m))
            except (httpx.HTTPError, KeyError, ValueError):
                continue  # this member cannot tell (no leader yet): ask the next
            if member_id == leader_id:
                return m
            for other in self.members:
                if other is not m and self.running(other):
                    try:
                        mid, _ = (in_netns(self.netns, lambda o=other: _status(o))
                                  if self.netns else _status(other))
                    except (httpx.HTTPError, KeyError, ValueError):
                        continue
                    if mid == leader_id:
                        return other
        return None

    @staticmethod
    def running(m: Member) -> bool:
        return m.process is not None and m.process.poll() is None

    def kill(self, m: Member) -> None:
        """SIGKILL one member (and anything it started), wait for it to be gone."""
        if m.process is None:
            return
        if m.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(m.process.pid, signal.SIGKILL)
            m.process.wait(timeout=10)
        m.process = None

    def restart(self, m: Member, timeout_s: float = 20.0) -> None:
        self.kill(m)
        self.start_member(m)
        self.wait_healthy(timeout_s, [m])

    def stop(self) -> None:
        for m in self.members:
            self.kill(m)


def _status(m: Member) -> tuple[str, str]:
    reply = httpx.post(m.client_url + "/v3/maintenance/status", json={}, timeout=1.0).json()
    return str(reply["header"]["member_id"]), str(reply["leader"])
