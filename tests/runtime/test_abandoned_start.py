"""A group whose application is starting does not hold up what the spec no longer wants
of it (runtime/agent.py ``Lane._perform``, runtime/steps.py ``ABANDONABLE``).

Its monitors wait, within the start timeout, for every check to pass once; here the
application (a real process) never answers its http monitor and the start timeout is a
minute, so anything that waited for the start to end would take a minute. A stop of the
runtime, a drain of the node and a node cut off from the store must all be acted on in
seconds: the wait is abandoned, nothing of it committed, and the halt method runs in
order. Every trace still conforms to the spec (``running``, ``crg_run``)."""

from __future__ import annotations

import asyncio
import random
import signal
import time
import uuid
from pathlib import Path

import pytest
from cli_runtime import crg_run
from partition_store import partitionable_hosts
from runtime_helpers import (
    CLUSTERS,
    FAST_CLUSTER,
    Setup,
    app_pid,
    eventually,
    free_vip,
    placement,
    processes_of,
    run,
    running,
    wait_until,
    written,
)

from crg.dsl import parse
from crg.runtime.agent import Agent
from crg.runtime.conform import check

pytestmark = pytest.mark.timeout(120)

START_TIMEOUT_S = 60
PROMPT_S = 15.0
"""Well within the start timeout, with room for a loaded machine."""

SILENT = FAST_CLUSTER + """group job {{
  vip {vip}/8
  app {{
    start "sleep 300" timeout 60s
    stop signal TERM timeout 2s
  }}
  monitor http "http://{{vip}}:8080/" every 200ms timeout 150ms fails 2
  preferred n1
  possible n2
  failback manual
}}
"""
"""An application that runs but never answers (nothing listens on its VIP's port)."""



def abandoned(node: str, instead: str) -> str:
    """The decision of a start given up, naming the step that overtook it."""
    return (f"{node}: start-monitors job was abandoned (no longer enabled: {instead} job "
            "comes first now)")


def silent(tmp: Path) -> Setup:
    name = f"ab{uuid.uuid4().hex[:8]}"
    CLUSTERS.append(name)
    vip = free_vip(random.Random(uuid.uuid4().int))
    text = SILENT.format(name=name, vip=vip)
    path = tmp / "job.crg"
    path.write_text(text)
    config = parse(text, str(path))
    assert config.group("job").app.start.timeout_ms == START_TIMEOUT_S * 1000
    return Setup(path, config, name, {"job": vip}, tmp / "hooks.txt", tmp / "alerts.txt",
                 tmp / "trace.jsonl", tmp / "events.jsonl", tmp / "run")


async def starting(agent: Agent) -> None:
    """Until job's start waits on ``agent`` for its monitors' first success."""
    await eventually(lambda: "job" in agent.machine.monitors, 10,
                     f"job's monitors waiting for a first success on {agent.name}")


def app_on(node: str, name: str) -> list[int]:
    """The pids of the cluster's processes started by ``node``."""
    return [p.pid for p in processes_of(name) if f"/{node}/" in p.environ()["CRG_MARK"]]


def test_stopping_the_runtime_while_a_group_starts_halts_it_in_order_at_once(
        tmp_path: Path) -> None:
    setup = silent(tmp_path)

    async def body() -> None:
        async with running(setup) as cluster:
            n1 = cluster.agents["n1"]
            await starting(n1)
            pid = app_pid(cluster, "n1", "job")
            assert pid is not None
            began = time.monotonic()
        elapsed = time.monotonic() - began  # shut down in order (running asserts it)
        assert elapsed < PROMPT_S, f"the stop took {elapsed:.1f} s"
        assert abandoned("n1", "stop-app") in n1.decisions
        assert not n1.machine.monitors
        kinds = [(a.kind.label, a.node) for a, _, _ in cluster.recorder.transitions]
        assert ("start-monitors", 0) not in kinds
        assert ("stop-app", 0) in kinds and ("release-vip", 0) in kinds
        events = written(cluster)
        # Given up, not failed: no fault, no alert; never announced up, so never down.
        assert not [e for e in events if e["event"] in
                    ("fault", "runtime-alert", "service-up", "service-down")], events

    run(body(), 60)


def test_a_drain_of_the_node_where_a_group_starts_moves_it_on_at_once(
        tmp_path: Path) -> None:
    setup = silent(tmp_path)

    async def body() -> None:
        async with running(setup) as cluster:
            n1 = cluster.agents["n1"]
            await starting(n1)
            began = time.monotonic()
            answer = await cluster.operate("drain", ("n1",), timeout_s=0.0)
            assert answer["result"] == "accepted", answer
            await eventually(lambda: placement(cluster, "job")[0] == "n2"
                             and app_pid(cluster, "n2", "job") is not None, PROMPT_S,
                             "job starting on n2")
            await eventually(lambda: not app_on("n1", setup.name), 5, "nothing left on n1")
            elapsed = time.monotonic() - began
            assert elapsed < PROMPT_S, f"the drain took {elapsed:.1f} s"
            assert abandoned("n1", "stop-app") in n1.decisions
            assert "job" not in n1.machine.monitors
            assert cluster.address.holder(setup.config.group("job").vip) == "n2"
            assert not [e for e in written(cluster) if e["event"] in ("fault", "runtime-alert")]

    run(body(), 90)


def test_crg_run_moves_a_starting_group_on_a_drain_and_stops_at_once_on_sigterm(
        tmp_path: Path) -> None:
    setup = silent(tmp_path)
    with crg_run(setup) as runtime:
        wait_until(lambda: runtime.group("job").get("node") == "n1"
                   and bool(app_on("n1", setup.name)), 20, "job starting on n1")
        began = time.monotonic()
        drained = runtime.crg("drain", "n1", "--no-wait")
        assert drained.code == 0, drained.err
        wait_until(lambda: runtime.group("job").get("node") == "n2"
                   and bool(app_on("n2", setup.name)) and not app_on("n1", setup.name),
                   PROMPT_S, "job moved on to n2")
        assert time.monotonic() - began < PROMPT_S
        # The runtime stops while job starts on n2: it halts it in order, not at the
        # deadline of its stop (nor at the end of the start timeout).
        began = time.monotonic()
        runtime.process.send_signal(signal.SIGTERM)
        code = runtime.process.wait(timeout=START_TIMEOUT_S + 30)
        elapsed = time.monotonic() - began
        assert code == 0, runtime.log()[-5000:]
        assert elapsed < PROMPT_S, f"SIGTERM took {elapsed:.1f} s"
    log = runtime.log()
    assert abandoned("n1", "stop-app") in log
    assert abandoned("n2", "stop-app") in log
    assert "Traceback" not in log
    assert not runtime.events("fault")


CUT = FAST_CLUSTER.replace("lease 1s", "lease 2s") + SILENT[len(FAST_CLUSTER):].replace(
    "failback manual", "failback manual\n  fencing self")
"""As SILENT, with a lease long enough that fencing in time is a real test."""


def test_a_host_cut_off_while_its_group_starts_fences_it_itself_in_time(
        tmp_path: Path) -> None:
    name = f"ab{uuid.uuid4().hex[:8]}"
    CLUSTERS.append(name)
    vip = free_vip(random.Random(uuid.uuid4().int))
    config = parse(CUT.format(name=name, vip=vip), "cut.crg")
    ledger, views, logs, hosts = partitionable_hosts(config, tmp_path)
    lease_s = config.cluster.lease_ms / 1000

    async def body() -> None:
        for host in hosts.values():
            await host.start()
        try:
            n1 = hosts["n1"].agent
            assert n1 is not None
            await starting(n1)
            began = time.monotonic()
            views["n1"].cut = True
            # n1's lanes must let go of the VIP and the application before its lease can
            # run out, by the spec's fence steps. (While the lane waited for the monitors,
            # its fencing watchdog process did it, a heartbeat later, by killing.)
            await eventually(lambda: n1.keeper.cut and not n1.machine.holdings.facts
                             and ledger.holder(config.group("job").vip) is None
                             and not app_on("n1", name), lease_s, "n1 fenced itself")
            assert time.monotonic() - began < lease_s
            assert abandoned("n1", "fence") in n1.decisions
            await eventually(lambda: ledger.holder(config.group("job").vip) == "n2",
                             PROMPT_S, "job's VIP taken over by n2")
        finally:
            views["n1"].cut = False
            for host in hosts.values():
                async with asyncio.timeout(PROMPT_S):
                    assert await host.shutdown(), "its groups did not halt in order"
            for log in logs.values():
                log.close()
        await eventually(lambda: not processes_of(name), 5, "no process left")
        for node in views:
            with open(tmp_path / f"trace-{node}.jsonl", encoding="utf-8") as handle:
                result = check(config, handle)
            assert result.conforms, (node, result.problem)

    run(body(), 90)


def test_a_start_whose_monitors_never_pass_does_not_read_as_a_success(tmp_path: Path) -> None:
    """An outside tester's log: `n2: start-monitors api`, then `fault api (not healthy
    within the start timeout ...)`; the first line read as though the monitors had
    passed. The step is committed all the same (the monitors run, the spec's fault
    follows), and its line says the application is not healthy."""
    setup = silent(tmp_path)
    text = setup.path.read_text().replace("timeout 60s", "timeout 1s")
    setup.path.write_text(text)
    setup = Setup(setup.path, parse(text, str(setup.path)), setup.name, setup.vips,
                  setup.hooks, setup.alerts, setup.trace, setup.events, setup.run_dir)
    said = ("start-monitors job (unhealthy, a fault follows: not healthy within the start "
            "timeout (http ")

    async def body() -> None:
        async with running(setup) as cluster:
            await eventually(lambda: any(said in d for d in cluster.agents["n1"].decisions),
                             20, "the unhealthy start said so")
            assert "n1: start-monitors job" not in cluster.agents["n1"].decisions

    run(body(), 60)
