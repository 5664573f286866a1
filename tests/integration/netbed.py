"""A private LAN made of network namespaces, for the multi-host tests and benchmarks.

::

    <run>-lan   bridge "lan" 10.213.0.1/24 (+ .2, .3 for more etcd members), etcd runs here
      ├─ veth ── <run>-n1      eth0 10.213.0.11/24   fd13::11/64
      ├─ veth ── <run>-n2      eth0 10.213.0.12/24   fd13::12/64
      ├─ veth ── <run>-n3      eth0 10.213.0.13/24   fd13::13/64
      └─ veth ── <run>-client  eth0 10.213.0.100/24  fd13::100/64

Nothing is created in the namespace the tests run in: the bridge lives in its own
namespace, so no packet of the test bed can reach or come from any other network.
Every name starts with ``crgt<pid>x<n>-``; :func:`reap_leftovers` removes what a run that
died without cleaning up (SIGKILL, power loss) left behind, found by its dead pid.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from etcd_server import EtcdCluster
from nsthread import in_netns

T = TypeVar("T")
__all__ = ["NetBed", "in_netns", "namespaces", "pids_in", "reap_leftovers",
           "unavailable_reason"]

PREFIX = "crgt"
SUBNET = "10.213.0"
SUBNET6 = "fd13:"
NODE_HOSTS = {"n1": 11, "n2": 12, "n3": 13}
CLIENT_HOST = 100
ETCD_HOSTS = (1, 2, 3)
_runs = itertools.count(1)


def unavailable_reason() -> str | None:
    """Why the namespace test bed cannot run here, or None when it can."""
    if os.geteuid() != 0:
        return "needs root to create network namespaces (CI runs as root)"
    if shutil.which("ip") is None:
        return "needs iproute2's ip command (.ci/test installs it)"
    probe = f"{PREFIX}{os.getpid()}probe"
    made = subprocess.run(["ip", "netns", "add", probe], capture_output=True, check=False)
    if made.returncode != 0:
        return f"cannot create network namespaces: {made.stderr.decode().strip()}"
    subprocess.run(["ip", "netns", "del", probe], capture_output=True, check=False)
    return None


def ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(["ip", *args], capture_output=True, text=True, check=False,
                            timeout=20)
    if check and result.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)}: {result.stderr.strip()}")
    return result


def namespaces() -> list[str]:
    out = ip("netns", "list", check=False).stdout
    return [line.split()[0] for line in out.splitlines() if line.strip()]


def pids_in(ns: str) -> list[int]:
    out = ip("netns", "pids", ns, check=False).stdout
    return [int(p) for p in out.split() if p.isdigit()]


def kill_all_in(ns: str) -> None:
    """SIGKILL every process in a namespace, until none is left (bounded)."""
    for _ in range(50):
        pids = [p for p in pids_in(ns) if p != os.getpid()]
        if not pids:
            return
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.02)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def reap_leftovers() -> list[str]:
    """Delete the namespaces (and kill their processes) of test runs that are gone."""
    reaped = []
    for ns in namespaces():
        if not ns.startswith(PREFIX):
            continue
        owner = ns[len(PREFIX):].split("x", 1)[0].split("-", 1)[0]
        if owner.isdigit() and not _alive(int(owner)):
            kill_all_in(ns)
            ip("netns", "del", ns, check=False)
            reaped.append(ns)
    return reaped


@dataclass
class NetBed:
    workdir: Path
    nodes: tuple[str, ...] = ("n1", "n2", "n3")
    etcd_members: int = 1
    run: str = field(default_factory=lambda: f"{PREFIX}{os.getpid()}x{next(_runs)}")
    etcd: EtcdCluster | None = None
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    created: list[str] = field(default_factory=list)

    # -- names and addresses ---------------------------------------------------------

    def ns(self, role: str) -> str:
        return f"{self.run}-{role}"

    @property
    def lan(self) -> str:
        return self.ns("lan")

    @property
    def client(self) -> str:
        return self.ns("client")

    @staticmethod
    def address(role: str) -> str:
        return f"{SUBNET}.{CLIENT_HOST if role == 'client' else NODE_HOSTS[role]}"

    @staticmethod
    def address6(role: str) -> str:
        return f"{SUBNET6}:{CLIENT_HOST if role == 'client' else NODE_HOSTS[role]}"

    # -- life cycle ------------------------------------------------------------------

    def create(self) -> NetBed:
        reap_leftovers()
        self._add_ns(self.lan)
        ip("-n", self.lan, "link", "add", "lan", "type", "bridge", "stp_state", "0")
        ip("-n", self.lan, "link", "set", "lan", "up")
        for host in ETCD_HOSTS[: self.etcd_members]:
            ip("-n", self.lan, "addr", "add", f"{SUBNET}.{host}/24", "dev", "lan")
        for role in (*self.nodes, "client"):
            ns = self.ns(role)
            self._add_ns(ns)
            ip("-n", self.lan, "link", "add", f"v-{role}", "type", "veth",
               "peer", "name", "eth0", "netns", ns)
            ip("-n", self.lan, "link", "set", f"v-{role}", "master", "lan", "up")
            ip("-n", ns, "addr", "add", f"{self.address(role)}/24", "dev", "eth0")
            ip("-n", ns, "addr", "add", f"{self.address6(role)}/64", "dev", "eth0", "nodad")
            ip("-n", ns, "link", "set", "eth0", "up")
        return self

    def _add_ns(self, ns: str) -> None:
        ip("netns", "add", ns)
        self.created.append(ns)
        ip("-n", ns, "link", "set", "lo", "up")

    def start_etcd(self) -> EtcdCluster:
        hosts = tuple(f"{SUBNET}.{h}" for h in ETCD_HOSTS[: self.etcd_members])
        # Default raft timings here: the leader-kill scenario should see a real election.
        self.etcd = EtcdCluster(self.workdir, hosts=hosts, netns=self.lan,
                                heartbeat_ms=100, election_ms=1000)
        self.etcd.start(timeout_s=30)
        return self.etcd

    def destroy(self) -> None:
        """Kill everything started here and delete every namespace; never raises."""
        for process in self.processes:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGKILL)
        for process in self.processes:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=5)
        if self.etcd is not None:
            with contextlib.suppress(Exception):
                self.etcd.stop()
        for ns in reversed(self.created):
            with contextlib.suppress(Exception):
                kill_all_in(ns)
                ip("netns", "del", ns, check=False)
        self.created.clear()

    # -- processes -------------------------------------------------------------------

    def popen(self, role: str, argv: list[str], log: Path | None = None,
              **kwargs: object) -> subprocess.Popen[bytes]:
        """Start ``argv`` inside a namespace, in a session of its own (killable as a group)."""
        out = log.open("ab") if log is not None else subprocess.DEVNULL
        try:
            process = subprocess.Popen(["ip", "netns", "exec", self.ns(role), *argv],
                                       stdout=out, stderr=out, stdin=subprocess.DEVNULL,
                                       start_new_session=True, **kwargs)  # type: ignore[call-overload]
        finally:
            if log is not None:
                out.close()  # type: ignore[union-attr]
        self.processes.append(process)
        return process

    def exec(self, role: str, *argv: str, check: bool = True,
             timeout: float = 30) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(["ip", "netns", "exec", self.ns(role), *argv],
                                capture_output=True, text=True, check=False, timeout=timeout)
        if check and result.returncode != 0:
            raise RuntimeError(f"{' '.join(argv)} in {role}: {result.stderr.strip()}")
        return result

    def call(self, role: str, fn: Callable[[], T], timeout_s: float = 30.0) -> T:
        return in_netns(self.ns(role), fn, timeout_s)

    # -- faults ----------------------------------------------------------------------

    def cut(self, node: str) -> None:
        """Partition: the node's port leaves the bridge, so its packets go nowhere, while
        its link stays up with carrier. (Taking the port down would drop the carrier on
        the node's side, which software can see: keepalived, for one, then releases its
        addresses. A partition further away, a switch failing upstream, gives no such
        hint.)"""
        ip("-n", self.lan, "link", "set", f"v-{node}", "nomaster")

    def heal(self, node: str) -> None:
        ip("-n", self.lan, "link", "set", f"v-{node}", "master", "lan")

    def crash(self, node: str) -> None:
        """A node crash: every process in it dies at once, its link goes down and its
        addresses are gone (a dead host neither answers for nor holds any address)."""
        ns = self.ns(node)
        ip("-n", ns, "link", "set", "eth0", "down")
        kill_all_in(ns)
        ip("-n", ns, "addr", "flush", "dev", "eth0")

    def revive(self, node: str) -> None:
        """The crashed node boots again: its own addresses only, link up."""
        ns = self.ns(node)
        ip("-n", ns, "addr", "add", f"{self.address(node)}/24", "dev", "eth0")
        ip("-n", ns, "addr", "add", f"{self.address6(node)}/64", "dev", "eth0", "nodad")
        ip("-n", ns, "link", "set", "eth0", "up")
