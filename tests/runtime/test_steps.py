"""The physical part of a step (runtime/steps.py): a step that fails leaves nothing of
itself behind."""

from __future__ import annotations

from pathlib import Path

from runtime_helpers import quickstart, run

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


def test_a_failed_acquire_vip_leaves_no_address_behind(tmp_path: Path) -> None:
    async def body() -> None:
        setup = quickstart(tmp_path)
        model = Model.from_config(setup.config)
        keys = Keys(setup.config.cluster.name)
        store = MemoryStore()
        driver = UnannouncedDriver()
        services = Services(setup.config, model, keys, store, driver, EventLog(),
                            ClusterRecorder(model, keys, None), tmp_path / "run")
        lease = await store.grant(60_000)
        await store.create(keys.node("n1"), "up", lease)
        for node in ("n2", "n3"):
            await store.create(keys.node(node), "up", await store.grant(60_000))
        web = Agent(services, "n1", lease).lanes["web"]
        assert await web.run_cycle() == "n1: claim web"
        decision = await web.run_cycle()
        assert decision.startswith("n1: acquire-vip web failed: cannot announce"), decision
        vip = setup.config.group("web").vip
        assert driver.holder(vip) is None, "the address of a failed step stays on the node"
        assert "vip" not in web.agent.facts.get("web", frozenset())

    run(body())
