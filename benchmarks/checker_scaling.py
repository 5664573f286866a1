"""Time to verdict of ``crg check`` as clusters grow: monolithic (every group together,
no symmetry), compositional (one component at a time) and compositional + symmetric
(interchangeable nodes merged, isomorphic components explored once). See
benchmarks/README.md, "Checker".

    python3 benchmarks/checker_scaling.py            # a few minutes
    python3 benchmarks/checker_scaling.py --quick    # under a minute
    python3 benchmarks/checker_scaling.py --json scaling.json
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from checker_common import machine, ring

from crg.checker import Engine, Options, check
from crg.checker.result import Verdict

MODES = {
    "monolithic": Options(engine=Engine.EXPLICIT, compose=False, symmetry=False),
    "compositional": Options(engine=Engine.EXPLICIT, compose=True, symmetry=False),
    "compositional+symmetric": Options(engine=Engine.EXPLICIT, compose=True, symmetry=True),
}


def point(nodes: int, groups: int, mode: str, faults: str, cap: int) -> dict[str, Any]:
    config = ring(nodes, groups, faults=faults, candidates=2)
    options = MODES[mode]
    options = Options(engine=Engine.EXPLICIT, compose=options.compose,
                      symmetry=options.symmetry, max_states=cap, jobs=1)
    started = time.perf_counter()
    report = check(config, options)
    seconds = time.perf_counter() - started
    finished = all(r.verdict is not Verdict.UNKNOWN for r in report.results.values())
    return {"nodes": nodes, "groups": groups, "mode": mode, "seconds": seconds,
            "states": report.explicit.states if report.explicit else 0,
            "finished": finished,
            "verdict": "violated" if report.violations else
                       "holds" if finished else "capped"}


def series(name: str, sizes: list[tuple[int, int]], faults: str, cap: int,
           mono_limit: int) -> list[dict[str, Any]]:
    out = []
    print(f"\n{name} ({faults}; monolithic capped at {cap:,} states per run)")
    print(f"{'nodes':>5} {'groups':>6}  " + "  ".join(f"{m:>24}" for m in MODES))
    for nodes, groups in sizes:
        cells = []
        for mode in MODES:
            if mode == "monolithic" and groups > mono_limit:
                cells.append(f"{'—':>24}")
                continue
            p = point(nodes, groups, mode, faults, cap)
            out.append(p)
            mark = "" if p["finished"] else " (capped)"
            cells.append(f"{p['seconds']:>8.2f}s {p['states']:>9,}{mark:>5}")
        print(f"{nodes:>5} {groups:>6}  " + "  ".join(cells), flush=True)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--faults", default="crash, app-fault")
    parser.add_argument("--cap", type=int, default=300_000,
                        help="stop a monolithic search after this many states")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--json", metavar="FILE")
    args = parser.parse_args()
    print(machine())
    node_sizes = [(n, 4) for n in (3, 4, 5, 6, 7, 8)]
    group_sizes = [(4, g) for g in (2, 4, 8, 16, 32, 64)]
    if args.quick:
        node_sizes, group_sizes, args.cap = node_sizes[:3], group_sizes[:4], 50_000
    results = {"machine": machine(), "faults": args.faults, "cap": args.cap,
               "nodes": series("nodes 3→8, 4 groups", node_sizes, args.faults, args.cap, 4),
               "groups": series("groups 2→64, 4 nodes", group_sizes, args.faults, args.cap, 4)}
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
