"""``crg run --node N --start-wait DURATION`` (runtime/start_gate.py): at a cold start an
agent places nothing until every node is registered, the cluster runs already, or its
wait is over; the groups then start where the spec puts them with every node up."""

from __future__ import annotations

import json
import logging
import random
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cli_run import Run
from partition_store import Hosts, partitionable_hosts
from prometheus_client.parser import text_string_to_metric_families
from runtime_helpers import WEB_TWO_HOSTS, aserves, eventually, free_vip, run

from crg.dsl import Config, parse
from crg.runtime.host import HostRuntime
from crg.runtime.status import title
from crg.runtime.store.base import Put, Txn
from crg.spec import ActionKind

pytestmark = pytest.mark.timeout(90)

CONFIG = WEB_TWO_HOSTS

PLACING = {ActionKind.CLAIM, ActionKind.ACQUIRE_VIP, ActionKind.START_APP,
           ActionKind.ALERT}


def _setup(tmp_path: Path, wait_s: dict[str, float],
           observe: bool = False) -> tuple[Config, str, Hosts]:
    name = f"gate{uuid.uuid4().hex[:8]}"
    vip = free_vip(random.Random(uuid.uuid4().int))
    config = parse(CONFIG.format(name=name, vip=vip), "gate.crg")
    hosts = partitionable_hosts(config, tmp_path, observe=observe)
    for node, seconds in wait_s.items():
        hosts.hosts[node].start_wait_s = seconds
    return config, vip, hosts


def _waits(hosts: Hosts, node: str) -> int:
    agent = hosts.hosts[node].agent
    return 0 if agent is None else sum("waits for n1 to register" in d for d in agent.decisions)


async def _ask(host: HostRuntime, path: str) -> tuple[int, Any]:
    """What the host's HTTP endpoint answers to ``GET path``: JSON decoded, else text."""
    answer = await host.endpoints[host.node].handle(path)
    if answer.content_type.startswith("application/json"):
        return answer.status, json.loads(answer.body)
    return answer.status, answer.body.decode()


async def _gauges(host: HostRuntime) -> dict[str, float]:
    """The unlabelled samples of the host's /metrics, parsed as Prometheus would."""
    status, text = await _ask(host, "/metrics")
    assert status == 200, text
    return {s.name: s.value for family in text_string_to_metric_families(text)
            for s in family.samples if not s.labels}


def test_a_cold_start_waits_for_the_preferred_node_and_starts_there_directly(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="crg")
    config, vip, hosts = _setup(tmp_path, {"n1": 30.0, "n2": 30.0}, observe=True)
    n2 = hosts.hosts["n2"]

    async def body() -> None:
        try:
            await n2.start()
            # n2 alone would take web at once (its last node: alerted too); it waits, and
            # says so in its status.
            await eventually(lambda: _waits(hosts, "n2") >= 3, 10, "n2's lane waiting")
            status = await n2.status()
            assert status["waiting"]["for"] == ["n1"], status
            assert 0 < status["waiting"]["left_s"] <= 30
            assert "waiting for n1 to register" in title(status)
            assert "waits for n1" in n2.summary()
            assert hosts.ledger.holder(config.group("web").vip) is None
            # Its HTTP endpoint: healthy (the agent runs as told), saying what it waits
            # for; web served nowhere, and why; the wait in the metrics.
            code, health = await _ask(n2, "/health")
            assert (code, health["status"]) == (200, "running"), health
            assert health["waiting"]["for"] == ["n1"], health
            assert 0 < health["waiting"]["left_s"] <= 30, health
            assert "n2 waits for n1 to register before it places any group" in \
                health["reason"], health
            code, web = await _ask(n2, "/groups/web")
            assert (code, web["serving"], web["node"]) == (503, False, None), web
            assert web["reason"].startswith("web runs on no node yet: n2 waits for n1 to "
                                            "register"), web
            gauges = await _gauges(n2)
            assert 0 < gauges["crg_start_wait_remaining_seconds"] <= 30, gauges
            assert gauges["crg_start_wait_nodes"] == 1, gauges
            assert gauges["crg_lease_valid"] == 1, gauges
            await hosts.hosts["n1"].start()
            await eventually(lambda: hosts.ledger.holder(config.group("web").vip) == "n1",
                             10, "web's VIP on n1")
            await eventually(lambda: aserves(f"http://{vip}:8080/"), 10, "web serves on n1")
            assert "waiting" not in await n2.status()
            code, health = await _ask(n2, "/health")
            assert code == 200 and "waiting" not in health, health
            assert health["reason"] == "running, lease valid", health
            code, web = await _ask(n2, "/groups/web")
            assert code == 503 and web["reason"] == "web runs on n1, not here", web
            gauges = await _gauges(n2)
            assert gauges["crg_start_wait_remaining_seconds"] == 0, gauges
            assert gauges["crg_start_wait_nodes"] == 0, gauges
            # Nothing was placed on n2 meanwhile, nor alerted (the stops below move web
            # there, as they drain n1).
            n2_index = config.cluster.nodes.index("n2")
            placed_by_n2 = [a for a, _, _ in n2.recorder.transitions
                            if a.kind in PLACING and a.node == n2_index]
            assert placed_by_n2 == [], placed_by_n2
        finally:
            await hosts.stop()
        said = [r.getMessage() for r in caplog.records]
        assert any("n2: waits up to 30 s for n1 to register" in m for m in said), said
        assert any("n2: starts acting: every node is registered" in m for m in said), said

    run(body(), 60)


def test_once_the_wait_is_over_the_first_host_takes_what_it_can(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="crg")
    config, vip, hosts = _setup(tmp_path, {"n2": 1.0})
    n2 = hosts.hosts["n2"]

    async def body() -> None:
        try:
            await n2.start()
            await eventually(lambda: hosts.ledger.holder(config.group("web").vip) == "n2",
                             10, "web's VIP on n2 once the wait is over")
            await eventually(lambda: aserves(f"http://{vip}:8080/"), 10, "web serves on n2")
            assert _waits(hosts, "n2") >= 1  # it did wait first
        finally:
            await hosts.stop()
        said = [r.getMessage() for r in caplog.records]
        assert any("n2: starts acting: --start-wait is over; it acts without n1" in m
                   for m in said), said
        # and the events file says when the wait began and how it ended
        events = [(r["event"], r.get("waiting_for"), r.get("reason"))
                  for r in hosts.logs["n2"].records if r["event"].startswith("start-wait")]
        assert events == [("start-wait", ["n1"], None),
                          ("start-wait-over", None, "--start-wait is over; it acts without "
                                                    "n1")], events

    run(body(), 60)


def test_a_host_that_joins_a_running_cluster_does_not_wait(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="crg")
    # n2 is down at the start (only n1 runs, which waits for nobody); n2 then joins with
    # a wait far longer than the test: the cluster runs already, so it acts at once.
    config, _, hosts = _setup(tmp_path, {"n2": 600.0})
    n1, n2 = hosts.hosts["n1"], hosts.hosts["n2"]

    async def body() -> None:
        try:
            await n1.start()
            await eventually(lambda: hosts.ledger.holder(config.group("web").vip) == "n1",
                             10, "web's VIP on n1")
            await n2.start()
            await eventually(lambda: n2.agent is not None and n2.agent.gate.open, 10,
                             "n2 acting")
            assert "waiting" not in await n2.status()
        finally:
            await hosts.stop()
        said = [r.getMessage() for r in caplog.records]
        assert any("n2: starts acting: every node is registered" in m
                   or "n2: starts acting: the cluster already runs" in m for m in said), said
        assert not any("n2: waits up to" in m for m in said), said

    run(body(), 60)


def test_an_operator_command_on_a_waiting_agent_says_that_it_waits(tmp_path: Path) -> None:
    # A command waits for its group to come to rest, which a waiting agent's does not
    # do: its refusal said only "not placed on any node (mode moving), and did not come
    # to rest", as if the group were stuck.
    config, _, hosts = _setup(tmp_path, {"n2": 30.0})
    n2 = hosts.hosts["n2"]

    async def body() -> None:
        try:
            await n2.start()
            await eventually(lambda: _waits(hosts, "n2") >= 1, 10, "n2's lane waiting")
            answer = await n2.command({"op": "switchover", "args": ["web", "n2"],
                                       "wait": True, "timeout": 0.3})
            assert answer["result"] == "refused", answer
            assert "n2 waits for n1 to register before it places any group" in \
                answer["message"], answer
            answer = await n2.command({"op": "drain", "args": ["n2"], "wait": True,
                                       "timeout": 0.3})
            assert answer["result"] == "unsettled", answer
            assert "n2 waits for n1 to register before it places any group" in \
                answer["message"], answer
            assert hosts.ledger.holder(config.group("web").vip) is None
        finally:
            await hosts.stop()

    run(body(), 60)


@pytest.mark.parametrize(("argv", "said"), [
    (["--start-wait", "30s"], "--start-wait waits for the other hosts' agents: it goes "
                              "with --node and --store"),
    (["--node", "n1", "--store", "etcd://127.0.0.1:1", "--start-wait", "30 s"],
     "--start-wait 30 s: not a duration"),
    (["--node", "n1", "--store", "etcd://127.0.0.1:1", "--start-wait", "2d"],
     "--start-wait 2d: not a duration"),
    (["--node", "n1", "--store", "etcd://127.0.0.1:1", "--start-wait", "25h"],
     "--start-wait 25h: must be at most 24h"),
    # argparse took these for options and said "expected one argument".
    (["--node", "n1", "--store", "etcd://127.0.0.1:1", "--start-wait", "-5s"],
     "--start-wait -5s: negative"),
    (["--node", "n1", "--store", "etcd://127.0.0.1:1", "--address", "linux",
      "--garp-refresh", "-5s"], "--garp-refresh -5s: negative; a refresh is a duration "
                                "from 1s to 24h"),
])
def test_a_start_wait_that_cannot_be_is_refused(
        crg: Callable[..., Run], tmp_path: Path, argv: list[str], said: str) -> None:
    source = tmp_path / "gate.crg"
    source.write_text(CONFIG.format(name="gate", vip="127.0.0.9"))
    result = crg("run", str(source), "--run-dir", str(tmp_path / "run"), *argv)
    assert result.code == 2, result
    assert said in result.err, result.err
    assert "Traceback" not in result.err


def test_a_node_an_operator_drained_is_not_waited_for(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="crg")
    config, _, hosts = _setup(tmp_path, {"n2": 600.0})
    n2 = hosts.hosts["n2"]

    async def body() -> None:
        # n1 was drained by an operator (crg drain n1), then its host went away: it is out
        # of service on purpose, and n2 starts at once without it.
        await hosts.views["n2"].commit(Txn({}, (Put(n2.services.keys.drained("n1"), "1"),)))
        try:
            await n2.start()
            await eventually(lambda: hosts.ledger.holder(config.group("web").vip) == "n2",
                             10, "web's VIP on n2 at once")
        finally:
            await hosts.stop()
        said = [r.getMessage() for r in caplog.records]
        assert any("n2: starts acting: every node is registered (or drained by an "
                   "operator)" in m for m in said), said

    run(body(), 60)


def test_an_agent_restarted_while_its_previous_lease_holds_does_not_wait(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="crg")
    # n2 ran alone (n1 down) and was killed: its groups went down with it, and its key
    # outlives it for a lease. Started again meanwhile, it must not wait for n1.
    config, _, hosts = _setup(tmp_path, {"n2": 600.0})
    n2 = hosts.hosts["n2"]

    async def body() -> None:
        view = hosts.views["n2"]
        previous = await view.grant(config.cluster.lease_ms)
        await view.commit(Txn({}, (Put(n2.services.keys.node("n2"), "{}", previous),)))
        try:
            await n2.start()
            await eventually(lambda: hosts.ledger.holder(config.group("web").vip) == "n2",
                             10, "web's VIP on n2 at once")
        finally:
            await hosts.stop()
        said = [r.getMessage() for r in caplog.records]
        assert any("n2: its previous run's lease still holds its key" in m for m in said), said
        assert not any("n2: waits up to" in m for m in said), said

    run(body(), 60)


def test_draining_the_node_waited_for_ends_the_wait(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="crg")
    # n1 is gone for good: the operator says so with crg drain n1, and n2 starts at once.
    config, _, hosts = _setup(tmp_path, {"n2": 600.0})
    n2 = hosts.hosts["n2"]

    async def body() -> None:
        try:
            await n2.start()
            await eventually(lambda: _waits(hosts, "n2") >= 1, 10, "n2's lane waiting")
            answer = await n2.command({"op": "drain", "args": ["n1"]})
            assert answer["result"] == "accepted", answer
            await eventually(lambda: hosts.ledger.holder(config.group("web").vip) == "n2",
                             10, "web's VIP on n2")
        finally:
            await hosts.stop()

    run(body(), 60)
