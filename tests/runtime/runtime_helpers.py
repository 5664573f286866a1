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
import json
import os
import random
import re
import signal
import socket
import subprocess
import time
import urllib.request
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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
    CLUSTERS.append(name)
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


class FlakyDriver(LoopbackDriver):
    """Adding the VIP on n1 raises an error no driver documents, once; removing it from
    n1 fails like a netlink error, twice, each time in other words (one episode all the
    same)."""

    def __init__(self) -> None:
        super().__init__()
        self.add_failures = 1
        self.remove_failures = 2

    async def add(self, vip: Vip, node: str) -> None:
        if node == "n1" and self.add_failures:
            self.add_failures -= 1
            raise RuntimeError("the driver tripped over itself")
        await super().add(vip, node)

    async def remove(self, vip: Vip, node: str) -> None:
        if node == "n1" and self.holder(vip) == "n1" and self.remove_failures:
            self.remove_failures -= 1
            raise AddressError(f"cannot delete {vip.address}: Operation not permitted "
                               f"({self.remove_failures} more)")
        await super().remove(vip, node)


class StubbornDriver(LoopbackDriver):
    """Adding any VIP on n1 fails, like a netlink error, until the test says otherwise."""

    def __init__(self) -> None:
        super().__init__()
        self.failing = True

    async def add(self, vip: Vip, node: str) -> None:
        if node == "n1" and self.failing:
            raise AddressError(f"cannot add {vip.address}: Operation not permitted")
        await super().add(vip, node)


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


CLUSTERS: list[str] = []
"""The clusters made by :func:`quickstart` and :func:`two_nodes` since the last
:func:`reap` (tests/runtime/conftest.py reaps after every test)."""


def reap() -> list[int]:
    """SIGKILL whatever the runtimes of the recent clusters left running (a test that
    failed half-way, a runtime killed with SIGKILL); the pids killed."""
    killed = []
    for name in CLUSTERS:
        for leftover in processes_of(name):
            with contextlib.suppress(psutil.Error):
                leftover.kill()
                killed.append(leftover.pid)
    CLUSTERS.clear()
    return killed


def stop_runtime(proc: subprocess.Popen[Any]) -> str:
    """Teardown of a test's ``crg run`` that may still run: SIGTERM (it stops its
    applications in order), SIGKILL when it has not ended within 30 s (what it leaves
    is reaped after the test). Returns what it printed, if that was captured."""
    output: Any = ""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            output, _ = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            output, _ = proc.communicate()
    if isinstance(output, bytes):
        output = output.decode(errors="replace")
    return output or ""


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
async def running(setup: Setup, address: LedgerDriver | None = None,
                  events: EventLog | None = None, *,
                  observe: bool = False) -> AsyncIterator[EmbeddedCluster]:
    """An embedded cluster for ``setup`` (on ``address``, by default a fresh loopback
    driver; with ``events``, by default to ``setup.events``; ``observe``: with metrics
    and HTTP endpoints, not yet listening); afterwards: shut down in order, no process
    left behind, no store mismatch, and the trace conforms to the spec."""
    events = events if events is not None else EventLog(setup.events)
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


def written(cluster: EmbeddedCluster) -> list[dict[str, Any]]:
    """The events the cluster has written to its events file so far (its writer thread
    given a moment to catch up)."""
    events = cluster.services.events
    assert events.path is not None and events.flush(), "the events were written"
    if not events.path.exists():
        return []  # nothing yet: the file is made with the first event
    return [json.loads(line) for line in events.path.read_text().splitlines()]


def run(body: Awaitable[None], timeout_s: float = 60.0) -> None:
    asyncio.run(asyncio.wait_for(body, timeout_s))


def ignores_sigterm(pid: int | None) -> bool:
    """Process ``pid`` has set SIGTERM to be ignored (its stop must wait out the timeout):
    read from its signal masks, so a test waits until the application got that far."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("SigIgn:"):
                    return bool((int(line.split()[1], 16) >> (signal.SIGTERM - 1)) & 1)
    except OSError:
        pass
    return False


def env_without_proxy() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}


FAST_CLUSTER = """
cluster {name} {{
  nodes n1 n2
  lease 1s
  heartbeat 100ms
  store-timeout 200ms
  fence-margin 200ms
}}
"""
"""A two-node cluster block with the suite's fast timing (a format string: ``name``)."""

WEB_TWO_HOSTS = FAST_CLUSTER + """group web {{
  vip {vip}/8
  app {{
    start "python3 -m http.server --bind {{vip}} 8080"
    stop signal TERM timeout 2s
  }}
  monitor http "http://{{vip}}:8080/" every 200ms timeout 150ms fails 2
  preferred n1
  possible n2
  failback auto
  fencing self
}}
"""
"""One web group on the two nodes of FAST_CLUSTER, n1 its home (``name``, ``vip``)."""

TWO_NODES = FAST_CLUSTER + """group job {{
  vip {vip}/8
  app {{
{app}
  }}
  monitor process every 200ms fails 2
  preferred n1
  possible n2
  failback manual
  restarts {restarts} within {window}
  {alert}
}}
"""

SLEEPER = '    start "python3 -c \'import time; time.sleep(120)\'"'
"""An app block line: an application that runs quietly for two minutes."""

RECORD_ALERT = ("alert command \"sh -c 'echo $CRG_EVENT group=$CRG_GROUP node=$CRG_NODE >> "
                "{alerts}'\"")


def two_nodes(tmp: Path, app: str, *, restarts: int = 1, window: str = "1m",
              alert: str = RECORD_ALERT) -> Setup:
    """A one-group, two-node cluster running ``app`` (the lines of its app block), with
    ``restarts`` local restarts ``within`` its window; its alert sink appends to
    ``alerts.txt`` unless ``alert`` says otherwise."""
    name = f"sv{uuid.uuid4().hex[:8]}"
    CLUSTERS.append(name)
    vip = free_vip(random.Random(uuid.uuid4().int))
    alerts = tmp / "alerts.txt"
    text = TWO_NODES.format(name=name, vip=vip, app=app, restarts=restarts, window=window,
                            alert=alert.format(alerts=alerts))
    path = tmp / "job.crg"
    path.write_text(text)
    return Setup(path, parse(text, str(path)), name, {"job": vip}, tmp / "hooks.txt", alerts,
                 tmp / "trace.jsonl", tmp / "events.jsonl", tmp / "run")
