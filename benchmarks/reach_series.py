"""Time to verdict of plain ``crg check`` on ordinary configurations that used to get none.

    python3 benchmarks/reach_series.py                    # 5 configs x 3 variants x 3 runs
    python3 benchmarks/reach_series.py --runs 1 --only web-tier-avoid
    python3 benchmarks/reach_series.py --explicit web-tier-avoid   # the explicit engine alone
    python3 benchmarks/reach_series.py --json figures.json

The configurations are ``benchmarks/configs/*.crg`` (their headers say what each is).
Each run is ``python -m crg check --format json`` in a fresh process, so the figures are
what a user waits for: wall time, and the CPU time of the process and its workers (the
machine may be shared: compare CPU times, or wall times taken side by side). Variants:
the default (``--engine auto``, partial-order reduction on, one worker per core),
``--no-reduction``, and ``-j 1`` (one process). Each row is the median of the runs by wall
time, with its exit status, the explicit engine's states and which engine decided.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from checker_common import machine, timed_check

CONFIGS = Path(__file__).resolve().parent / "configs"
VARIANTS = {"default": [], "no-reduction": ["--no-reduction"], "serial": ["-j", "1"]}


def run_check(path: Path, extra: list[str]) -> dict[str, Any]:
    done = timed_check(path, extra)
    wall, cpu = done.wall_s, done.cpu_s
    entry = json.loads(done.out)["files"][0] if done.out.strip() else {}
    explicit = entry.get("check") or {}
    engines = sorted({p.get("decided_by") or "" for p in
                      (entry.get("symbolic") or {}).get("details", {}).get(
                          "invariants", {}).values()} - {""})
    return {"exit": done.exit, "wall_s": round(wall, 2), "cpu_s": round(cpu, 2),
            "states": explicit.get("states"), "status": entry.get("status"),
            "undecided": entry.get("undecided", []),
            "handed_to_z3": [c["groups"] for c in explicit.get("components", [])
                             if c.get("limit") == "auto"],
            "predicted": [c["groups"] for c in explicit.get("components", [])
                          if c.get("predicted")],
            "symbolic_engines": engines}


def median_run(path: Path, extra: list[str], runs: int) -> dict[str, Any]:
    results = [run_check(path, extra) for _ in range(runs)]
    middle = statistics.median_low([r["wall_s"] for r in results])
    row = next(r for r in results if r["wall_s"] == middle)
    row["walls"] = [r["wall_s"] for r in results]
    row["cpus"] = [r["cpu_s"] for r in results]
    return row


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--only", help="one configuration (file name without .crg)")
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--explicit", metavar="NAME",
                        help="instead, time --engine explicit on one configuration, once")
    parser.add_argument("--json", metavar="FILE")
    args = parser.parse_args()
    unknown = sorted(set(args.variants.split(",")) - set(VARIANTS))
    if unknown:
        parser.error(f"unknown variant {', '.join(unknown)} (known: {', '.join(VARIANTS)})")
    names = [args.only, args.explicit]
    for name in (n for n in names if n and not (CONFIGS / f"{n}.crg").is_file()):
        known = ", ".join(p.stem for p in sorted(CONFIGS.glob("*.crg")))
        parser.error(f"no configuration {name} (known: {known})")
    print(machine(), f"load average {os.getloadavg()[0]:.1f}")
    if args.explicit:
        row = run_check(CONFIGS / f"{args.explicit}.crg", ["--engine", "explicit"])
        print(json.dumps(row, indent=2))
        result: Any = row
    else:
        configs = sorted(CONFIGS.glob("*.crg"))
        if args.only:
            configs = [CONFIGS / f"{args.only}.crg"]
        result = []
        for path in configs:
            for variant in args.variants.split(","):
                row = median_run(path, VARIANTS[variant], args.runs)
                row.update(config=path.stem, variant=variant)
                result.append(row)
                print(f"{path.stem:28} {variant:13} exit {row['exit']}  "
                      f"{row['wall_s']:7.1f} s wall  {row['cpu_s']:7.1f} s CPU  "
                      f"states {row['states'] or 0:>9,}  z3: {row['handed_to_z3']}  "
                      f"(walls {row['walls']}, load {os.getloadavg()[0]:.1f})", flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
