"""The store contract in process: the embedded default and the test fake.

Leases really expire, on the monotonic clock: a lease whose holder stops renewing it loses
its keys ``ttl`` later, as in etcd, so the embedded runtime detects a crashed node the way
a real cluster does. Expiry is checked at every call and by :meth:`MemoryStore.wait`,
which wakes up at the next deadline, so a waiting agent sees keys vanish on time even
when nobody else touches the store.

Lease time runs only while this process runs. The store lives in the process of the
agents that renew its leases, so when the process stalls (``kill -STOP``, a frozen
virtual machine, a blocked event loop) every holder stalls with the store: nobody missed
a chance to renew. A ticker notes every :data:`TICK_S` that the event loop runs; a gap
far beyond that (:data:`STALL_S`) is time the process did not run, and every lease is
extended by it before anything expires. A holder that stops renewing while the process
runs (a crashed embedded node) still loses its lease on time.

No method but :meth:`MemoryStore.wait` suspends: in one event loop, a sequence of calls
with no other ``await`` in between runs without interruption. The embedded runtime does
not rely on it for safety (its commits compare revisions like any store), only for speed.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from dataclasses import dataclass

from crg.runtime.store.base import Entry, Lease, LeaseExpired, Put, Snapshot, Store, StoreError, Txn

log = logging.getLogger("crg.runtime")

TICK_S = 0.1
"""How often the ticker notes that the event loop runs."""
STALL_S = 0.5
"""A gap between two such notes this much longer than :data:`TICK_S`: the process was not
running (load delays a tick by milliseconds, not by half a second)."""


@dataclass(slots=True)
class _Lease:
    ttl_ms: int
    deadline: float
    keys: set[str]


_LEASE_IDS = itertools.count(0x1000)
"""Shared by every store of the process, so that a new one never grants an id an old one
did: etcd's ids come from its member id and the clock, so a store started again empty
does not hand an agent's old lease id to another node (whose renewals of its old lease
would then keep the other's alive, and its expiry revoke the other's keys)."""


class MemoryStore(Store):
    def __init__(self) -> None:
        self._revision = 1
        self._entries: dict[str, Entry] = {}
        self._changed: dict[str, int] = {}
        """Revision of the last change of every key ever written, deletions included,
        so that :meth:`wait` sees a key disappear."""
        self._leases: dict[int, _Lease] = {}
        self._lease_ids = _LEASE_IDS
        self._waiters: set[asyncio.Future[None]] = set()
        self._closed = False
        self._running_at = time.monotonic()
        """The last moment this process was seen running (by the ticker or a call)."""
        self._ticker: asyncio.Task[None] | None = None
        self.stalls: list[float] = []
        """Every stall credited to the leases, in seconds (tests, logs)."""

    # -- leases ----------------------------------------------------------------------

    async def grant(self, ttl_ms: int) -> Lease:
        self._check_open()
        self._expire()
        if self._ticker is None:
            self._ticker = asyncio.get_running_loop().create_task(self._tick())
        if ttl_ms <= 0:
            raise StoreError(f"a lease needs a positive TTL, not {ttl_ms} ms")
        lease_id = next(self._lease_ids)
        self._leases[lease_id] = _Lease(ttl_ms, time.monotonic() + ttl_ms / 1000, set())
        return Lease(lease_id, ttl_ms)

    async def keepalive(self, lease: Lease) -> None:
        self._check_open()
        self._expire()
        held = self._leases.get(lease.id)
        if held is None:
            raise LeaseExpired(f"lease {lease.id:x} has expired")
        held.deadline = time.monotonic() + held.ttl_ms / 1000

    async def revoke(self, lease: Lease) -> None:
        self._check_open()
        self._expire()
        self._end_lease(lease.id)

    def _end_lease(self, lease_id: int) -> None:
        held = self._leases.pop(lease_id, None)
        if held is None or not held.keys:
            return
        self._revision += 1
        for key in held.keys:
            del self._entries[key]
            self._changed[key] = self._revision
        self._notify()

    def _expire(self) -> None:
        now = self._now()
        for lease_id in [i for i, held in self._leases.items() if held.deadline <= now]:
            self._end_lease(lease_id)

    def _now(self) -> float:
        """time.monotonic(), once the leases are credited with any time since the process
        was last seen running that it cannot have been running."""
        now = time.monotonic()
        stalled = now - self._running_at - TICK_S
        self._running_at = now
        if stalled > STALL_S:
            for held in self._leases.values():
                held.deadline += stalled
            self.stalls.append(stalled)
            log.warning("this process did not run for %.1f s: the leases of the embedded "
                        "store are extended by as much (its holders could not renew them)",
                        stalled)
        return now

    async def _tick(self) -> None:
        while not self._closed:
            await asyncio.sleep(TICK_S)
            self._now()

    def next_expiry(self) -> float | None:
        """Monotonic time of the next lease deadline (None without leases)."""
        return min((held.deadline for held in self._leases.values()), default=None)

    async def lease_left(self, lease_id: int) -> float | None:
        self._expire()
        held = self._leases.get(lease_id)
        return None if held is None else max(0.0, held.deadline - time.monotonic())

    def lease_of(self, lease_id: int) -> Lease | None:
        """The live lease with this id, rebuilt (tests and the embedded runtime)."""
        held = self._leases.get(lease_id)
        return None if held is None else Lease(lease_id, held.ttl_ms)

    # -- reads -----------------------------------------------------------------------

    async def snapshot(self, prefix: str) -> Snapshot:
        self._check_open()
        self._expire()
        return Snapshot.of(self._revision, {k: e for k, e in self._entries.items()
                                            if k.startswith(prefix)})

    # -- writes ----------------------------------------------------------------------

    async def create(self, key: str, value: str, lease: Lease | None = None) -> bool:
        return await self.commit(Txn({key: 0}, (Put(key, value, lease),))) > 0

    async def compare_and_set(self, key: str, value: str, expected_mod_revision: int,
                              lease: Lease | None = None) -> bool:
        return await self.commit(Txn({key: expected_mod_revision},
                                     (Put(key, value, lease),))) > 0

    async def delete_if(self, key: str, expected_mod_revision: int) -> bool:
        return await self.commit(Txn({key: expected_mod_revision}, (), (key,))) > 0

    async def put(self, key: str, value: str, lease: Lease | None = None) -> int:
        revision = await self.commit(Txn({}, (Put(key, value, lease),)))
        assert revision > 0, "a transaction without comparisons always succeeds"
        return revision

    async def commit(self, txn: Txn) -> int:
        self._check_open()
        self._expire()
        keys = [p.key for p in txn.puts] + list(txn.deletes)
        if len(set(keys)) != len(keys):
            raise StoreError("a transaction names the same key twice")
        for key, expected in txn.compare.items():
            entry = self._entries.get(key)
            if (entry.mod_revision if entry else 0) != expected:
                return 0
        for put in txn.puts:
            if put.lease is not None and put.lease.id not in self._leases:
                raise LeaseExpired(f"lease {put.lease.id:x} has expired")
        if not txn.puts and not any(k in self._entries for k in txn.deletes):
            return self._revision  # nothing to change: etcd does not bump the revision
        self._revision += 1
        revision = self._revision
        for put in txn.puts:
            old = self._entries.get(put.key)
            if old is not None and old.lease:
                self._leases[old.lease].keys.discard(put.key)
            lease_id = put.lease.id if put.lease is not None else 0
            if lease_id:
                self._leases[lease_id].keys.add(put.key)
            self._entries[put.key] = Entry(put.value, revision,
                                           old.create_revision if old else revision, lease_id)
            self._changed[put.key] = revision
        for key in txn.deletes:
            old = self._entries.pop(key, None)
            if old is None:
                continue
            if old.lease and old.lease in self._leases:
                self._leases[old.lease].keys.discard(key)
            self._changed[key] = revision
        self._notify()
        return revision

    # -- watch -----------------------------------------------------------------------

    def _changed_since(self, prefix: str, after_revision: int) -> bool:
        return any(rev > after_revision and key.startswith(prefix)
                   for key, rev in self._changed.items())

    def _notify(self) -> None:
        for waiter in self._waiters:
            if not waiter.done():
                waiter.set_result(None)
        self._waiters.clear()

    async def wait(self, prefix: str, after_revision: int, timeout_ms: int) -> int:
        deadline = time.monotonic() + timeout_ms / 1000
        loop = asyncio.get_running_loop()
        while not self._closed:
            self._expire()
            if self._changed_since(prefix, after_revision):
                return self._revision
            now = time.monotonic()
            if now >= deadline:
                break
            wake = min(deadline, self.next_expiry() or deadline)
            waiter: asyncio.Future[None] = loop.create_future()
            self._waiters.add(waiter)
            try:
                # Not asyncio.wait_for: in Python 3.11 it can swallow our cancellation
                # when the waiter completes at the same moment.
                await asyncio.wait({waiter}, timeout=max(0.0, wake - now))
            finally:
                self._waiters.discard(waiter)
        return after_revision

    # -- lifetime --------------------------------------------------------------------

    async def close(self) -> None:
        self._closed = True
        self._notify()
        if self._ticker is not None:
            self._ticker.cancel()  # not awaited: that could swallow our own cancellation

    def _check_open(self) -> None:
        if self._closed:
            raise StoreError("the store is closed")
