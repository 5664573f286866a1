#!/usr/bin/env python3
"""How long ``crg import pacemaker`` takes on a generated CIB of many groups.

The CIB is the shape of tests/bridges' linear-time test: N groups of an IPaddr2 address and
a systemd application, two location constraints each, on two nodes (each group leaves two
warnings: no monitor, and its stickiness). Each run is ``python -m crg import pacemaker
CIB -o OUT`` in a process of its own, start-up included, wall-clock and the child's CPU
time. Give one or more interpreters to compare commits side by side (install the older
one in a virtualenv of its own); the runs alternate between them, round by round:

    python3 benchmarks/import_large_cib.py --groups 3000 --runs 3 \\
        --python /tmp/venv-old/bin/python --python /tmp/venv-new/bin/python
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "bridges"))
from large_cib import cib


def one_run(python: str, path: Path, out: Path) -> tuple[float, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    # In the CIB's folder: -m puts the working directory first on the path, and a
    # checkout's crg/ there would be imported instead of the interpreter's install.
    result = subprocess.run([python, "-m", "crg", "import", "pacemaker", str(path), "-o",
                             str(out)], capture_output=True, text=True, check=False,
                            cwd=path.parent)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if result.returncode != 0:
        raise SystemExit(f"{python}: exit {result.returncode}\n{result.stderr[-2000:]}")
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--groups", type=int, default=3000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--python", action="append", help="an interpreter with crg "
                        "installed (repeat to compare; default: this one)")
    args = parser.parse_args()
    pythons = args.python or [sys.executable]
    times: dict[str, list[tuple[float, float]]] = {p: [] for p in pythons}
    with tempfile.TemporaryDirectory(prefix="crg-import-bench-") as folder:
        path, out = Path(folder, "cib.xml"), Path(folder, "out.crg")
        path.write_text(cib(args.groups), encoding="utf-8")
        outputs = {}
        for round_ in range(args.runs):
            for python in pythons:
                wall, cpu = one_run(python, path, out)
                times[python].append((wall, cpu))
                outputs[python] = out.read_text(encoding="utf-8")
                print(f"round {round_ + 1} {python}: {wall:.2f} s wall, {cpu:.2f} s CPU "
                      f"(load average {os.getloadavg()[0]:.2f})", flush=True)
    if len(set(outputs.values())) > 1:
        print("note: the interpreters wrote different .crg files")
    first = statistics.median(w for w, _ in times[pythons[0]])
    for python in pythons:
        walls = [w for w, _ in times[python]]
        cpus = [c for _, c in times[python]]
        print(f"{python}: median {statistics.median(walls):.2f} s wall "
              f"({', '.join(f'{w:.2f}' for w in walls)}), {statistics.median(cpus):.2f} s "
              f"CPU; ratio to the first {statistics.median(walls) / first:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
