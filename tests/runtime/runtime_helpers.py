"""Helpers for the runtime tests: a fast quick-start config on free addresses, bounded
waits, HTTP probes, and a cluster that always cleans up and always passes conformance.

The config is made from examples/quickstart.crg by substitution (so the tests run the
example, not a look-alike): fresh loopback VIPs and a fresh cluster name so that parallel
runs never collide, fast timings (heartbeat 100 ms, lease 1 s, monitors every 200 ms),
and hook/alert commands that append to files the tests read.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import re
import socket
import time
import urllib.request
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import psutil

from crg.dsl import Config, parse
from crg.dsl.model import Vip
from crg.runtime.address.base import AddressError
from crg.runtime.address.ledger import LedgerDriver
from crg.runtime.address.loopback import LoopbackDriver
from crg.runtime.conform import check
from crg.runtime.drivers.sinks import EventLog
from crg.runtime.embedded import EmbeddedCluster

ROOT = Path(__file__).resolve().parents[2]
QUICKSTART = ROOT / "examples" / "quickstart.crg"
GROUPS = ("web", "api", "report")
PORTS = {"web": 8080, "api": 8081, "report": 8082}


def free_vip(rng: random.Random) -> str:
    """A loopback address nobody listens on (checked by binding it once)."""
    while True:
        address = f"127.{rng.randint(1, 254)}.{rng.randint(0, 255)}.{rng.randint(2, 254)}"
        with socket.socket() as probe:
            try:
                probe.bind((address, 8080))
            except OSError:
                continue
        return address


@dataclass
class Setup:
    path: Path
    config: Config
    name: str
    vips: dict[str, str]
    hooks: Path
    alerts: Path
    trace: Path
    events: Path
    run_dir: Path

    def url(self, group: str) -> str:
        return f"http://{self.vips[group]}:{PORTS[group]}/"

    def hook_lines(self) -> list[str]:
        return self.hooks.read_text().splitlines() if self.hooks.exists() else []

    def alert_lines(self) -> list[str]:
        return self.alerts.read_text().splitlines() if self.alerts.exists() else []


def quickstart(tmp: Path, *, restarts: int = 2) -> Setup:
    rng = random.Random(uuid.uuid4().int)
    name = f"qs{uuid.uuid4().hex[:8]}"
    vips = {g: free_vip(rng) for g in GROUPS}
    hooks, alerts = tmp / "hooks.txt", tmp / "alerts.txt"
    text = QUICKSTART.read_text()
    text = text.replace("cluster quickstart", f"cluster {name}")
    for group, old in zip(GROUPS, ("127.0.0.11", "127.0.0.12", "127.0.0.13"), strict=True):
        text = text.replace(old, vips[group])
    text = re.sub(r"lease \S+", "lease 1s", text)
    text = re.sub(r"heartbeat \S+", "heartbeat 100ms", text)
    text = re.sub(r"store-timeout \S+", "store-timeout 200ms", text)
    text = re.sub(r"fence-margin \S+", "fence-margin 200ms", text)
    text = re.sub(r"every \S+ timeout \S+ fails \d+", "every 200ms timeout 150ms fails 2", text)
    text = text.replace("monitor process every 500ms", "monitor process every 200ms")
    text = text.replace("stop signal TERM timeout 5s", "stop signal TERM timeout 2s")
    text = text.replace("restarts 2 within 1m", f"restarts {restarts} within 1m")
    record = ("echo $CRG_EVENT group=$CRG_GROUP node=$CRG_NODE source=$CRG_SOURCE_GROUP "
              "from=$CRG_SOURCE_NODE vip=$CRG_VIP")
    text = text.replace("  alert log\n", f"  alert log\n  alert command \"sh -c '{record} "
                        f">> {alerts}'\"\n  hook command \"sh -c '{record} >> {hooks}'\"\n")
    path = tmp / "quickstart.crg"
    path.write_text(text)
    return Setup(path, parse(text, str(path)), name, vips, hooks, alerts, tmp / "trace.jsonl",
                 tmp / "events.jsonl", tmp / "run")


# -- waiting ------------------------------------------------------------------------------


async def eventually(predicate: Callable[[], bool | Awaitable[bool]], timeout_s: float,
                     what: str, step_s: float = 0.02) -> None:
    """Poll until ``predicate`` holds; fail with ``what`` after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while True:
        result = predicate()
        if not isinstance(result, bool):
            result = await result
        if result:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s:g} s waiting for: {what}")
        await asyncio.sleep(step_s)


class RemovalFails(LedgerDriver):
    """A ledger driver whose addresses will not come off while ``stuck`` (a device gone
    busy); combine it with the driver to stand in for."""

    stuck = True

    async def remove(self, vip: Vip, node: str) -> None:
        if self.stuck:
            raise AddressError(f"cannot remove {vip.address}: device busy")
        await super().remove(vip, node)


def wait_until(predicate: Callable[[], bool], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s:g} s waiting for: {what}")
        time.sleep(0.02)


# -- probes -------------------------------------------------------------------------------


def serves(url: str, timeout_s: float = 0.5) -> bool:
    try:
        with urllib.request.build_opener(urllib.request.ProxyHandler({})).open(
                url, timeout=timeout_s) as reply:
            return int(reply.status) == 200
    except OSError:
        return False


async def aserves(url: str) -> bool:
    return await asyncio.to_thread(serves, url)


def refused(address: str, port: int, timeout_s: float = 1.0) -> bool:
    """A connection attempt is refused at once (not a timeout, not accepted)."""
    with socket.socket() as sock:
        sock.settimeout(timeout_s)
        try:
            sock.connect((address, port))
        except ConnectionRefusedError:
            return True
        except OSError:
            return False
        return False


def processes_of(cluster: str) -> list[psutil.Process]:
    """Every process this cluster's runtime started that is still alive."""
    found = []
    for proc in psutil.process_iter():
        try:
            mark = proc.environ().get("CRG_MARK", "")
            if mark.startswith(f"{cluster}/") and proc.status() != psutil.STATUS_ZOMBIE:
                found.append(proc)
        except (psutil.Error, OSError):
            continue
    return found


def app_pid(cluster: EmbeddedCluster, node: str, group: str) -> int | None:
    agent = cluster.agents.get(node)
    if agent is None:
        return None
    instance = agent.machine.supervisor.instances.get(group)
    return instance.pgid if instance is not None and instance.running else None


def placement(cluster: EmbeddedCluster, group: str) -> tuple[str | None, str, str]:
    """(node, mode, app) of ``group`` as the spec reads the recorded state."""
    from crg.spec.present.modes import placement_of

    p = placement_of(cluster.model, cluster.recorder.state,
                     cluster.model.topology.group_index(group))
    return p.node, p.mode.value, p.app


# -- a running cluster ----------------------------------------------------------------------


@contextlib.asynccontextmanager
async def running(setup: Setup, address: LedgerDriver | None = None, *,
                  observe: bool = False) -> AsyncIterator[EmbeddedCluster]:
    """An embedded cluster for ``setup`` (on ``address``, by default a fresh loopback
    driver; ``observe``: with metrics and HTTP endpoints, not yet listening); afterwards:
    shut down in order, no process left behind, no store mismatch, and the trace
    conforms to the spec."""
    events = EventLog(setup.events)
    cluster = EmbeddedCluster(setup.config, run_dir=setup.run_dir,
                              address=address or LoopbackDriver(),
                              events=events, trace_path=setup.trace, observe=observe)
    await cluster.start()
    try:
        yield cluster
    finally:
        clean = await cluster.shutdown()
        events.close()
        await eventually(lambda: not processes_of(setup.name), 5.0,
                         f"no process of {setup.name} left")
    assert clean, "the groups did not halt in order"
    assert cluster.recorder.mismatches == []
    with open(setup.trace, encoding="utf-8") as handle:
        result = check(setup.config, handle)
    assert result.conforms, result.problem
    assert result.steps > 0


def run(body: Awaitable[None], timeout_s: float = 60.0) -> None:
    asyncio.run(asyncio.wait_for(body, timeout_s))


def env_without_proxy() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}


TWO_NODES = """
cluster {name} {{
  nodes n1 n2
  lease 1s
  heartbeat 100ms
  store-timeout 200ms
  fence-margin 200ms
}}
group job {{
  vip {vip}/8
  app {{
{app}
  }}
  monitor process every 200ms fails 2
  preferred n1
  possible n2
  failback manual
  restarts {restarts} within 1m
  alert command "sh -c 'echo $CRG_EVENT group=$CRG_GROUP node=$CRG_NODE >> {alerts}'"
}}
"""


def two_nodes(tmp: Path, app: str, *, restarts: int = 1) -> Setup:
    """A one-group, two-node cluster running ``app`` (the lines of its app block)."""
    name = f"sv{uuid.uuid4().hex[:8]}"
    vip = free_vip(random.Random(uuid.uuid4().int))
    alerts = tmp / "alerts.txt"
    text = TWO_NODES.format(name=name, vip=vip, app=app, restarts=restarts, alerts=alerts)
    path = tmp / "job.crg"
    path.write_text(text)
    return Setup(path, parse(text, str(path)), name, {"job": vip}, tmp / "hooks.txt", alerts,
                 tmp / "trace.jsonl", tmp / "events.jsonl", tmp / "run")
