#!/usr/bin/env python3
"""How fast the fencing watchdog lets go after its agent dies or stalls.

Usage (root; from the repository root)::

    python3 benchmarks/multihost_fencing.py [--runs 10]

In node namespace n1 of the test bed, the stand-in agent of the tests
(tests/integration/fake_agent.py) holds a VIP, two application process groups and a
watchdog fed every 50 ms. Measured, polling n1's addresses every millisecond:

* ``sigkill``: from ``kill -9`` of the agent to the VIP gone (the watchdog sees its pipe
  close);
* ``stall``: from SIGSTOP of the agent to the VIP gone. The agent's last feed, at most
  50 ms before the stop, set a deadline 500 ms after itself: anything from 450 to 500 ms
  is on time.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from multihost_common import ROOT, NetBed, median, unavailable_reason
from pyroute2 import IPRoute

VIP = "10.213.0.90"
FAKE_AGENT = str(ROOT / "tests" / "integration" / "fake_agent.py")
DEADLINE_S = 0.5


def held(ipr: IPRoute) -> bool:
    return any((m.get("local") or m.get("address")) == VIP for m in ipr.get_addr())


def once(bed: NetBed, how: str) -> float | None:
    agent = subprocess.Popen(["ip", "netns", "exec", bed.ns("n1"), sys.executable, FAKE_AGENT,
                              "n1", "linux", str(DEADLINE_S), f"{VIP}/24"],
                             stdout=subprocess.PIPE, text=True, start_new_session=True)
    assert agent.stdout is not None
    pids = json.loads(agent.stdout.readline())
    try:
        with IPRoute(netns=bed.ns("n1")) as ipr:
            assert held(ipr)
            t0 = time.monotonic()
            os.kill(agent.pid, signal.SIGKILL if how == "sigkill" else signal.SIGSTOP)
            while held(ipr):
                if time.monotonic() - t0 > 5:
                    return None
                time.sleep(0.001)
            took = time.monotonic() - t0
        return took
    finally:
        agent.kill()
        agent.wait()
        for pid in (pids["watchdog"], *pids["pgids"]):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    reason = unavailable_reason()
    if reason:
        print(f"multihost_fencing: {reason}", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="crg-bench-") as tmp:
        bed = NetBed(Path(tmp))
        try:
            bed.create()
            for how in ("sigkill", "stall"):
                times = [once(bed, how) for _ in range(args.runs)]
                shown = [f"{t * 1000:.1f}" if t is not None else "never" for t in times]
                best = median(times)
                print(f"{how}: median {best * 1000:.1f} ms" if best is not None else
                      f"{how}: never", f"(runs: {', '.join(shown)} ms)")
        finally:
            bed.destroy()
    return 0


if __name__ == "__main__":
    sys.exit(main())
