"""The memory store against the store contract (tests/runtime/store_contract.py)."""

from __future__ import annotations

import asyncio
import time

from store_contract import StoreContract

from crg.runtime.store.base import Store
from crg.runtime.store.memory import MemoryStore


class TestMemoryStore(StoreContract):
    ttl_ms = 300
    slack_s = 0.5

    async def open(self) -> Store:
        return MemoryStore()


def test_lease_time_stands_still_while_the_process_does_not_run() -> None:
    """The embedded store and every holder of its leases live in one process: a stall of
    the process (here: the event loop blocked) is no missed renewal. A holder that stops
    renewing while the process runs still loses its lease ``ttl`` later."""
    ttl_s = 0.3

    async def body() -> None:
        store = MemoryStore()
        lease = await store.grant(int(ttl_s * 1000))
        assert await store.create("/t/node", "up", lease)
        time.sleep(4 * ttl_s)  # the whole process stalls, store included
        assert (await store.snapshot("/t/")).get("/t/node") is not None
        assert len(store.stalls) == 1 and store.stalls[0] >= 3 * ttl_s - 0.2
        await store.keepalive(lease)
        renewed = time.monotonic()
        base = (await store.snapshot("/t/")).revision
        assert await store.wait("/t/", base, 5000) > base, "the lease expires"
        assert (await store.snapshot("/t/")).get("/t/node") is None
        assert ttl_s * 0.9 <= time.monotonic() - renewed <= ttl_s + 0.5
        assert len(store.stalls) == 1
        await store.close()

    asyncio.run(asyncio.wait_for(body(), 30))
