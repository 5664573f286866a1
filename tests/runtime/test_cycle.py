"""One lane's cycle at a time, by hand (no background tasks): the decision strings, and a
step whose physical part is overtaken by events — it must be undone, not committed."""

from __future__ import annotations

import asyncio
from pathlib import Path

from runtime_helpers import quickstart, run

from crg.dsl.model import Vip
from crg.runtime.address.null import NullDriver
from crg.runtime.agent import Agent
from crg.runtime.commit import Actor, Services
from crg.runtime.drivers.sinks import EventLog
from crg.runtime.operator import Operator
from crg.runtime.recorder import ClusterRecorder
from crg.runtime.records import Keys
from crg.runtime.store.memory import MemoryStore
from crg.spec import Model
from crg.spec.present.simulation import Simulation


class GatedDriver(NullDriver):
    """Adding an address waits until the test opens the gate: a slow physical step."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = asyncio.Event()
        self.entered = asyncio.Event()

    async def add(self, vip: Vip, node: str) -> None:
        self.entered.set()
        await self.gate.wait()
        await super().add(vip, node)


async def agents(tmp: Path, driver: NullDriver) -> tuple[Services, dict[str, Agent]]:
    setup = quickstart(tmp)
    model = Model.from_config(setup.config)
    keys = Keys(setup.config.cluster.name)
    store = MemoryStore()
    services = Services(setup.config, model, keys, store, driver, EventLog(),
                        ClusterRecorder(model, keys, None), tmp / "run", verify=True)
    out = {}
    for node in setup.config.cluster.nodes:
        lease = await store.grant(60_000)
        await store.create(keys.node(node), "up", lease)
        # Its lease is never renewed here (no agent runs its keeper): it must not count
        # itself cut off when a loaded machine makes the test outlast the lease.
        out[node] = Agent(services, node, lease, cut_when_silent=False)
    return services, out


def test_cycles_say_what_they_did(tmp_path: Path) -> None:
    async def body() -> None:
        services, nodes = await agents(tmp_path, NullDriver())
        web_n1, web_n2 = nodes["n1"].lanes["web"], nodes["n2"].lanes["web"]
        assert await web_n2.run_cycle() == "n2: nothing to do for web"
        assert await web_n1.run_cycle() == "n1: claim web"
        assert await web_n2.run_cycle() == "n2: nothing to do for web"
        assert await web_n1.run_cycle() == "n1: acquire-vip web"
        assert services.address.holder(services.config.group("web").vip) == "n1"
        assert services.recorder.mismatches == []

    run(body())


def test_a_step_overtaken_by_events_is_undone(tmp_path: Path) -> None:
    async def body() -> None:
        driver = GatedDriver()
        services, nodes = await agents(tmp_path, driver)
        lane = nodes["n1"].lanes["web"]
        assert await lane.run_cycle() == "n1: claim web"
        cycle = asyncio.create_task(lane.run_cycle())  # acquire-vip: held at the gate
        await asyncio.wait_for(driver.entered.wait(), 5)
        # Meanwhile an operator drains n1: web must move, acquiring its VIP is no longer
        # a step of the spec.
        answer = await Operator(services, Simulation(services.config), Actor()).command(
            "drain", ("n1",))
        assert answer["result"] == "accepted", answer
        driver.gate.set()
        decision = await asyncio.wait_for(cycle, 5)
        assert decision == ("n1: acquire-vip web was undone (no longer enabled: release-ownership "
                            "web comes first now)")
        assert driver.holder(services.config.group("web").vip) is None
        kinds = [a.kind.label for a, _, _ in services.recorder.transitions]
        assert kinds == ["claim", "drain"]
        assert await lane.run_cycle() == "n1: release-ownership web"

    run(body())
