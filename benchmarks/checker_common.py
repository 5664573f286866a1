"""Generated configurations and the timed run of ``crg check`` shared by the checker
benchmarks."""

from __future__ import annotations

import os
import platform
import resource
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
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


@dataclass(frozen=True, slots=True)
class TimedCheck:
    exit: int | None
    """The exit status; None when the timeout killed it."""
    out: str
    err: str
    wall_s: float
    cpu_s: float
    """CPU of the process and its workers (what a shared machine stretches least)."""


def timed_check(path: Path, extra: list[str], timeout: float | None = None) -> TimedCheck:
    """One ``python -m crg check --format json`` in a fresh process, as a user waits for it
    (``PYTHONHASHSEED=0``; ``CRG_DEBUG=1`` for a traceback on an internal error), killed
    with its process group after ``timeout`` seconds."""
    env = {**os.environ, "PYTHONHASHSEED": "0", "CRG_DEBUG": "1"}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "crg", "check", "--format", "json", *extra,
                             str(path)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env, start_new_session=True)
    partial = 0.0
    try:
        out, err = proc.communicate(timeout=timeout)
        code: int | None = proc.returncode
    except subprocess.TimeoutExpired:
        partial = _tree_cpu(proc.pid)
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        code = None
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return TimedCheck(code, out, err, wall, max(cpu, partial))


def _tree_cpu(pid: int) -> float:
    """CPU seconds of a live process and its descendants (for a run about to be killed:
    a killed child's time never reaches RUSAGE_CHILDREN)."""
    total = 0.0
    try:
        root = psutil.Process(pid)
        for proc in [root, *root.children(recursive=True)]:
            try:
                t = proc.cpu_times()
                total += t.user + t.system + t.children_user + t.children_system
            except psutil.Error:
                pass
    except psutil.Error:
        pass
    return total
