"""One agent per "host", in process: the multi-host runtime (runtime/host.py) over views
of one memory store that a host can be partitioned from. What the etcd store and the
Linux address driver add is tested in tests/integration; this is the agent's part:
self-fencing before the lease runs out, takeover, coming back, per-node traces.

The hosts share one loopback ledger, which refuses a second holder of a VIP: a double
holder would show up as a failed acquire-vip (a runtime alert), which the test forbids.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
import uuid
from collections.abc import Awaitable
from pathlib import Path
from typing import Any

import pytest
from partition_store import PartitionableStore, partitionable_hosts
from runtime_helpers import (
    FAST_CLUSTER,
    WEB_TWO_HOSTS,
    RemovalFails,
    aserves,
    eventually,
    free_vip,
    ignores_sigterm,
    processes_of,
    run,
)
from thread_host import host_in_thread

from crg.dsl import Config, parse
from crg.runtime import alerting
from crg.runtime.address.loopback import LoopbackDriver
from crg.runtime.commit import CUT_OFF, Outcome
from crg.runtime.conform import check
from crg.runtime.control import SOCKET, ControlError, request, serve
from crg.runtime.drivers.sinks import EventLog
from crg.runtime.host import HostRuntime
from crg.runtime.machine import STORE_CUT
from crg.runtime.operator import CommandError
from crg.runtime.status import title
from crg.runtime.store.base import Lease, Store, StoreUnavailable
from crg.runtime.store.memory import MemoryStore
from crg.spec.vocabulary.actions import Action, ActionKind

pytestmark = pytest.mark.timeout(90)

CONFIG = WEB_TWO_HOSTS


def test_a_partitioned_host_fences_itself_before_the_other_takes_over(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    name = f"hosts{uuid.uuid4().hex[:8]}"
    vip = free_vip(random.Random(uuid.uuid4().int))
    config = parse(CONFIG.format(name=name, vip=vip), "hosts.crg")
    url = f"http://{vip}:8080/"
    ledger, views, logs, hosts = partitionable_hosts(config, tmp_path)

    def where() -> str | None:
        return ledger.holder(config.group("web").vip)

    async def body() -> None:
        for host in hosts.values():
            await host.start()
        try:
            with pytest.raises(CommandError, match="embedded runtime only"):
                await hosts["n1"].command({"op": "crash", "args": ["n2"]})
            await eventually(lambda: where() == "n1", 10, "web's VIP on n1")
            await eventually(lambda: aserves(url), 10, "web serves from n1")
            n1 = hosts["n1"].agent
            assert n1 is not None
            stale_feeds: list[float] = []

            def fed() -> None:
                # What n1 holds goes to its fencing watchdog with the fence deadline: a
                # deadline already past makes the watchdog fence what n1 just took (while
                # cut off, a late feed is the watchdog backing up n1's own fencing).
                late = time.monotonic() - hosts["n1"]._deadline
                if n1.machine.to_fence()[0] and not n1.keeper.cut and late > 0:
                    stale_feeds.append(late)

            n1.machine.holdings.listeners.append(fed)
            views["n1"].cut = True
            # n1 lets go of everything before its lease can run out; only then may n2
            # take the VIP (the shared ledger would refuse a second holder).
            await eventually(lambda: n1.keeper.cut and not n1.machine.holdings.facts, 5,
                             "n1 fenced itself")
            assert where() is None
            assert not [p for p in processes_of(name) if "/n1/" in p.environ()["CRG_MARK"]]
            await eventually(lambda: where() == "n2", 10, "web's VIP on n2")
            await eventually(lambda: aserves(url), 10, "web serves from n2")
            views["n1"].cut = False
            # n1's lease ran out meanwhile: it registers again, and web fails back.
            await eventually(lambda: not n1.keeper.cut, 5, "n1 back in contact")
            await eventually(lambda: where() == "n1", 10, "web back on n1")
            await eventually(lambda: aserves(url), 10, "web serves from n1 again")
            assert stale_feeds == []
        finally:
            for host in hosts.values():
                assert await host.shutdown()
            for log in logs.values():
                log.close()
        await eventually(lambda: not processes_of(name), 5, "no process left")
        assert_quiet_and_conforming(config, logs, tmp_path, lost_and_back="n1")
        # The store unreachable from n1 for seconds is said once by its courier, not at
        # every heartbeat, and by its lease keeper once, then once when renewals resume.
        said = [r.getMessage() for r in caplog.records if r.levelno >= logging.INFO]
        assert sum("n1: event delivery paused" in m for m in said) == 1, said
        assert sum("n1: cannot renew its lease" in m for m in said) == 1, said
        assert sum("n1: lease renewals resume after" in m for m in said) == 1, said
        kinds = [a.kind.label for a, _, _ in hosts["n1"].recorder.transitions]
        assert "fence" in kinds and "expire" in kinds and "heal" in kinds

    run(body(), 80)


def test_a_second_agent_for_the_same_node_is_refused(tmp_path: Path) -> None:
    name = f"hosts{uuid.uuid4().hex[:8]}"
    vip = free_vip(random.Random(uuid.uuid4().int))
    config = parse(CONFIG.format(name=name, vip=vip), "hosts.crg")
    shared = MemoryStore()

    async def body() -> None:
        first = HostRuntime(config, "n2", store=PartitionableStore(shared),
                            address=LoopbackDriver(), run_dir=tmp_path / "a",
                            events=EventLog())
        await first.start()
        second = HostRuntime(config, "n2", store=PartitionableStore(shared),
                             address=LoopbackDriver(), run_dir=tmp_path / "b",
                             events=EventLog())
        try:
            with pytest.raises(CommandError, match="already running"):
                await second.start()
        finally:
            assert await first.shutdown()

    run(body())


class GrantsFail(PartitionableStore):
    """A view whose next ``failures`` lease grants fail like an etcd that does not answer."""

    def __init__(self, shared: MemoryStore) -> None:
        super().__init__(shared)
        self.failures = 0

    async def grant(self, ttl_ms: int) -> Lease:
        if self.failures:
            self.failures -= 1
            raise StoreUnavailable("etcd did not answer a lease grant (test)")
        return await super().grant(ttl_ms)


def test_registering_again_after_an_expiry_is_retried(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    name = f"hosts{uuid.uuid4().hex[:8]}"
    vip = free_vip(random.Random(uuid.uuid4().int))
    config = parse(CONFIG.format(name=name, vip=vip), "hosts.crg")
    shared = MemoryStore()
    view = GrantsFail(shared)
    ledger = LoopbackDriver()
    host = HostRuntime(config, "n1", store=view, address=ledger, run_dir=tmp_path / "n1",
                       events=EventLog(), trace_path=tmp_path / "trace.jsonl")
    node_key = f"/crg/{name}/node/n1"

    async def registered() -> bool:
        return (await shared.snapshot(node_key)).get(node_key) is not None

    async def body() -> None:
        await host.start()
        agent = host.agent
        assert agent is not None
        try:
            await eventually(lambda: aserves(f"http://{vip}:8080/"), 10, "web serves on n1")
            view.cut = True
            await eventually(lambda: agent.keeper.cut and not agent.machine.holdings.facts, 5,
                             "n1 fenced itself")
            await eventually(lambda: _not(registered()), 5, "n1's lease ran out")
            # Back in contact: its lease is gone, and the first two new ones are refused.
            view.failures = 2
            view.cut = False
            await eventually(lambda: not agent.keeper.cut, 15, "n1 registered again and healed")
            assert view.failures == 0 and await registered()
            assert not any(task.done() for task in agent._tasks), "every task still runs"
            await eventually(lambda: ledger.holder(config.group("web").vip) == "n1", 10,
                             "web back on n1")
        finally:
            assert await host.shutdown()
        kinds = [a.kind.label for a, _, _ in host.recorder.transitions]
        assert kinds.count("expire") == 1 and kinds.count("heal") == 1, kinds
        with open(tmp_path / "trace.jsonl", encoding="utf-8") as handle:
            result = check(config, handle)
        assert result.conforms, result.problem

    with caplog.at_level(logging.WARNING, logger="crg.runtime"):
        run(body(), 60)
    retried = [r for r in caplog.records if "cannot register again" in r.getMessage()]
    assert len(retried) == 2 and all("did not answer" in r.getMessage() for r in retried)
    assert [r for r in caplog.records if r.exc_info] == [], "no traceback in the log"


async def _not(result: Awaitable[bool]) -> bool:
    return not await result


def test_an_agent_that_stalls_past_its_lease_records_what_its_watchdog_fenced(
        tmp_path: Path) -> None:
    """n1's agent stops (its own event loop blocked, like kill -STOP) for longer than its
    lease: its fencing watchdog kills web's application in its place, n2 takes web over,
    and when n1 runs again it records the fencing, the expiry and the heal as the spec's
    steps — its trace conforms — and reports the watchdog's fencing once."""
    name = f"hosts{uuid.uuid4().hex[:8]}"
    vip = free_vip(random.Random(uuid.uuid4().int))
    config = parse(CONFIG.format(name=name, vip=vip), "hosts.crg")
    url = f"http://{vip}:8080/"
    lease_s = config.cluster.lease_ms / 1000
    shared = MemoryStore()
    logs = {n: EventLog(tmp_path / f"events-{n}.jsonl") for n in ("n1", "n2")}
    # Each host its own ledger: the ledger is bookkeeping, and the watchdog ("none": it
    # only kills) cannot take n1's entry out of a shared one while n1 is stopped.
    ledgers = {n: LoopbackDriver() for n in logs}

    def host(node: str, store: Store) -> HostRuntime:
        return HostRuntime(config, node, store=store, address=ledgers[node],
                           run_dir=tmp_path / node, events=logs[node],
                           trace_path=tmp_path / f"trace-{node}.jsonl", watchdog="none")

    async def body() -> None:
        thread, n1 = host_in_thread(lambda store: host("n1", store), shared,
                                    asyncio.get_running_loop())
        n2 = host("n2", shared)
        try:
            await thread.run(n1.start)
            await eventually(lambda: ledgers["n1"].holder(config.group("web").vip) == "n1",
                             10, "web's VIP on n1")
            await n2.start()
            await eventually(lambda: aserves(url), 10, "web serves from n1")
            # Serving is not yet settled: the stall must come after start-monitors, or
            # there are two layers to fence instead of three.
            await eventually(lambda: n1.agent is not None
                             and "mon" in n1.agent.machine.holdings.get("web"), 10,
                             "web's monitors running on n1")
            thread.stall(3.5 * lease_s)
            # Only possible if the watchdog killed n1's server (its port is taken else).
            await eventually(lambda: "mon" in n2.agent.machine.holdings.get("web"), 10,
                             "web up on n2")
            assert await aserves(url) and thread.stalled is None, "while n1 is stopped"
            await eventually(lambda: thread.stalled is not None, 10, "n1 runs again")
            await eventually(lambda: "heal" in kinds(n1), 10, "n1 back in contact")
            await eventually(lambda: ledgers["n1"].holder(config.group("web").vip) == "n1"
                             and "app" in n1.agent.machine.holdings.get("web"), 15,
                             "web failed back to n1")
            await eventually(lambda: aserves(url), 10, "web serves from n1 again")
        finally:
            assert await thread.run(n1.shutdown)
            assert await n2.shutdown()
            thread.close()
            for log in logs.values():
                log.close()
        await eventually(lambda: not processes_of(name), 5, "no process left")
        fenced = [r for r in logs["n1"].records if r["event"] == "fenced"]
        assert len(fenced) == 1 and fenced[0]["killed"], fenced
        assert_quiet_and_conforming(config, logs, tmp_path, lost_and_back="n1")
        steps = kinds(n1)
        fencing = steps.index("fence")
        assert steps[fencing:fencing + 5] == ["fence"] * 3 + ["expire", "heal"], steps

    run(body(), 80)


def assert_quiet_and_conforming(config: Config, logs: dict[str, Any], tmp_path: Path,
                                lost_and_back: str | None = None) -> None:
    """No node raised a runtime alert but the page of ``lost_and_back``'s loss and return
    (once each, whichever node said it) and that node's own, about being cut off from the
    store (at most once, and its end once: from its own side of the partition), and
    every node's trace passes crg conform."""
    pages, own = [], []
    for n, log in logs.items():
        alerts = [r for r in log.records if r["event"] == "runtime-alert"
                  and r.get("action") not in ("node-lost", STORE_CUT)]
        assert alerts == [], (n, alerts)
        pages += [(r["event"], r["node"]) for r in log.records
                  if r.get("action") == "node-lost"]
        own += [(r["event"], n) for r in log.records if r.get("action") == STORE_CUT]
    expected = [("runtime-alert", lost_and_back),
                ("runtime-alert-over", lost_and_back)] if lost_and_back else []
    assert sorted(pages) == expected, pages  # from several logs: their order is no order
    # Said only if it was still cut off once its lease had run out (timing decides).
    assert own in ([], expected), own
    for n in logs:
        with open(tmp_path / f"trace-{n}.jsonl", encoding="utf-8") as handle:
            result = check(config, handle)
        assert result.conforms, (n, result.problem)


def kinds(host: HostRuntime) -> list[str]:
    return [a.kind.label for a, _, _ in host.recorder.transitions]


def test_status_while_the_agent_is_starting_and_once_it_runs(tmp_path: Path) -> None:
    """The control socket is served while start() still waits out the lease of the node's
    previous run: status answers (starting), commands are refused with a reason, and once
    the agent runs the status carries the store revision it was read at."""
    name = f"hosts{uuid.uuid4().hex[:8]}"
    vip = free_vip(random.Random(uuid.uuid4().int))
    config = parse(CONFIG.format(name=name, vip=vip), "hosts.crg")
    shared = MemoryStore()
    host = HostRuntime(config, "n1", store=shared, address=LoopbackDriver(),
                       run_dir=tmp_path / "n1", events=EventLog())
    path = tmp_path / SOCKET

    async def ask(op: str, *args: str) -> dict[str, Any]:
        return await asyncio.to_thread(request, path, {"op": op, "args": list(args)}, 5.0)

    async def body() -> None:
        previous = await shared.grant(config.cluster.lease_ms)  # a run that just ended
        assert await shared.create(f"/crg/{name}/node/n1", "up", previous)
        server = await serve(path, host.command, (CommandError,))
        starting = asyncio.create_task(host.start())
        try:
            await eventually(lambda: host.agent is None and not starting.done(), 5,
                             "start() waits for the old lease")
            status = (await ask("status"))["status"]
            assert status["agent"] == "starting" and status["node"] == "n1"
            assert title(status) == f"cluster {name} (node n1, starting)"
            assert [g["group"] for g in status["groups"]] == ["web"]
            with pytest.raises(ControlError, match="n1 is still starting"):
                await ask("drain", "n1")
            await asyncio.wait_for(starting, 10)
            status = (await ask("status"))["status"]
            assert status["agent"] == "running"
            assert title(status) == f"cluster {name} (node n1)"
            revision = (await shared.snapshot(f"/crg/{name}/")).revision
            assert 0 < status["revision"] <= revision
        finally:
            server.close()
            assert await host.shutdown()

    run(body(), 60)


def test_an_agent_whose_watchdog_is_still_starting_is_starting_not_stopped(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """start() makes the agent, then waits for its fencing watchdog (a process: slow on a
    loaded machine), then starts its tasks. Meanwhile status, /health and the commands
    say "starting" — /health once said "the agent's tasks ended" here, which a load
    balancer or systemd would take for a dead agent, and a test took for a failure."""
    name = f"hosts{uuid.uuid4().hex[:8]}"
    config = parse(CONFIG.format(name=name, vip=free_vip(random.Random(uuid.uuid4().int))),
                   "hosts.crg")
    host = HostRuntime(config, "n1", store=MemoryStore(), address=LoopbackDriver(),
                       run_dir=tmp_path / "n1", events=EventLog(), observe=True)
    path = tmp_path / SOCKET
    release = asyncio.Event()

    async def slow_watchdog(agent: object) -> None:
        await release.wait()

    monkeypatch.setattr(host, "_start_watchdog", slow_watchdog)
    host.watchdog_kind = "none"

    async def ask(op: str, *args: str) -> dict[str, Any]:
        return await asyncio.to_thread(request, path, {"op": op, "args": list(args)}, 5.0)

    async def body() -> None:
        server = await serve(path, host.command, (CommandError,))
        starting = asyncio.create_task(host.start())
        try:
            await eventually(lambda: host.agent is not None, 5, "the agent is made")
            assert (await ask("status"))["status"]["agent"] == "starting"
            ok, health = host.endpoints["n1"].health()
            assert not ok and health["status"] == "starting", health
            assert health["reason"] == "n1's agent is starting"
            assert host.summary() == "n1 is starting" and not host.alive()
            with pytest.raises(ControlError, match="n1 is still starting"):
                await ask("drain", "n1")
            release.set()
            await asyncio.wait_for(starting, 10)
            assert (await ask("status"))["status"]["agent"] == "running"
            ok, health = host.endpoints["n1"].health()
            assert ok and health["status"] == "running", health
        finally:
            release.set()
            server.close()
            assert await host.shutdown()

    run(body(), 60)


class StuckAddresses(RemovalFails, LoopbackDriver):
    """Loopback addresses that will not come off once ``stuck`` is set."""

    stuck = False


def test_a_shutdown_that_cannot_remove_an_address_reports_it_and_still_stops(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    # The group cannot halt (release-vip keeps failing), so shutdown gives up after its
    # deadline, kills what is left and removes every VIP itself; that removal failing too
    # must be logged and shutdown must still finish (revoking the lease), not raise.
    name = f"hosts{uuid.uuid4().hex[:8]}"
    vip = free_vip(random.Random(uuid.uuid4().int))
    config = parse(CONFIG.format(name=name, vip=vip).replace("timeout 2s", "timeout 200ms"),
                   "hosts.crg")
    driver = StuckAddresses()
    store = MemoryStore()

    async def body() -> None:
        host = HostRuntime(config, "n1", store=PartitionableStore(store), address=driver,
                           run_dir=tmp_path / "n1", events=EventLog())
        await host.start()
        try:
            await eventually(lambda: driver.holder(config.group("web").vip) == "n1", 10,
                             "web's VIP on n1")
            driver.stuck = True
            with caplog.at_level(logging.ERROR, logger="crg.runtime"):
                assert not await host.shutdown(), "shutdown said it halted cleanly"
            messages = [r.getMessage() for r in caplog.records]
            assert any(f"could not remove {vip} of web on the way out" in m
                       for m in messages), messages
            entries = (await store.snapshot("")).entries
            assert host.services.keys.node("n1") not in entries, "n1's lease lives on"
        finally:
            driver.stuck = False
            await driver.remove(config.group("web").vip, "n1")
        await eventually(lambda: not processes_of(name), 5, "no process left")

    run(body(), 30)


def _web_on_n1() -> tuple[Config, MemoryStore, LoopbackDriver]:
    """CONFIG on a fresh cluster name and VIP, a memory store and a loopback ledger."""
    name = f"hosts{uuid.uuid4().hex[:8]}"
    vip = free_vip(random.Random(uuid.uuid4().int))
    return (parse(CONFIG.format(name=name, vip=vip), "hosts.crg"), MemoryStore(),
            LoopbackDriver())


async def _ran_and_stopped(config: Config, shared: MemoryStore, ledger: LoopbackDriver,
                           run_dir: Path) -> None:
    """n1 runs web, then stops cleanly: drained by its own shutdown, to start again."""
    first = HostRuntime(config, "n1", store=PartitionableStore(shared), address=ledger,
                        run_dir=run_dir, events=EventLog())
    await first.start()
    await eventually(lambda: ledger.holder(config.group("web").vip) == "n1", 10,
                     "web's VIP on n1")
    assert await first.shutdown()


def _undrain_refused(host: HostRuntime, times: int | None) -> list[Action]:
    """Make ``host``'s first ``times`` undrains (None: every one) not land, as if it were
    cut off from the store just then; the list of those refused."""
    commit, refused = host._commit, []

    async def refusing(action: Action, extra: Any = None) -> Outcome:
        if action.kind == ActionKind.UNDRAIN and (times is None or len(refused) < times):
            refused.append(action)
            return Outcome(False, CUT_OFF)
        return await commit(action, extra)

    host._commit = refusing  # type: ignore[method-assign]
    return refused


class DrainedReadsFail(PartitionableStore):
    """A view whose next ``failures`` reads of a node's drained key fail like an etcd in
    the middle of an election."""

    def __init__(self, shared: MemoryStore) -> None:
        super().__init__(shared)
        self.failures = 0

    async def snapshot(self, prefix: str) -> Any:
        if self.failures and "/drained/" in prefix:
            self.failures -= 1
            raise StoreUnavailable("etcd did not answer a snapshot (test)")
        return await super().snapshot(prefix)


def test_a_store_that_stops_answering_during_start_up_does_not_end_it(
        tmp_path: Path) -> None:
    # Started again after a clean shutdown (which drained the node): the read of that
    # drain fails three times, as it did when an etcd leader died just then. The agent
    # runs anyway and takes its groups back once the store answers.
    config, shared, ledger = _web_on_n1()
    web = config.group("web").vip

    async def body() -> None:
        await _ran_and_stopped(config, shared, ledger, tmp_path / "a")
        view = DrainedReadsFail(shared)
        view.failures = 3
        again = HostRuntime(config, "n1", store=view, address=ledger,
                            run_dir=tmp_path / "b", events=EventLog())
        await again.start()
        try:
            await eventually(lambda: ledger.holder(web) == "n1", 10, "web back on n1")
            assert view.failures == 0
        finally:
            assert await again.shutdown()

    run(body(), 40)


def test_an_undrain_after_shutdown_that_does_not_land_is_tried_again(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    # Started again after a clean shutdown, the node's first undrain does not land (its
    # agent found itself cut off from the store just then): it was tried once, and the
    # node stayed drained for good with nothing said. It is tried again, and says why.
    config, shared, ledger = _web_on_n1()
    web = config.group("web").vip

    async def body() -> None:
        await _ran_and_stopped(config, shared, ledger, tmp_path / "a")
        again = HostRuntime(config, "n1", store=PartitionableStore(shared), address=ledger,
                            run_dir=tmp_path / "b", events=EventLog())
        refused = _undrain_refused(again, 1)
        with caplog.at_level(logging.INFO, logger="crg"):
            await again.start()
            try:
                await eventually(lambda: ledger.holder(web) == "n1", 10, "web back on n1")
                assert refused, "the undrain was never tried"
            finally:
                assert await again.shutdown()
        said = [r.getMessage() for r in caplog.records if "not taken back yet" in r.getMessage()]
        assert said == ["n1: its groups are not taken back yet after its last shutdown "
                        f"({CUT_OFF}); trying again every heartbeat"], said

    run(body(), 40)


def test_a_stop_does_not_wait_for_an_undrain_that_never_lands(tmp_path: Path) -> None:
    # Started again after a clean shutdown, the node's undrain never lands: the loop
    # that retries it every heartbeat never ends on its own. An orderly stop waits for
    # the alerts under way (up to DELIVERY_S), not for that loop: it is cancelled.
    config, shared, ledger = _web_on_n1()
    web = config.group("web").vip

    async def body() -> None:
        await _ran_and_stopped(config, shared, ledger, tmp_path / "a")
        again = HostRuntime(config, "n1", store=PartitionableStore(shared), address=ledger,
                            run_dir=tmp_path / "b", events=EventLog())
        refused = _undrain_refused(again, None)
        await again.start()
        try:
            await eventually(lambda: len(refused) >= 2, 10, "the undrain tried again")
            agent = again.agent
            assert agent is not None and agent.machine.background, "the loop goes on"
        finally:
            started = time.monotonic()
            assert await again.shutdown()
            took = time.monotonic() - started
        assert took < alerting.DELIVERY_S / 4, f"the stop took {took:.1f} s"
        assert ledger.holder(web) is None, "drained, it never took web back"

    run(body(), 40)


STOPPING_CONFIG = FAST_CLUSTER + """group web {{
  vip {vip}/8
  app {{
    start "python3 -c 'import signal as s, time; s.signal(s.SIGTERM, s.SIG_IGN); time.sleep(60)'"
    stop signal TERM timeout 2s
  }}
  monitor process every 200ms
  preferred n1
  possible n2
}}
"""


async def _web_runs_on(host: HostRuntime) -> None:
    """Until web (which ignores SIGTERM: its stop takes 2 s) runs on ``host``."""
    def pgid() -> int | None:
        agent = host.agent
        current = agent.machine.supervisor.instances.get("web") if agent else None
        return current.pgid if current is not None else None

    await eventually(lambda: ignores_sigterm(pgid()), 20, f"web runs on {host.node}")


async def _drained_by_its_shutdown(host: HostRuntime, store: MemoryStore) -> None:
    drained = host.services.keys.drained(host.node)

    async def is_drained() -> bool:
        return (await store.snapshot("")).get(drained) is not None

    await eventually(is_drained, 10, f"{host.node} drained by its shutdown")


def test_a_stopping_agent_refuses_operator_commands(tmp_path: Path) -> None:
    # Ctrl-C or SIGTERM drains the node; an undrain through its control socket meanwhile
    # brought its groups back, and the shutdown killed them at its deadline.
    name = f"hosts{uuid.uuid4().hex[:8]}"
    vip = free_vip(random.Random(uuid.uuid4().int))
    config = parse(STOPPING_CONFIG.format(name=name, vip=vip), "hosts.crg")
    store = MemoryStore()

    async def body() -> None:
        host = HostRuntime(config, "n1", store=PartitionableStore(store),
                           address=LoopbackDriver(), run_dir=tmp_path / "n1",
                           events=EventLog(), watchdog="none")
        await host.start()
        stopping: asyncio.Task[bool] | None = None
        try:
            await _web_runs_on(host)
            stopping = asyncio.create_task(host.shutdown())
            await _drained_by_its_shutdown(host, store)
            assert title(await host.status()) == f"cluster {name} (node n1, stopping)"
            answer = await host.command({"op": "undrain", "args": ["n1"], "wait": True,
                                         "timeout": 5.0})
            assert answer["result"] == "refused", answer
            assert "undrain n1: refused: the runtime is stopping" in answer["message"]
        finally:
            clean = await (stopping if stopping is not None else host.shutdown())
        assert clean, "the group did not halt in order"
        await eventually(lambda: not processes_of(name), 5, "no process left")

    run(body(), 60)


def test_an_undrain_of_a_stopping_node_from_another_host_is_refused(tmp_path: Path) -> None:
    # The stopping agent refuses it on its own socket; another host's took it, and the
    # groups came back onto the node whose agent then killed them at its stop deadline.
    name = f"hosts{uuid.uuid4().hex[:8]}"
    vip = free_vip(random.Random(uuid.uuid4().int))
    config = parse(STOPPING_CONFIG.format(name=name, vip=vip), "hosts.crg")
    store = MemoryStore()
    ledger = LoopbackDriver()

    async def body() -> None:
        hosts = {n: HostRuntime(config, n, store=PartitionableStore(store), address=ledger,
                                run_dir=tmp_path / n, events=EventLog(), watchdog="none")
                 for n in ("n1", "n2")}
        for host in hosts.values():
            await host.start()
        n1 = hosts["n1"]
        stopping: asyncio.Task[bool] | None = None
        try:
            await _web_runs_on(n1)
            stopping = asyncio.create_task(n1.shutdown())
            await _drained_by_its_shutdown(n1, store)
            answer = await hosts["n2"].command({"op": "undrain", "args": ["n1"]})
            assert answer["result"] == "refused", answer
            assert ("undrain n1: refused: n1 is stopping (its agent drained it to stop "
                    "cleanly") in answer["message"], answer
        finally:
            clean = await (stopping if stopping is not None else n1.shutdown())
            assert await hosts["n2"].shutdown()
        assert clean, "the group did not halt in order"
        await eventually(lambda: not processes_of(name), 5, "no process left")

    run(body(), 60)
