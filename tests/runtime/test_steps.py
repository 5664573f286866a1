"""The physical part of a step (runtime/steps.py): a step that fails leaves nothing of
itself behind."""

from __future__ import annotations

from pathlib import Path

from runtime_helpers import RemovalFails, quickstart, run

from crg.dsl import Config, parse
from crg.dsl.model import Vip
from crg.runtime.address.base import AddressError
from crg.runtime.address.null import NullDriver
from crg.runtime.agent import Agent
from crg.runtime.commit import Services
from crg.runtime.drivers.sinks import EventLog
from crg.runtime.recorder import ClusterRecorder
from crg.runtime.records import Keys
from crg.runtime.store.memory import MemoryStore
from crg.spec import Model


class UnannouncedDriver(NullDriver):
    """Configures the address, then fails as an announcement without CAP_NET_RAW does."""

    async def add(self, vip: Vip, node: str) -> None:
        await super().add(vip, node)
        raise AddressError(f"cannot announce {vip.address}: this process lacks CAP_NET_RAW")


class StuckDriver(RemovalFails, UnannouncedDriver):
    """As above, and the address will not come off again either."""


async def _web_lane_of_n1(tmp_path: Path, driver: NullDriver,
                          config: Config | None = None) -> tuple[Agent, EventLog]:
    config = quickstart(tmp_path).config if config is None else config
    model = Model.from_config(config)
    keys = Keys(config.cluster.name)
    store = MemoryStore()
    events = EventLog()
    services = Services(config, model, keys, store, driver, events,
                        ClusterRecorder(model, keys, None), tmp_path / "run")
    lease = await store.grant(60_000)
    await store.create(keys.node("n1"), "up", lease)
    for node in ("n2", "n3"):
        await store.create(keys.node(node), "up", await store.grant(60_000))
    return Agent(services, "n1", lease), events


def test_a_failed_acquire_vip_leaves_no_address_behind(tmp_path: Path) -> None:
    async def body() -> None:
        driver = UnannouncedDriver()
        agent, _ = await _web_lane_of_n1(tmp_path, driver)
        web = agent.lanes["web"]
        assert await web.run_cycle() == "n1: claim web"
        decision = await web.run_cycle()
        assert decision.startswith("n1: acquire-vip web failed: cannot announce"), decision
        vip = agent.machine.groups["web"].vip
        assert driver.holder(vip) is None, "the address of a failed step stays on the node"
        assert "vip" not in agent.machine.holdings.get("web")

    run(body())


def test_an_address_that_will_not_come_off_counts_as_held(tmp_path: Path) -> None:
    # Announcing failed and taking the address off again failed too: the address is on
    # the host. The step is committed, so the fencing feed lists the VIP and the halt
    # method removes it; the operator gets one runtime alert saying so.
    async def body() -> None:
        driver = StuckDriver()
        agent, events = await _web_lane_of_n1(tmp_path, driver)
        web = agent.lanes["web"]
        vip = agent.machine.groups["web"].vip
        assert await web.run_cycle() == "n1: claim web"
        assert await web.run_cycle() == "n1: acquire-vip web"
        assert driver.holder(vip) == "n1"
        assert "vip" in agent.machine.holdings.get("web")
        assert vip in agent.machine.to_fence()[0], "the fencing watchdog must be told of it"
        alerts = [e for e in events.records if e["event"] == "runtime-alert"]
        assert len(alerts) == 1 and "counts as held here" in alerts[0]["reason"], alerts

    run(body())


def test_an_address_that_is_not_there_after_all_fails_the_step(tmp_path: Path) -> None:
    class GoneDriver(StuckDriver):
        async def holds(self, vip: Vip, node: str) -> bool:
            return False

    async def body() -> None:
        agent, _ = await _web_lane_of_n1(tmp_path, GoneDriver())
        web = agent.lanes["web"]
        assert await web.run_cycle() == "n1: claim web"
        decision = await web.run_cycle()
        assert "failed" in decision and "it is not configured" in decision, decision
        assert "vip" not in agent.machine.holdings.get("web")
        assert agent.machine.groups["web"].vip not in agent.machine.to_fence()[0]

    run(body())


def test_a_fencing_none_group_is_not_given_to_the_fencing_watchdog(tmp_path: Path) -> None:
    # A cut-off node keeps a `fencing none` group (the spec has no fence step for it):
    # the watchdog that stands in for a stalled agent must not kill it into a fault.
    setup = quickstart(tmp_path)
    text = setup.path.read_text().replace("group web {\n", "group web {\n  fencing none\n")
    config = parse(text, str(setup.path))

    async def body() -> None:
        agent, _ = await _web_lane_of_n1(tmp_path, NullDriver(), config)
        web = agent.lanes["web"]
        assert await web.run_cycle() == "n1: claim web"
        assert await web.run_cycle() == "n1: acquire-vip web"
        assert "vip" in agent.machine.holdings.get("web")
        try:
            assert await web.run_cycle() == "n1: start-app web"
            assert agent.machine.supervisor.instances["web"].pgid is not None
            assert agent.machine.to_fence() == ([], [])
        finally:
            agent.machine.supervisor.kill_all()

    run(body())
