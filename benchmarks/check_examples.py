#!/usr/bin/env python3
"""How long ``crg check`` takes on the examples, in CPU time, medians of N runs.

Meant to be run side by side on two commits (the machine's speed varies, a ratio
measured together does not): install the older commit in a virtualenv of its own and run
this same script with each interpreter, alternating,

    python3 benchmarks/check_examples.py --runs 5 examples/*.crg
    /tmp/venv-old/bin/python benchmarks/check_examples.py --runs 5 examples/*.crg

CPU time of this process, not wall-clock: a loaded machine stretches the second far more
than the first.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from typing import Any


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("files", nargs="+")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    from crg import files
    try:  # crg.checker.check since issue 12: the explicit engine in this process
        from crg.checker import Engine, Options, check

        def run_check(config: Any) -> Any:
            report = check(config, Options(engine=Engine.EXPLICIT, jobs=1))
            assert report.explicit is not None
            return report.explicit
    except ImportError:  # an older checkout, measured side by side
        from crg.checker.api import run_check  # type: ignore[attr-defined,no-redef]

    out = {}
    for name in args.files:
        config = files.load(name)
        times, states = [], 0
        for _ in range(args.runs):
            started = time.process_time()
            report = run_check(config)
            times.append(time.process_time() - started)
            states = report.states
            assert report.ok, f"{name} does not hold"
        out[name] = {"cpu_s": statistics.median(times), "states": states}
    total = sum(v["cpu_s"] for v in out.values())
    if args.json:
        print(json.dumps({"files": out, "total_cpu_s": total}))
    else:
        for name, v in out.items():
            print(f"{name:32} {v['states']:>8,} states  {v['cpu_s']:6.2f} s CPU (median)")
        print(f"{'total':32} {'':>8}         {total:6.2f} s CPU")
    return 0


if __name__ == "__main__":
    sys.exit(main())
