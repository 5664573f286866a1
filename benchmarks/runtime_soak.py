#!/usr/bin/env python3
"""The randomized fault soak of tests/runtime/soak.py, longer than the suite's three
minutes, with its figures (see benchmarks/README.md, "Runtime soak").

Each run starts ``crg run`` on a fresh copy of the quick-start cluster and throws random
application kills, node crashes and joins, switchovers, drains and offline/online at it
for ``--seconds``, sampling every 50 ms for a VIP or an application with two holders;
then undoes them, stops the runtime with SIGTERM and checks its trace with crg conform.
A failure prints its seed; ``--seed N`` replays the same choices.

Usage (from the repository root)::

    python3 benchmarks/runtime_soak.py                      # one run of 15 minutes
    python3 benchmarks/runtime_soak.py --seconds 600 --runs 3 --json figures.json
    python3 benchmarks/runtime_soak.py --seed 2543791276 --seconds 60
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "runtime"))

from soak import Report, soak  # noqa: E402


def commit() -> str:
    try:
        return subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=900.0)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--seed", type=int, help="replay one run's choices")
    parser.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    args = parser.parse_args()
    reports: list[Report] = []
    load_before = os.getloadavg()
    for index in range(args.runs):
        with tempfile.TemporaryDirectory(prefix="crg-soak-") as tmp:
            seed = args.seed if args.seed is not None else None
            started = time.monotonic()
            report = soak(Path(tmp), args.seconds, seed)
            reports.append(report)
            print(f"run {index + 1}: ok in {time.monotonic() - started:.0f} s: {report}",
                  flush=True)
    figures = {
        "commit": commit(), "machine": f"{os.cpu_count()} cores, {platform.machine()}",
        "python": platform.python_version(), "load_before": [round(x, 2) for x in load_before],
        "load_after": [round(x, 2) for x in os.getloadavg()],
        "runs": [dataclasses.asdict(r) for r in reports],
        "totals": {
            "seconds": round(sum(r.seconds for r in reports), 1),
            "operations": sum(sum(r.operations.values()) for r in reports),
            "refused": sum(sum(r.refused.values()) for r in reports),
            "samples": sum(r.samples for r in reports),
            "transitions": sum(r.transitions for r in reports),
            "faults": sum(r.events.get("fault", 0) for r in reports),
            "double_holders": 0,
        },
    }
    print(json.dumps(figures["totals"], indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
