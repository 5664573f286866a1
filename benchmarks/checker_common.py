"""Generated configurations shared by the checker benchmarks."""

from __future__ import annotations

import platform
import statistics
from collections.abc import Callable
from typing import Any

import psutil

from crg.dsl import Config, parse


def ring(nodes: int, groups: int, *, faults: str = "crash, app-fault", candidates: int = 3,
         down: int = 1) -> Config:
    """Group g prefers node g round the ring and may move to the next ``candidates - 1``
    nodes; failback alternates auto/manual, every third group is an ``instance``."""
    names = [f"n{i + 1}" for i in range(nodes)]
    text = (f"cluster bench {{\n  nodes {' '.join(names)}\n"
            f"  assume at most {down} node{'s' if down != 1 else ''} down\n"
            f"  assume faults {faults}\n}}\n")
    for g in range(groups):
        preferred = names[g % nodes]
        possible = [names[(g + k) % nodes] for k in range(1, min(candidates, nodes))]
        kind = "instance" if g % 3 == 2 else "failover"
        failback = "manual" if g % 2 else "auto"
        text += (f"group g{g + 1} {{\n  vip 10.{g // 250}.{g % 250}.1/16\n  kind {kind}\n"
                 f"  app {{ start \"/bin/app{g}\" }}\n  monitor process\n"
                 f"  preferred {preferred}\n"
                 + (f"  possible {', '.join(possible)}\n" if possible else "")
                 + f"  failback {failback}\n  restarts 1\n}}\n")
    return parse(text, "generated.crg")


def machine() -> str:
    return (f"{psutil.cpu_count(logical=True)} cores ({platform.machine()}), "
            f"Python {platform.python_version()}, "
            f"{psutil.virtual_memory().total / 2**30:.0f} GiB")


def median_of(runs: int, measure: Callable[[], dict[str, Any]], key: str) -> dict[str, Any]:
    """The run whose ``key`` is the median of ``runs`` runs."""
    results = [measure() for _ in range(runs)]
    middle = statistics.median_low([r[key] for r in results])
    return next(r for r in results if r[key] == middle)
