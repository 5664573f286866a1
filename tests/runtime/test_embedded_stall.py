"""The embedded runtime when its process stops running for a while (``kill -STOP``, a
frozen virtual machine): the store and every agent stall together, so nobody missed a
renewal and nothing may move; a node that really stops renewing still loses its lease on
time (README, "crg run")."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from runtime_helpers import GROUPS, aserves, eventually, placement, quickstart, run, running

from crg.spec import ActionKind

pytestmark = pytest.mark.timeout(90)


def test_a_stall_of_the_process_costs_nothing_and_a_crash_is_still_noticed(
        tmp_path: Path) -> None:
    setup = quickstart(tmp_path)
    lease_s = setup.config.cluster.lease_ms / 1000

    async def body() -> None:
        async with running(setup) as cluster:
            await eventually(lambda: all(placement(cluster, g)[2] == "up" for g in GROUPS)
                             and cluster.model.is_quiescent(cluster.recorder.state), 20,
                             "every group up, settled")
            where = {g: placement(cluster, g) for g in GROUPS}
            time.sleep(2.5 * lease_s)  # the event loop does not run: the process "stops"
            # Nothing to wait for but time: a few leases of running time change nothing.
            await asyncio.sleep(1.5 * lease_s)
            assert cluster.store.stalls and cluster.store.stalls[0] >= 2 * lease_s
            crashes = [a for a, _, _ in cluster.recorder.transitions
                       if a.kind is ActionKind.CRASH]
            assert crashes == [] and sorted(cluster.agents) == ["n1", "n2", "n3"]
            assert {g: placement(cluster, g) for g in GROUPS} == where
            assert await aserves(setup.url("web"))
            # A node that stops renewing while the process runs: noticed a lease later.
            crashed = time.monotonic()
            await cluster.crash("n3")
            await eventually(lambda: any(a.kind is ActionKind.CRASH
                                         for a, _, _ in cluster.recorder.transitions),
                             lease_s + 2.0, "n3's crash noticed")
            assert time.monotonic() - crashed >= 0.5 * lease_s
            await eventually(lambda: placement(cluster, "report")[:2] == ("n1", "offline"),
                             20, "report's VIP held offline on n1")

    run(body())
