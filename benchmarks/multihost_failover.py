#!/usr/bin/env python3
"""Failover on several hosts: how long a client waits before the VIP answers from the new
node, for crg and for keepalived (the anchor) on the same namespace LAN, plus how fast a
client learns that an address is held in offline mode versus unheld.

Usage (root; from the repository root; see benchmarks/README.md)::

    python3 benchmarks/multihost_failover.py                  # both systems, 5 runs each
    python3 benchmarks/multihost_failover.py --system keepalived --runs 3 --json out.json

Failures, each on a fresh test bed (tests/integration/netbed.py) with the service on n1:

* ``node-crash``: every process of n1 killed, its link down, its addresses gone;
* ``agent-kill``: SIGKILL to the cluster software on n1 only (crg's agent, or keepalived's
  processes); keepalived's application keeps running, crg's fencing watchdog kills it;
* ``partition``: n1's cable pulled at the bridge; n1 runs on.

Measured from the failure: the time until a connection from the client namespace is
answered by another node (probing every 20 ms), and, from the VIP sampler (every 20 ms),
how long two nodes held the VIP at once. Medians over ``--runs``.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from multihost_common import (
    PORT,
    ROOT,
    TIMING,
    Hosts,
    NetBed,
    Sampler,
    ask,
    etcd_available,
    in_netns,
    median,
    unavailable_reason,
    wait_for_answer_from_other,
)

VIP = "10.213.0.80"
PRIORITIES = {"n1": 150, "n2": 100, "n3": 50}
FAILURES = ("node-crash", "agent-kill", "partition")
SETTLE_TIMEOUT_S = 15.0
FAILOVER_TIMEOUT_S = 20.0


@dataclass
class Run:
    system: str
    failure: str
    failover_s: float | None
    new_node: str
    double_s: float
    """total time two nodes held the VIP (sampler), until the end of the run"""
    double_at_end: bool
    """two holders still, one second after the client reached the new node"""


@dataclass
class Figures:
    runs: list[Run] = field(default_factory=list)
    refusal_ms: float | None = None
    unheld_wait_ms: float | None = None
    unheld_outcome: str = ""


def double_seconds(sampler: Sampler) -> float:
    changes = [*sampler.changes, sampler.sample()]
    total = 0.0
    for current, following in itertools.pairwise(changes):
        if len(current.holders[VIP]) > 1:
            total += following.at - current.at
    return total


# -- crg ----------------------------------------------------------------------------

CRG_CONFIG = """cluster bench {{
  nodes n1 n2 n3
{timing}
  assume faults crash, app-fault, switchover, partition
}}
group svc {{
  vip {vip}/24
  app {{
    start "{python} {serve} serve {{node}} {{vip}} {port}"
    stop signal TERM timeout 2s
  }}
  monitor tcp "{{vip}}:{port}" every 250ms timeout 200ms fails 2
  preferred n1
  possible n2, n3
  failback manual
}}
"""


class Crg:
    """One ``crg run --node`` agent per node namespace (the integration tests' Hosts), a
    one-member etcd on the LAN, the scenario tests' timings: lease 2 s (etcd's least),
    heartbeat 250 ms, store-timeout 400 ms, fence-margin 500 ms."""

    name = "crg"

    def __init__(self, bed: NetBed, workdir: Path) -> None:
        self.bed = bed
        text = CRG_CONFIG.format(timing=TIMING.format(lease="2s"), vip=VIP, port=PORT,
                                 python=sys.executable,
                                 serve=ROOT / "benchmarks" / "multihost_common.py")
        self.hosts = Hosts(bed, workdir, name="bench", text=text)

    def start(self) -> None:
        self.bed.start_etcd()
        self.hosts.start_all()

    def kill_agent(self, node: str) -> None:
        self.hosts.kill(node)


# -- keepalived ---------------------------------------------------------------------


class Keepalived:
    name = "keepalived"

    def __init__(self, bed: NetBed, workdir: Path) -> None:
        self.bed, self.workdir = bed, workdir
        self.daemons: dict[str, subprocess.Popen[bytes]] = {}

    def start(self) -> None:
        template = (ROOT / "benchmarks" / "keepalived" / "keepalived.conf.in").read_text()
        for node in self.bed.nodes:
            conf = self.workdir / f"keepalived-{node}.conf"
            conf.write_text(template.replace("@NODE@", node)
                            .replace("@PRIORITY@", str(PRIORITIES[node]))
                            .replace("@VIP@", f"{VIP}/24"))
            pid = self.workdir / f"{node}"
            self.daemons[node] = self.bed.popen(node, [
                "keepalived", "-n", "-l", "-G", "-f", str(conf), "-p", f"{pid}.pid",
                "-r", f"{pid}-vrrp.pid", "-c", f"{pid}-checkers.pid"],
                log=self.workdir / f"keepalived-{node}.log")
            self.bed.popen(node, [sys.executable, str(ROOT / "benchmarks" /
                                                      "multihost_common.py"),
                                  "serve", node, "0.0.0.0", str(PORT)])

    def kill_agent(self, node: str) -> None:
        # keepalived forks a VRRP child; kill the whole process group, like SIGKILL of a
        # service's main process and its helpers.
        os.killpg(self.daemons[node].pid, signal.SIGKILL)


def one_run(system_name: str, failure: str, workdir: Path) -> Run:
    workdir.mkdir(parents=True, exist_ok=True)
    bed = NetBed(workdir)
    try:
        bed.create()
        system: Crg | Keepalived = (Crg if system_name == "crg" else Keepalived)(bed, workdir)
        system.start()
        nodes = {n: bed.ns(n) for n in bed.nodes}
        with Sampler(nodes, (VIP,)) as sampler:
            if sampler.wait_for(VIP, {"n1"}, SETTLE_TIMEOUT_S) is None:
                raise RuntimeError(f"{system_name} never put {VIP} on n1")
            settled_at = time.monotonic() + SETTLE_TIMEOUT_S
            while in_netns(bed.client, lambda: ask(VIP))[0] != "n1":
                if time.monotonic() > settled_at:
                    raise RuntimeError("the client never reached n1")
                time.sleep(0.02)
            sampler.doubles.clear()
            sampler.changes[:] = sampler.changes[-1:]
            t0 = time.monotonic()
            if failure == "node-crash":
                bed.crash("n1")
            elif failure == "agent-kill":
                system.kill_agent("n1")
            else:
                bed.cut("n1")
            took, node = in_netns(bed.client, lambda: wait_for_answer_from_other(
                VIP, "n1", t0, FAILOVER_TIMEOUT_S), FAILOVER_TIMEOUT_S + 10)
            time.sleep(1.0)  # see whether the old holder lets go
            double = double_seconds(sampler)
            at_end = len(sampler.sample().holders[VIP]) > 1
        return Run(system_name, failure, took, node, double, at_end)
    finally:
        bed.destroy()


# -- offline mode versus an unheld address ------------------------------------------


def refusal_and_hang(workdir: Path, figures: Figures) -> None:
    """A held VIP without a listener (what offline mode leaves) refuses at once; an
    address nobody holds leaves the client waiting for ARP to give up."""
    workdir.mkdir(parents=True, exist_ok=True)
    bed = NetBed(workdir)
    try:
        bed.create()
        bed.exec("n2", "ip", "addr", "add", f"{VIP}/24", "dev", "eth0")
        refused = [in_netns(bed.client, lambda: ask(VIP, PORT, 5.0)) for _ in range(7)]
        assert all(a == "refused" for a, _ in refused), refused
        figures.refusal_ms = median([t * 1000 for _, t in refused])
        bed.exec("n2", "ip", "addr", "del", f"{VIP}/24", "dev", "eth0")
        answer, took = in_netns(bed.client, lambda: ask("10.213.0.81", PORT, 10.0), 20)
        figures.unheld_outcome, figures.unheld_wait_ms = answer, took * 1000
    finally:
        bed.destroy()


# -- report -------------------------------------------------------------------------


def _failover(runs: list[Run]) -> tuple[float | None, str]:
    took = median([r.failover_s for r in runs])
    never = sum(r.failover_s is None for r in runs)
    found = [r.failover_s for r in runs if r.failover_s is not None]
    shown = "never" if took is None else (f"{took:.2f} s ({min(found):.2f}–"
                                         f"{max(found):.2f})")
    if never and took is not None:
        shown += f", {never} never"
    return took, shown


def report(figures: Figures, runs: int) -> str:
    """Side by side: crg and keepalived for each failure, with the ratio of the medians."""
    lines = [f"machine: {os.cpu_count()} cores, {platform.machine()}, Python "
             f"{platform.python_version()}; median (min–max) of {runs} runs", "",
             "| failure | crg: client reaches the new node | keepalived | crg / keepalived "
             "| two holders, crg | two holders, keepalived | still two 1 s later, crg "
             "| keepalived |", "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for failure in FAILURES:
        row: dict[str, tuple[float | None, str, str, str]] = {}
        for system in ("crg", "keepalived"):
            mine = [r for r in figures.runs if r.system == system and r.failure == failure]
            if mine:
                took, shown = _failover(mine)
                double = f"{median([r.double_s for r in mine]) or 0:.2f} s"
                stuck = f"{sum(r.double_at_end for r in mine)} of {len(mine)}"
                row[system] = (took, shown, double, stuck)
        if not row:
            continue
        empty: tuple[float | None, str, str, str] = (None, "—", "—", "—")
        crg, kad = row.get("crg", empty), row.get("keepalived", empty)
        ratio = f"{crg[0] / kad[0]:.2f}" if crg[0] and kad[0] else "—"
        lines.append(f"| {failure} | {crg[1]} | {kad[1]} | {ratio} | {crg[2]} | {kad[2]} "
                     f"| {crg[3]} | {kad[3]} |")
    if figures.refusal_ms is not None:
        lines += ["", f"held VIP, no listener (offline mode): refused in "
                      f"{figures.refusal_ms:.2f} ms (median of 7)",
                  f"unheld address: {figures.unheld_outcome} after "
                  f"{figures.unheld_wait_ms or 0:.0f} ms"]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--system", choices=("both", "crg", "keepalived"), default="both")
    parser.add_argument("--failure", choices=FAILURES, action="append")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    reason = unavailable_reason()
    if reason is not None:
        print(f"multihost_failover: {reason}", file=sys.stderr)
        return 2
    systems = ["crg", "keepalived"] if args.system == "both" else [args.system]
    if "crg" in systems and not etcd_available():
        print("multihost_failover: crg needs Debian's etcd-server (/usr/bin/etcd)",
              file=sys.stderr)
        return 2
    figures = Figures()
    with tempfile.TemporaryDirectory(prefix="crg-bench-") as tmp:
        for failure in args.failure or FAILURES:
            for system in systems:
                for i in range(args.runs):
                    run = one_run(system, failure, Path(tmp) / f"{system}-{failure}-{i}")
                    print(f"{system} {failure} #{i + 1}: {run.failover_s} s -> "
                          f"{run.new_node}, two holders {run.double_s:.2f} s"
                          f"{' (still)' if run.double_at_end else ''}", flush=True)
                    figures.runs.append(run)
        refusal_and_hang(Path(tmp) / "refusal", figures)
    print(report(figures, args.runs))
    if args.json:
        payload: dict[str, Any] = asdict(figures)
        args.json.write_text(json.dumps(payload, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
