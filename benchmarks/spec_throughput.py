#!/usr/bin/env python3
"""Throughput of the spec's next-state function: transitions generated and hashed per second.

Usage (from the repository root; see benchmarks/README.md)::

    python3 benchmarks/spec_throughput.py               # every config, full size (~5 min)
    python3 benchmarks/spec_throughput.py --quick       # a smoke run, a few seconds
    python3 benchmarks/spec_throughput.py --json out.json

One *transition* is one (action, next state) produced by ``Model.system_transitions`` or
``Model.environment_transitions`` and hashed into a set (what an explicit-state checker
does with every successor). Two workloads on the same list of distinct reachable states:

* **cold**: a fresh model per run walks the list once; every state is new to it, so the
  per-group memo tables (if any) only help where groups of different states coincide.
  With ``memo=False`` (if the model offers it) nothing is remembered at all: pure rule
  evaluation.
* **warm**: a random walk on one model, replayed after a warm-up pass of the same walk,
  so every memo lookup hits: the cost of the packing, the lookups and the hashing alone.
  (Without memo tables, warm and cold differ only in the states visited.)

Each figure is the median over ``--runs`` runs, timed in CPU time of this process
(``time.process_time``): the machine is shared, and wall-clock figures there swing by a
factor of two with other people's load. It also reports the size of a packed state
(``sys.getsizeof`` of the int, and its width in bits). Model construction (which compiles
the rules when the model is compiled) is timed separately: it is paid once per check.
"""

from __future__ import annotations

import argparse
import inspect
import json
import platform
import random
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from crg.dsl import Config, parse
from crg.spec import Model, State, Topology

ROOT = Path(__file__).resolve().parents[1]

AIM = 300_000
"""Transitions per second on one core the spec issue aims at."""


def generated(nodes: int, groups: int) -> Config:
    """A mid-size cluster: each group prefers the next node round the ring and may move
    to the two after it; kinds, failback policies and budgets vary."""
    names = [f"n{i + 1}" for i in range(nodes)]
    text = (f"cluster bench {{\n  nodes {' '.join(names)}\n  assume at most 1 node down\n"
            "  assume faults crash, app-fault, switchover, partition\n}\n")
    for g in range(groups):
        preferred = names[g % nodes]
        possible = [names[(g + k) % nodes] for k in (1, 2)]
        kind = "instance" if g % 3 == 2 else "failover"
        failback = "manual" if g % 4 == 3 else "auto"
        text += (f"group g{g + 1} {{\n  vip 10.9.{g}.1/24\n  kind {kind}\n"
                 f"  app {{ start \"/bin/app{g}\" }}\n  monitor process\n"
                 f"  preferred {preferred}\n  possible {', '.join(possible)}\n"
                 f"  failback {failback}\n  restarts {1 + g % 2}\n}}\n")
    return parse(text, "generated.crg")


def configs() -> dict[str, Config]:
    return {
        "generated-5x6": generated(5, 6),
        "web-tier": parse((ROOT / "examples" / "web-tier.crg").read_text(), "web-tier.crg"),
    }


# -- models ---------------------------------------------------------------------------------


def variants() -> dict[str, dict[str, Any]]:
    """The model variants this version of the spec offers (keyword arguments of Model)."""
    params = inspect.signature(Model.__init__).parameters
    if "compiled" not in params:
        return {"interpreted": {}}
    out: dict[str, dict[str, Any]] = {"interpreted": {"compiled": False},
                                      "compiled": {"compiled": True}}
    if "memo" in params:
        out = {"interpreted": {"compiled": False, "memo": False},
               "interpreted+memo": {"compiled": False, "memo": True},
               "compiled+memo": {"compiled": True, "memo": True},
               "compiled": {"compiled": True, "memo": False}}
    return out


def transitions(m: Model, state: State) -> list[tuple[Any, State, Any]]:
    return m.system_transitions(state) + m.environment_transitions(state)


def reachable_states(topology: Topology, count: int, seed: int) -> list[State]:
    """Distinct states met by breadth-first search, in BFS order (a checker's order)."""
    m = Model(topology)
    start = m.initial()
    seen = {start: None}
    frontier = [start]
    while frontier and len(seen) < count:
        nxt = []
        for state in frontier:
            for _, after, _ in transitions(m, state):
                if after not in seen:
                    seen[after] = None
                    nxt.append(after)
        frontier = nxt
    states = list(seen)[:count]
    random.Random(seed).shuffle(states)  # no locality the memo could exploit by order
    return states


# -- workloads ------------------------------------------------------------------------------


def cold(make: Callable[[], Model], states: list[State]) -> tuple[float, int]:
    m = make()
    seen: set[State] = set()
    count = 0
    t0 = time.process_time()
    for state in states:
        for _, after, _ in transitions(m, state):
            seen.add(after)
            count += 1
    return time.process_time() - t0, count


def warm(m: Model, start: State, steps: int, seed: int) -> tuple[float, int]:
    rng = random.Random(seed)
    seen: set[State] = set()
    count = 0
    state = start
    t0 = time.process_time()
    for _ in range(steps):
        found = transitions(m, state)
        for _, after, _ in found:
            seen.add(after)
        count += len(found)
        state = rng.choice(found)[1] if found else start
    return time.process_time() - t0, count


@dataclass
class Result:
    config: str
    variant: str
    workload: str
    runs: int
    median_s: float
    transitions: int
    per_second: float


def measure(name: str, config: Config, n_states: int, walk: int, runs: int,
            out: list[Result]) -> dict[str, Any]:
    topology = Topology.from_config(config)
    t0 = time.process_time()
    states = reachable_states(topology, n_states, seed=1)
    explore_s = time.process_time() - t0
    sizes = [sys.getsizeof(s) for s in states]
    probe = Model(topology)
    layout = probe.layout
    info = {
        "config": name, "nodes": topology.n_nodes, "groups": len(topology.groups),
        "states": len(states), "explore_s": round(explore_s, 2),
        "state_bits": layout.nodes_width + len(topology.groups) * layout.group_width,
        "state_bytes_median": statistics.median(sizes), "state_bytes_max": max(sizes),
        "build_ms": {},
    }
    for variant, kwargs in variants().items():
        builds = []
        for _ in range(runs):
            t0 = time.process_time()
            Model(topology, **kwargs)
            builds.append(time.process_time() - t0)
        info["build_ms"][variant] = round(1000 * statistics.median(builds), 1)

        def make(kwargs: dict[str, Any] = kwargs) -> Model:
            return Model(topology, **kwargs)

        # Nothing remembered and nothing compiled is an order of magnitude slower: a
        # tenth of the work gives the same rate in a tenth of the time.
        share = 10 if kwargs == {"compiled": False, "memo": False} else 1
        cold_runs = [cold(make, states[:len(states) // share]) for _ in range(runs)]
        seconds = statistics.median(s for s, _ in cold_runs)
        count = cold_runs[0][1]
        out.append(Result(name, variant, "cold", runs, seconds, count, count / seconds))

        m = make()
        warm(m, states[0], walk // share, seed=2)  # the timed runs replay this very walk
        warm_runs = [warm(m, states[0], walk // share, seed=2) for _ in range(runs)]
        seconds = statistics.median(s for s, _ in warm_runs)
        count = int(statistics.median(c for _, c in warm_runs))
        out.append(Result(name, variant, "warm", runs, seconds, count, count / seconds))
    return info


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, one run")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--states", type=int, default=20_000,
                        help="distinct reachable states per config (cold workload)")
    parser.add_argument("--walk", type=int, default=20_000, help="steps of the warm walk")
    parser.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    args = parser.parse_args(argv)
    if args.quick:
        args.runs, args.states, args.walk = 1, 2_000, 2_000

    results: list[Result] = []
    infos = [measure(name, config, args.states, args.walk, args.runs, results)
             for name, config in configs().items()]

    print(f"python {platform.python_version()} on {platform.machine()}, "
          f"median of {args.runs} run(s); aim {AIM:,} transitions/s")
    for info in infos:
        print(f"\n{info['config']}: {info['nodes']} nodes x {info['groups']} groups, "
              f"{info['states']:,} distinct states (found in {info['explore_s']} s); "
              f"a state is {info['state_bits']} bits, {info['state_bytes_median']} bytes "
              f"as an int (max {info['state_bytes_max']})")
        print(f"  {'variant':<18} {'workload':<8} {'transitions':>12} {'seconds':>8} "
              f"{'per second':>11} {'of aim':>7} {'build ms':>9}")
        for r in results:
            if r.config == info["config"]:
                print(f"  {r.variant:<18} {r.workload:<8} {r.transitions:>12,} "
                      f"{r.median_s:>8.3f} {r.per_second:>11,.0f} {r.per_second / AIM:>7.2f} "
                      f"{info['build_ms'][r.variant]:>9}")
    if args.json:
        Path(args.json).write_text(json.dumps(
            {"python": platform.python_version(), "runs": args.runs, "aim": AIM,
             "configs": infos, "results": [asdict(r) for r in results]}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
