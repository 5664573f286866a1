"""The store contract as a reusable test suite (runtime/store/base.py).

Subclass :class:`StoreContract` as ``class TestMyStore(StoreContract)`` and implement
:meth:`StoreContract.open` (a fresh, connected store) — the memory store runs it in
tests/runtime/test_store_memory.py, the etcd store can run the very same tests::

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "runtime"))
    from store_contract import StoreContract

    class TestEtcdContract(StoreContract):
        ttl_ms = 2000                      # etcd's minimum lease

        async def open(self) -> Store:
            return EtcdStore.from_url(URL)

Every test gets its own key prefix, so a shared server is fine. Every wait is bounded.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Awaitable, Callable

import pytest

from crg.runtime.store.base import LeaseExpired, Put, Store, Txn

_prefixes = itertools.count()


class StoreContract:
    ttl_ms = 400
    """Lease TTL the lease tests use (a store may round it up; never down)."""
    slack_s = 1.5
    """How late after its TTL a lease may still be seen expiring."""

    async def open(self) -> Store:
        raise NotImplementedError

    # -- helpers -------------------------------------------------------------------------

    def prefix(self, name: str) -> str:
        return f"/crg/contract/{name}-{time.monotonic_ns()}-{next(_prefixes)}/"

    def run(self, body: Callable[[Store, str], Awaitable[None]], name: str) -> None:
        async def main() -> None:
            store = await self.open()
            try:
                await body(store, self.prefix(name))
            finally:
                await store.close()

        asyncio.run(asyncio.wait_for(main(), 30))

    async def eventually(self, check: Callable[[], Awaitable[bool]], timeout_s: float) -> bool:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if await check():
                return True
            await asyncio.sleep(0.02)
        return await check()

    # -- single-key operations -------------------------------------------------------------

    def test_create_is_exclusive(self) -> None:
        async def body(store: Store, p: str) -> None:
            assert await store.create(p + "k", "one")
            assert not await store.create(p + "k", "two")
            entry = (await store.snapshot(p)).get(p + "k")
            assert entry is not None and entry.value == "one" and entry.lease == 0

        self.run(body, "create")

    def test_compare_and_set_and_delete_if(self) -> None:
        async def body(store: Store, p: str) -> None:
            assert await store.compare_and_set(p + "k", "absent-only", 0)
            assert not await store.compare_and_set(p + "k", "again", 0)
            first = (await store.snapshot(p)).get(p + "k")
            assert first is not None
            assert not await store.compare_and_set(p + "k", "stale", first.mod_revision + 100)
            assert await store.compare_and_set(p + "k", "two", first.mod_revision)
            second = (await store.snapshot(p)).get(p + "k")
            assert second is not None and second.value == "two"
            assert second.create_revision == first.create_revision
            assert second.mod_revision > first.mod_revision
            assert not await store.delete_if(p + "k", first.mod_revision)
            assert await store.delete_if(p + "k", second.mod_revision)
            assert (await store.snapshot(p)).get(p + "k") is None

        self.run(body, "cas")

    def test_put_returns_the_revision_a_snapshot_reflects(self) -> None:
        async def body(store: Store, p: str) -> None:
            revision = await store.put(p + "a", "1")
            await store.put(p + "other/b", "2")
            snap = await store.snapshot(p)
            assert snap.revision >= revision
            assert snap.get(p + "a") is not None and snap.get(p + "a").mod_revision == revision  # type: ignore[union-attr]
            assert set(snap.under(p + "other/")) == {p + "other/b"}
            with pytest.raises(TypeError):
                snap.entries[p + "c"] = snap.entries[p + "a"]  # type: ignore[index]

        self.run(body, "put")

    # -- transactions ------------------------------------------------------------------------

    def test_commit_is_all_or_nothing(self) -> None:
        async def body(store: Store, p: str) -> None:
            await store.put(p + "a", "1")
            await store.put(p + "gone", "x")
            snap = await store.snapshot(p)
            a = snap.get(p + "a")
            gone = snap.get(p + "gone")
            assert a is not None and gone is not None
            stale = Txn({p + "a": a.mod_revision, p + "b": 0},
                        (Put(p + "a", "2"), Put(p + "b", "new")), (p + "gone",))
            await store.put(p + "b", "sneaked-in")
            assert await store.commit(stale) == 0
            after = await store.snapshot(p)
            assert after.get(p + "a").value == "1"  # type: ignore[union-attr]
            assert after.get(p + "gone") is not None
            b = after.get(p + "b")
            assert b is not None
            fresh = Txn({p + "a": a.mod_revision, p + "b": b.mod_revision},
                        (Put(p + "a", "2"), Put(p + "b", "mine")),
                        (p + "gone", p + "never-was"))
            revision = await store.commit(fresh)
            assert revision > after.revision
            final = await store.snapshot(p)
            assert final.get(p + "gone") is None
            assert final.get(p + "a").mod_revision == revision  # type: ignore[union-attr]
            assert final.get(p + "b").mod_revision == revision  # type: ignore[union-attr]
            assert final.get(p + "b").value == "mine"  # type: ignore[union-attr]

        self.run(body, "txn")

    # -- leases ------------------------------------------------------------------------------

    def test_lease_keys_vanish_together_when_it_expires(self) -> None:
        async def body(store: Store, p: str) -> None:
            lease = await store.grant(self.ttl_ms)
            assert await store.create(p + "node", "up", lease)
            await store.commit(Txn({}, (Put(p + "owner", "n1", lease), Put(p + "plain", "x"))))
            snap = await store.snapshot(p)
            assert snap.get(p + "node").lease == lease.id  # type: ignore[union-attr]

            async def expired() -> bool:
                s = await store.snapshot(p)
                # Both keys of the lease go at once; never one without the other.
                assert (s.get(p + "node") is None) == (s.get(p + "owner") is None)
                return s.get(p + "node") is None

            started = time.monotonic()
            assert await self.eventually(expired, self.ttl_ms / 1000 + self.slack_s)
            assert time.monotonic() - started >= self.ttl_ms / 1000 * 0.5
            assert (await store.snapshot(p)).get(p + "plain") is not None
            with pytest.raises(LeaseExpired):
                await store.keepalive(lease)

        self.run(body, "expiry")

    def test_keepalive_keeps_and_revoke_ends(self) -> None:
        async def body(store: Store, p: str) -> None:
            lease = await store.grant(self.ttl_ms)
            assert await store.create(p + "node", "up", lease)
            end = time.monotonic() + 2.5 * self.ttl_ms / 1000
            while time.monotonic() < end:
                await store.keepalive(lease)
                assert (await store.snapshot(p)).get(p + "node") is not None
                await asyncio.sleep(self.ttl_ms / 4000)
            await store.revoke(lease)
            assert (await store.snapshot(p)).get(p + "node") is None

        self.run(body, "keepalive")

    def test_a_key_can_be_bound_to_another_holders_lease(self) -> None:
        async def body(store: Store, p: str) -> None:
            mine = await store.grant(self.ttl_ms * 20)
            theirs = await store.grant(self.ttl_ms * 20)
            assert await store.create(p + "target", "n2", theirs)
            entry = (await store.snapshot(p)).get(p + "target")
            assert entry is not None and entry.lease == theirs.id
            assert await store.compare_and_set(p + "target", "n1", entry.mod_revision, mine)
            await store.revoke(theirs)
            assert (await store.snapshot(p)).get(p + "target") is not None
            await store.revoke(mine)
            assert (await store.snapshot(p)).get(p + "target") is None

        self.run(body, "rebind")

    # -- wait --------------------------------------------------------------------------------

    def test_wait_returns_on_a_change_under_the_prefix_only(self) -> None:
        async def body(store: Store, p: str) -> None:
            base = (await store.snapshot(p)).revision

            async def later() -> None:
                await asyncio.sleep(0.1)
                await store.put(p + "elsewhere-not-watched", "x")
                await store.put(p + "watched/k", "v")

            writer = asyncio.create_task(later())
            revision = await store.wait(p + "watched/", base, 5000)
            await writer
            assert revision > base
            snap = await store.snapshot(p)
            assert snap.get(p + "watched/k") is not None

        self.run(body, "wait")

    def test_wait_times_out_with_the_revision_it_was_given(self) -> None:
        async def body(store: Store, p: str) -> None:
            base = (await store.snapshot(p)).revision
            started = time.monotonic()
            assert await store.wait(p + "quiet/", base, 200) == base
            assert 0.15 <= time.monotonic() - started < 0.2 + self.slack_s

        self.run(body, "timeout")

    def test_wait_sees_a_lease_expire(self) -> None:
        async def body(store: Store, p: str) -> None:
            lease = await store.grant(self.ttl_ms)
            assert await store.create(p + "node", "up", lease)
            base = (await store.snapshot(p)).revision
            limit_ms = int((self.ttl_ms / 1000 + self.slack_s) * 1000)
            revision = await store.wait(p, base, limit_ms)
            assert revision > base
            assert (await store.snapshot(p)).get(p + "node") is None

        self.run(body, "wait-expiry")
