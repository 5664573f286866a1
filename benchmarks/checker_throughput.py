"""Monolithic exploration speed of the explicit checker: distinct states per second and
bytes per state, on a generated cluster (default 4 nodes x 3 groups, all groups checked
together, no symmetry). See benchmarks/README.md, "Checker".

    python3 benchmarks/checker_throughput.py                 # about a minute
    python3 benchmarks/checker_throughput.py --quick         # a few seconds
    python3 benchmarks/checker_throughput.py --states 2000000 --runs 3 --json out.json
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
import time
import tracemalloc
from array import array
from pathlib import Path
from typing import Any

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))
from checker_common import machine, median_of, ring

try:  # the explicit engine's own package since issue 12; before, crg.checker.explore
    import crg.checker.explicit.liveness
    from crg.checker.explicit.explore import Search
except ImportError:  # an older checkout, measured side by side
    import crg.checker.liveness  # noqa: F401
    from crg.checker.explore import Search  # type: ignore[no-redef]
from crg.spec import Model, Topology


def explore(nodes: int, groups: int, faults: str, max_states: int) -> dict[str, Any]:
    """One timed search (no tracing): states, seconds, resident memory added."""
    model = Model(Topology.from_config(ring(nodes, groups, faults=faults)))
    gc.collect()
    rss = psutil.Process().memory_info().rss
    search = Search(model, max_states=max_states)
    started = time.perf_counter()
    stats = search.run()
    seconds = time.perf_counter() - started
    grown = psutil.Process().memory_info().rss - rss
    return {"states": stats.states, "edges": stats.edges, "seconds": seconds,
            "states_per_s": stats.states / seconds, "rss_bytes_per_state": grown / stats.states,
            "explorer_bytes_per_state": explorer_bytes(search) / stats.states,
            "layers": stats.layers, "complete": stats.complete}


def explorer_bytes(search: Search) -> int:
    """What the search itself keeps per state: the int objects, the list of them, the
    parent and distance arrays, and the visited set (rebuilt here: the search drops it at
    the end)."""
    states = search.states
    ints = sum(sys.getsizeof(s) for s in states)
    visited = sys.getsizeof(set(states))
    arrays: list[array[int]] = [search.parent, search.dist]
    return ints + sys.getsizeof(states) + visited + sum(a.itemsize * len(a) for a in arrays)


def traced(nodes: int, groups: int, faults: str, max_states: int) -> dict[str, Any]:
    """One search under tracemalloc: peak Python allocations per state, the spec's memo
    tables included (slower, so not timed)."""
    model = Model(Topology.from_config(ring(nodes, groups, faults=faults)))
    gc.collect()
    tracemalloc.start()
    search = Search(model, max_states=max_states)
    stats = search.run()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {"traced_peak_bytes_per_state": peak / stats.states}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nodes", type=int, default=4)
    parser.add_argument("--groups", type=int, default=3)
    parser.add_argument("--faults", default="crash, app-fault")
    parser.add_argument("--states", type=int, default=500_000,
                        help="stop after the layer reaching this many states")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="small and fast smoke run")
    parser.add_argument("--json", metavar="FILE")
    args = parser.parse_args()
    if args.quick:
        args.states, args.runs = 20_000, 1
    timed = median_of(args.runs, lambda: explore(args.nodes, args.groups, args.faults,
                                                 args.states), "states_per_s")
    result = {"machine": machine(), "nodes": args.nodes, "groups": args.groups,
              "faults": args.faults, "runs": args.runs, **timed,
              **traced(args.nodes, args.groups, args.faults, args.states)}
    print(f"{machine()}")
    print(f"monolithic {args.nodes} nodes x {args.groups} groups ({args.faults}): "
          f"{result['states']:,} states, {result['edges']:,} transitions in "
          f"{result['seconds']:.1f}s (median of {args.runs})")
    print(f"  {result['states_per_s']:,.0f} distinct states/s")
    print(f"  explorer {result['explorer_bytes_per_state']:.0f} bytes/state, "
          f"process RSS {result['rss_bytes_per_state']:.0f} bytes/state, "
          f"traced peak {result['traced_peak_bytes_per_state']:.0f} bytes/state "
          "(the spec's memo tables included)")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
