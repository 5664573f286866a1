"""A view of a shared memory store that one node can be cut off from (tests only).

Each host of the in-process multi-host tests gets its own view; ``cut = True`` makes
every call of that view fail like an unreachable etcd would (``StoreUnavailable``, and
``wait`` returning at its timeout), while the other views carry on — a partition."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import NamedTuple

from crg.dsl import Config
from crg.runtime.address.loopback import LoopbackDriver
from crg.runtime.drivers.sinks import EventLog
from crg.runtime.host import HostRuntime
from crg.runtime.store.base import Lease, Snapshot, Store, StoreUnavailable, Txn
from crg.runtime.store.memory import MemoryStore


class PartitionableStore(Store):
    def __init__(self, shared: MemoryStore, latency_s: float = 0.002) -> None:
        self.shared = shared
        self.cut = False
        self.latency_s = latency_s
        """Every call suspends this long first, like a network round trip: the memory
        store alone never suspends, which would hide races a real store exposes."""

    async def _reach(self) -> MemoryStore:
        await asyncio.sleep(self.latency_s)
        if self.cut:
            raise StoreUnavailable("partitioned away from the store (test)")
        return self.shared

    async def grant(self, ttl_ms: int) -> Lease:
        return await (await self._reach()).grant(ttl_ms)

    async def keepalive(self, lease: Lease) -> None:
        await (await self._reach()).keepalive(lease)

    async def revoke(self, lease: Lease) -> None:
        await (await self._reach()).revoke(lease)

    async def snapshot(self, prefix: str) -> Snapshot:
        return await (await self._reach()).snapshot(prefix)

    async def create(self, key: str, value: str, lease: Lease | None = None) -> bool:
        return await (await self._reach()).create(key, value, lease)

    async def compare_and_set(self, key: str, value: str, expected_mod_revision: int,
                              lease: Lease | None = None) -> bool:
        return await (await self._reach()).compare_and_set(key, value, expected_mod_revision, lease)

    async def delete_if(self, key: str, expected_mod_revision: int) -> bool:
        return await (await self._reach()).delete_if(key, expected_mod_revision)

    async def put(self, key: str, value: str, lease: Lease | None = None) -> int:
        return await (await self._reach()).put(key, value, lease)

    async def commit(self, txn: Txn) -> int:
        return await (await self._reach()).commit(txn)

    async def wait(self, prefix: str, after_revision: int, timeout_ms: int) -> int:
        if self.cut:
            await asyncio.sleep(timeout_ms / 1000)
            return after_revision
        return await self.shared.wait(prefix, after_revision, timeout_ms)

    async def close(self) -> None:
        """The shared store stays open for the other views."""


class Hosts(NamedTuple):
    """Two-or-more in-process hosts on one shared store, each behind its own view."""

    ledger: LoopbackDriver
    """Shared: it refuses a second holder of a VIP."""
    views: dict[str, PartitionableStore]
    logs: dict[str, EventLog]
    hosts: dict[str, HostRuntime]

    async def stop(self, *, in_order: bool = True) -> list[str]:
        """Shut every host down (one never started has nothing to stop) and close the
        event logs; the nodes whose groups did not halt in order — an assertion unless
        ``in_order`` is False (the caller then says why it cannot expect it)."""
        untidy = [name for name, host in self.hosts.items() if not await host.shutdown()]
        for log in self.logs.values():
            log.close()
        assert not in_order or not untidy, f"{untidy}: its groups did not halt in order"
        return untidy


def partitionable_hosts(config: Config, folder: Path,
                        nodes: tuple[str, ...] = ("n1", "n2"), *,
                        observe: bool = False) -> Hosts:
    """A HostRuntime per node of ``nodes``, each with its own view of one memory store
    (cut one off with ``views[node].cut = True``), its events, trace (``trace-NODE.jsonl``)
    and run directory under ``folder``, without the fencing watchdog process; ``observe``:
    with metrics and an HTTP endpoint each (``hosts[node].endpoints[node]``, not
    listening: ask its ``handle``)."""
    shared = MemoryStore()
    ledger = LoopbackDriver()
    views = {n: PartitionableStore(shared) for n in nodes}
    logs = {n: EventLog(folder / f"events-{n}.jsonl") for n in nodes}
    hosts = {n: HostRuntime(config, n, store=views[n], address=ledger, run_dir=folder / n,
                            events=logs[n], trace_path=folder / f"trace-{n}.jsonl",
                            watchdog="none", observe=observe)
             for n in nodes}
    return Hosts(ledger, views, logs, hosts)
