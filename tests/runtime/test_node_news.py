"""What one node alone knows is every node's news (runtime/node_news.py): a failure held
during a maintenance — the node that saw it writes ``held/<group>`` in the store under
its lease, so ``crg status``, ``/groups/NAME`` and ``crg_group_app_up`` read "failed" on
every host (a tester saw "up" on the two other hosts of a three-host cluster, and the
gauge at 1 on all three) — and a node's runtime alerts in force (``troubles/<node>``),
which only that node's status showed."""

from __future__ import annotations

import asyncio
from pathlib import Path

import psutil
from runtime_helpers import SLEEPER, eventually, placement, running, two_nodes

from crg.runtime.endpoint.metrics import Metrics
from crg.runtime.observations import recorded
from crg.runtime.records import read_held, read_troubles
from crg.runtime.status import status_of


def test_a_failure_held_in_maintenance_is_read_by_every_node(tmp_path: Path) -> None:
    setup = two_nodes(tmp_path, SLEEPER)

    async def body() -> None:
        async with running(setup) as cluster:
            await eventually(lambda: placement(cluster, "job") == ("n1", "normal", "up"), 15,
                             "job up on n1")
            await cluster.operate("maintenance-on", ("job",))
            store, keys, groups = cluster.store, cluster.services.keys, cluster.config.groups
            pid = cluster.agents["n1"].machine.supervisor.instances["job"].pgid
            assert pid is not None
            psutil.Process(pid).kill()

            async def held() -> bool:
                return read_held(await store.snapshot(keys.prefix), keys, "job") is not None

            await eventually(held, 15, "the held failure written to the store")
            snap = await store.snapshot(keys.prefix)
            node, reason, since = read_held(snap, keys, "job") or ("", "", 0.0)
            assert node == "n1" and "SIGKILL" in reason and since > 0, (node, reason)
            # n2 alone, as on a host of its own: it has no fault of its own to tell
            seen = recorded(snap, keys, groups, [cluster.agents["n2"]])
            assert seen.reported["job"].node == "n1", seen.reported
            # the gauge, on either node: the spec (no fault charged) still has it running
            metrics = Metrics(cluster.config, cluster.model, "n2")
            metrics.observe(cluster.recorder.state, snap, running=True, lease_valid=True)
            assert metrics.app_up.labels("job")._value.get() == 0
            # the maintenance ends: the failure counts, and the record goes
            await cluster.operate("maintenance-off", ("job",))

            async def gone() -> bool:
                return read_held(await store.snapshot(keys.prefix), keys, "job") is None

            await eventually(gone, 15, "the held record removed once the fault counted")
            await eventually(lambda: placement(cluster, "job")[2] == "up", 15,
                             "job restarted")
            snap = await store.snapshot(keys.prefix)
            metrics.observe(cluster.recorder.state, snap, running=True, lease_valid=True)
            assert metrics.app_up.labels("job")._value.get() == 1

    asyncio.run(body())


def test_a_node_s_runtime_alerts_are_shown_by_every_node(tmp_path: Path) -> None:
    setup = two_nodes(tmp_path, SLEEPER)

    async def body() -> None:
        async with running(setup) as cluster:
            await eventually(lambda: placement(cluster, "job") == ("n1", "normal", "up"), 15,
                             "job up on n1")
            store, keys, groups = cluster.store, cluster.services.keys, cluster.config.groups
            n1, n2 = cluster.agents["n1"], cluster.agents["n2"]
            n1.machine.runtime_alert("job", "acquire-vip", "cannot add it: test")
            n1.wake()

            async def written() -> bool:
                snap = await store.snapshot(keys.prefix)
                return ("job", "acquire-vip") in read_troubles(snap, keys, "n1")

            await eventually(written, 15, "n1's trouble written to the store")
            snap = await store.snapshot(keys.prefix)
            seen = recorded(snap, keys, groups, [n2])
            # as n2's host shows it: only its own agent runs there
            shown = status_of(cluster.config, cluster.model, cluster.recorder.state,
                              snap.revision, mode="node", address=None,
                              agents={"n2": n2}, seen=seen)
            job = next(g for g in shown["groups"] if g["group"] == "job")
            assert [(t["node"], t["action"], t["reason"]) for t in job["troubles"]] == [
                ("n1", "acquire-vip", "cannot add it: test")], job["troubles"]
            n1.machine.trouble_over("job", "acquire-vip")
            n1.wake()

            async def gone() -> bool:
                snap = await store.snapshot(keys.prefix)
                return read_troubles(snap, keys, "n1") == {}

            await eventually(gone, 15, "n1's trouble removed once over")

    asyncio.run(body())
