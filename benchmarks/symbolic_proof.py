"""Time for the symbolic engine to prove every invariant of large generated configurations.

    python3 benchmarks/symbolic_proof.py               # web-tier-avoid, 16/32/64 x 64/256, 3 runs
    python3 benchmarks/symbolic_proof.py --quick       # one small config, one run
    python3 benchmarks/symbolic_proof.py --runs 5 --json figures.json

Configs: ``configs/web-tier-avoid.crg`` (web-tier with db avoiding api: beyond the
explicit engine, 36 million states), then generated ones. Each is proved with
``crg.checker.symbolic.api.prove`` (the same call as ``crg check --engine symbolic``),
configuration facts included; the figures are the median wall time and the median CPU
time of the runs (the machine may be shared).
Every property must hold, liveness included (by a ranking function, or the explicit
fallback): the benchmark fails otherwise, so a figure is never the time to give up. Times
are wall and CPU (the process and its worker processes).
``--no-shapes`` also times 16 x 64 with every component proved on its own.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import psutil
import z3

from crg.checker.options import default_jobs
from crg.checker.symbolic.api import LIVENESS_LABEL, ProofOptions, prove
from crg.dsl import Config, load, parse

# examples/web-tier.crg with db avoiding api: beyond the explicit engine (36 M states).
AVOID_CONFIG = Path(__file__).resolve().parent / "configs" / "web-tier-avoid.crg"
FAULTS = "crash, app-fault, switchover, drain, partition"


def generated(nodes: int, groups: int, down: int = 1) -> Config:
    """Group g prefers a node spread round the cluster, with 1-3 possible nodes after it;
    kinds, failback and budgets vary with g, every 16th group avoids the one before it;
    every fault kind is explored."""
    names = [f"n{i + 1}" for i in range(nodes)]
    text = (f"cluster big {{\n  nodes {' '.join(names)}\n"
            f"  assume at most {down} node{'s' if down != 1 else ''} down\n"
            f"  assume faults {FAULTS}\n}}\n")
    for g in range(groups):
        length = 2 + g % 3
        candidates = [names[(g * 7 + k * 3) % nodes] for k in range(length)]
        kind = "instance" if g % 4 == 3 else "failover"
        failback = "manual" if g % 2 else "auto"
        avoid = f"  avoid g{g}\n" if g % 16 == 1 else ""
        text += (f"group g{g + 1} {{\n  vip 10.{g // 250}.{g % 250}.1/16\n  kind {kind}\n"
                 f"  app {{ start \"/srv/app{g}\" }}\n  monitor process\n"
                 f"  preferred {candidates[0]}\n  possible {', '.join(candidates[1:])}\n"
                 f"  failback {failback}\n  restarts {g % 3}\n{avoid}}}\n")
    return parse(text, f"generated-{nodes}x{groups}.crg")


def _cpu() -> float:
    own, workers = (resource.getrusage(w) for w in (resource.RUSAGE_SELF,
                                                     resource.RUSAGE_CHILDREN))
    return own.ru_utime + own.ru_stime + workers.ru_utime + workers.ru_stime


def measure(config: Config, options: ProofOptions) -> dict[str, Any]:
    started, cpu = time.perf_counter(), _cpu()
    result = prove(config, options)
    seconds = time.perf_counter() - started
    cpu = _cpu() - cpu
    open_ = {k: v for k, v in result.verdicts.items() if v != "holds"}
    if open_:
        raise SystemExit(f"not proved: {open_}")
    parts = result.details["components"]
    proved = [p for p in parts if not p["reused_from"]]
    return {"seconds": seconds, "cpu": cpu, "components": len(parts), "shapes": len(proved),
            "per_shape": statistics.median(p["seconds"] for p in proved),
            "nodes_proved": max(p["nodes"] for p in proved),
            "queries": sum(p["queries"] for p in proved),
            "liveness_proved": sum(1 for p in proved
                                   if (p["liveness"] or {}).get("decided_by") == "z3"),
            "liveness": result.verdicts.get(LIVENESS_LABEL, "n/a")}


def machine() -> str:
    return (f"{psutil.cpu_count(logical=True)} cores ({platform.machine()}), "
            f"Python {platform.python_version()}, z3 {z3.get_version_string()}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--no-shapes", action="store_true",
                        help="also time 16x64 with every component proved separately")
    parser.add_argument("--jobs", type=int, default=default_jobs(),
                        help="worker processes for the shapes (default: one per core)")
    parser.add_argument("--only", metavar="NxG", help="one generated size, e.g. 64x256")
    parser.add_argument("--json", metavar="FILE")
    args = parser.parse_args(argv)
    sizes: list[tuple[int, int] | str] = (
        [(16, 16)] if args.quick
        else [str(AVOID_CONFIG), *[(n, g) for n in (16, 32, 64) for g in (64, 256)]])
    if args.only:
        n, g = args.only.split("x")
        sizes = [(int(n), int(g))]
    runs = 1 if args.quick else args.runs
    rows = []
    print(machine(), f"load average {os.getloadavg()[0]:.1f}, {args.jobs} workers")
    variants = [("shapes", ProofOptions(jobs=args.jobs))]
    if args.no_shapes:
        variants.append(("no-shapes", ProofOptions(symmetry=False, jobs=args.jobs)))
    for size in sizes:
        if isinstance(size, str):
            config, label = load(size), Path(size).stem
            nodes, groups = len(config.nodes), len(config.groups)
        else:
            nodes, groups = size
            config, label = generated(nodes, groups), f"{nodes} nodes x {groups} groups"
        for name, options in variants:
            if name == "no-shapes" and (nodes, groups) != (16, 64):
                continue
            results = [measure(config, options) for _ in range(runs)]
            row = dict(results[0])
            row["seconds"] = statistics.median(r["seconds"] for r in results)
            row["cpu"] = statistics.median(r["cpu"] for r in results)
            row.update(config=label, nodes=nodes, groups=groups, variant=name, runs=runs)
            rows.append(row)
            print(f"{label:<22} {name:<9} {row['seconds']:6.1f} s ({row['cpu']:5.1f} s CPU)  "
                  f"({row['shapes']} shapes of {row['components']} components, "
                  f"{row['per_shape']:.2f} s a shape on {row['nodes_proved']} nodes, "
                  f"{row['queries']} queries; liveness {row['liveness']}, by a ranking "
                  f"function for {row['liveness_proved']} of {row['shapes']} shapes; "
                  f"load {os.getloadavg()[0]:.1f})", flush=True)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as out:
            json.dump({"machine": machine(), "rows": rows}, out, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
