#!/usr/bin/env python3
"""The embedded runtime's recovery times, with real processes (see benchmarks/README.md).

Each run starts examples/quickstart.crg afresh (fresh loopback VIPs, so nothing else on
the machine interferes), waits until every group is up, then injects one failure and
probes web's VIP every 5 ms with an HTTP GET until it answers again:

* ``app-crash``: ``kill -9`` of web's application on n1; n1 restarts it (local restart);
* ``node-crash``: ``crg crash n1`` (everything on n1 dies at once); n2 notices when n1's
  lease runs out and runs web.

and once per run, while ``report`` is put in offline mode, how long a client waits for
the refusal. Two timing profiles: ``quickstart`` (the example as shipped: lease 2 s,
heartbeat 250 ms, monitors every 500 ms) and ``fast`` (lease 1 s, heartbeat 100 ms,
monitors every 200 ms: the test suite's). Medians over ``--runs``.

Usage (from the repository root)::

    python3 benchmarks/runtime_failover.py                 # 7 runs per case
    python3 benchmarks/runtime_failover.py --runs 3 --json figures.json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import platform
import random
import re
import signal
import socket
import statistics
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any

from crg.dsl import parse
from crg.runtime.address.loopback import LoopbackDriver
from crg.runtime.drivers.sinks import EventLog
from crg.runtime.embedded import EmbeddedCluster
from crg.spec.present.modes import placement_of

ROOT = Path(__file__).resolve().parents[1]
PROBE_S = 0.005
LIMIT_S = 30.0
OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def config_text(profile: str) -> tuple[str, dict[str, str]]:
    rng = random.Random(uuid.uuid4().int)
    vips = {}
    text = (ROOT / "examples" / "quickstart.crg").read_text()
    text = text.replace("cluster quickstart", f"cluster bench{uuid.uuid4().hex[:8]}")
    for group, old in (("web", "127.0.0.11"), ("api", "127.0.0.12"), ("report", "127.0.0.13")):
        vips[group] = f"127.{rng.randint(1, 254)}.{rng.randint(0, 255)}.{rng.randint(2, 254)}"
        text = text.replace(old, vips[group])
    # Every kill in a run must be a local restart, not a failover.
    text = text.replace("restarts 2 within 1m", "restarts 100 within 1m")
    if profile == "fast":
        text = re.sub(r"lease \S+", "lease 1s", text)
        text = re.sub(r"heartbeat \S+", "heartbeat 100ms", text)
        text = re.sub(r"store-timeout \S+", "store-timeout 200ms", text)
        text = re.sub(r"fence-margin \S+", "fence-margin 200ms", text)
        text = re.sub(r"every \S+ timeout \S+ fails \d+", "every 200ms timeout 150ms fails 2",
                      text)
    return text, vips


def answers(url: str) -> bool:
    try:
        with OPENER.open(url, timeout=0.5) as reply:
            return int(reply.status) == 200
    except OSError:
        return False


async def until_answers(url: str, since: float) -> float:
    while time.monotonic() - since < LIMIT_S:
        if await asyncio.to_thread(answers, url):
            return time.monotonic() - since
        await asyncio.sleep(PROBE_S)
    raise TimeoutError(f"{url} did not answer within {LIMIT_S:g} s")


async def settled(cluster: EmbeddedCluster) -> None:
    deadline = time.monotonic() + LIMIT_S
    while time.monotonic() < deadline:
        state = cluster.recorder.state
        if cluster.model.is_quiescent(state) and all(
                placement_of(cluster.model, state, g).app == "up" for g in range(3)):
            return
        await asyncio.sleep(0.01)
    raise TimeoutError("the cluster did not settle")


def refusal_ms(address: str, port: int) -> float:
    with socket.socket() as sock:
        sock.settimeout(5)
        started = time.perf_counter()
        try:
            sock.connect((address, port))
        except ConnectionRefusedError:
            return (time.perf_counter() - started) * 1000
    raise RuntimeError("the connection was not refused")


async def one_run(profile: str, failure: str, work: Path) -> dict[str, float]:
    text, vips = config_text(profile)
    config = parse(text, "bench.crg")
    cluster = EmbeddedCluster(config, run_dir=work / uuid.uuid4().hex[:6],
                              address=LoopbackDriver(), events=EventLog())
    await cluster.start()
    try:
        await settled(cluster)
        url = f"http://{vips['web']}:8080/"
        if failure == "app-crash":
            instance = cluster.agents["n1"].machine.supervisor.instances["web"]
            assert instance.pgid is not None
            started = time.monotonic()
            os.kill(instance.pgid, signal.SIGKILL)
        else:
            started = time.monotonic()
            await cluster.crash("n1")
        recovered = await until_answers(url, started)
        await cluster.operate("offline", ("report",))
        while placement_of(cluster.model, cluster.recorder.state, 2).mode.value != "offline":
            await asyncio.sleep(0.01)
        refused = refusal_ms(vips["report"], 8082)
        return {"recovered_s": recovered, "refused_ms": refused}
    finally:
        await cluster.shutdown()


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    logging.getLogger("crg").setLevel(logging.ERROR)  # the crashes log warnings
    figures: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="crg-bench-") as work:
        for profile in args.profiles:
            for failure in ("app-crash", "node-crash"):
                runs = [await one_run(profile, failure, Path(work)) for _ in range(args.runs)]
                times = [r["recovered_s"] for r in runs]
                refusals = [r["refused_ms"] for r in runs]
                figures[f"{profile}/{failure}"] = {
                    "median_s": statistics.median(times), "min_s": min(times),
                    "max_s": max(times), "runs": len(times),
                    "refusal_median_ms": statistics.median(refusals)}
                row = figures[f"{profile}/{failure}"]
                print(f"{profile:10} {failure:10}  median {row['median_s']:.3f} s  "
                      f"(min {row['min_s']:.3f}, max {row['max_s']:.3f}, {len(times)} runs)  "
                      f"offline refusal {row['refusal_median_ms']:.2f} ms", flush=True)
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--profiles", nargs="+", default=["quickstart", "fast"],
                        choices=("quickstart", "fast"))
    parser.add_argument("--json", metavar="FILE")
    args = parser.parse_args()
    figures = asyncio.run(main_async(args))
    if args.json:
        Path(args.json).write_text(json.dumps(
            {"machine": f"{os.cpu_count()} cores, {platform.machine()}, Python "
                        f"{platform.python_version()}", "figures": figures}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
