"""The etcd store against a real etcd: atomic operations, leases, bounded waits, reconnects."""

from __future__ import annotations

import asyncio
import itertools
import os
import signal
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

import pytest
from etcd_server import EtcdCluster
from stopped import stop

from crg.runtime.store.base import LeaseExpired, StoreUnavailable
from crg.runtime.store.etcd import Endpoint, EtcdStore, parse_etcd_url

T = TypeVar("T")
_keys = itertools.count()


def fresh(name: str) -> str:
    """A key prefix no other test of the module uses (they share one etcd)."""
    return f"/crg/test/{name}-{next(_keys)}/"


def run(body: Callable[[], Awaitable[T]]) -> T:
    return asyncio.run(asyncio.wait_for(body(), 30))


async def poll(check: Callable[[], Awaitable[bool]], timeout_s: float, step: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if await check():
            return True
        await asyncio.sleep(step)
    return await check()


# -- URLs ---------------------------------------------------------------------------


def test_urls() -> None:
    assert parse_etcd_url("etcd://10.0.0.1:2379,10.0.0.2") == (
        Endpoint("10.0.0.1", 2379), Endpoint("10.0.0.2", 2379))
    assert parse_etcd_url("etcd://[::1]:4001/") == (Endpoint("::1", 4001),)
    for bad in ("http://h:1", "h:1", "etcd://", "etcd://h:1,,h:2", "etcd://h:x", "etcd://h/p"):
        with pytest.raises(ValueError, match="store URL"):
            parse_etcd_url(bad)
    assert parse_etcd_url("etcds://h1:2379,h2") == (Endpoint("h1", 2379),
                                                    Endpoint("h2", 2379))
    for leaky in ("etcds://crg:hunter2@h1:2379", "etcd://h0,,crg:hunter2@h1"):
        with pytest.raises(ValueError) as refused:
            parse_etcd_url(leaky)
        assert "hunter2" not in str(refused.value) and "***@h1" in str(refused.value)


# -- atomic operations --------------------------------------------------------------


def test_create_cas_delete_snapshot(etcd: EtcdCluster) -> None:
    p = fresh("ops")

    async def body() -> None:
        store = EtcdStore.from_url(etcd.url)
        try:
            assert await store.create(p + "a", "one")
            assert not await store.create(p + "a", "two")
            snap = await store.snapshot(p)
            a = snap.get(p + "a")
            assert a is not None and a.value == "one" and a.lease == 0
            assert a.create_revision == a.mod_revision <= snap.revision
            assert not await store.compare_and_set(p + "a", "x", a.mod_revision - 1)
            assert await store.compare_and_set(p + "a", "three", a.mod_revision)
            assert not await store.compare_and_set(p + "b", "x", 12345)
            assert await store.compare_and_set(p + "b", "absent-only", 0)
            assert not await store.compare_and_set(p + "b", "again", 0)
            rev = await store.put(p + "c", "plain")
            snap = await store.snapshot(p)
            assert snap.revision >= rev and set(snap.under(p)) == {p + "a", p + "b", p + "c"}
            a2 = snap.get(p + "a")
            assert a2 is not None and a2.value == "three"
            assert a2.create_revision == a.create_revision
            assert not await store.delete_if(p + "a", a.mod_revision)
            assert await store.delete_if(p + "a", a2.mod_revision)
            assert (await store.snapshot(p)).get(p + "a") is None
            assert await store.snapshot(p + "nothing/") is not None
        finally:
            await store.close()

    run(body)


def test_races_between_two_clients(etcd: EtcdCluster) -> None:
    """Two agents contend for the same keys at the same moment: exactly one wins, always."""
    p = fresh("race")

    async def body() -> None:
        one, two = EtcdStore.from_url(etcd.url), EtcdStore.from_url(etcd.url)
        try:
            for i in range(15):
                key = f"{p}own{i}"
                won = await asyncio.gather(one.create(key, "one"), two.create(key, "two"))
                assert sorted(won) == [False, True]
                entry = (await one.snapshot(key)).get(key)
                assert entry is not None and entry.value == ("one" if won[0] else "two")
                cas = await asyncio.gather(
                    one.compare_and_set(key, "cas-one", entry.mod_revision),
                    two.compare_and_set(key, "cas-two", entry.mod_revision))
                assert sorted(cas) == [False, True]
        finally:
            await one.close()
            await two.close()

    run(body)


# -- leases -------------------------------------------------------------------------


def test_lease_expiry_deletes_its_keys(etcd: EtcdCluster) -> None:
    p = fresh("expiry")

    async def body() -> None:
        store = EtcdStore.from_url(etcd.url)
        try:
            granted = time.monotonic()
            lease = await store.grant(1200)  # etcd counts seconds: rounded up to its minimum
            assert lease.ttl_ms == 2000
            assert await store.create(p + "owner", "n1", lease)
            assert (await store.snapshot(p)).entries[p + "owner"].lease == lease.id

            async def gone() -> bool:
                return (await store.snapshot(p)).get(p + "owner") is None

            assert await poll(gone, 6.0)
            # Never before the TTL (etcd may add up to about a second of its own).
            assert time.monotonic() - granted >= 1.9
            with pytest.raises(LeaseExpired):
                await store.keepalive(lease)
        finally:
            await store.close()

    run(body)


def test_revoke_is_idempotent(etcd: EtcdCluster) -> None:
    """(Keepalive and revoke themselves are in the contract suite, test_etcd_contract.)"""
    p = fresh("revoke")

    async def body() -> None:
        store = EtcdStore.from_url(etcd.url)
        try:
            lease = await store.grant(2000)
            await store.put(p + "alive", "n1", lease)
            await store.revoke(lease)
            assert (await store.snapshot(p)).get(p + "alive") is None
            await store.revoke(lease)  # already gone: fine
            with pytest.raises(LeaseExpired):
                await store.keepalive(lease)
        finally:
            await store.close()

    run(body)


# -- waits --------------------------------------------------------------------------


def test_wait_sees_changes_and_times_out(etcd: EtcdCluster) -> None:
    p = fresh("wait")

    async def body() -> None:
        store, writer = EtcdStore.from_url(etcd.url), EtcdStore.from_url(etcd.url)
        try:
            start = (await store.snapshot(p)).revision
            t0 = time.monotonic()
            assert await store.wait(p, start, 300) == start
            assert 0.25 <= time.monotonic() - t0 < 1.5
            # A change made before the call, after the revision, is reported at once.
            rev = await writer.put(p + "k", "v")
            assert await store.wait(p, start, 2000) == rev
            # A change outside the prefix does not wake the waiter.
            await writer.put(p.rstrip("/") + "-other/k", "v")
            assert await store.wait(p, rev, 300) == rev

            async def later() -> int:
                await asyncio.sleep(0.2)
                return await writer.put(p + "k2", "v")

            t0 = time.monotonic()
            seen, written = await asyncio.gather(store.wait(p, rev, 5000), later())
            assert seen == written and time.monotonic() - t0 < 2.0
        finally:
            await store.close()
            await writer.close()

    run(body)


def test_calls_bounded_when_etcd_dies_and_recover_after_restart(own_etcd: EtcdCluster) -> None:
    p = fresh("outage")
    member = own_etcd.members[0]

    async def body() -> None:
        store = EtcdStore.from_url(own_etcd.url, timeout_ms=500)
        try:
            lease = await store.grant(5000)
            rev = await store.put(p + "k", "v", lease)
            own_etcd.kill(member)
            t0 = time.monotonic()
            assert await store.wait(p, rev, 700) == rev
            assert time.monotonic() - t0 < 1.5
            for call in (store.snapshot(p), store.keepalive(lease), store.create(p + "x", "y"),
                         store.put(p + "x", "y"), store.grant(2000)):
                t0 = time.monotonic()
                with pytest.raises(StoreUnavailable, match="did not answer"):
                    await call
                assert time.monotonic() - t0 < 1.5  # 500 ms budget, slack for a busy CI

            # A wait begun during the outage reports a change made after the restart.
            async def restart_and_write() -> int:
                await asyncio.to_thread(own_etcd.restart, member)
                writer = EtcdStore.from_url(own_etcd.url)
                try:
                    return await writer.put(p + "after", "restart")
                finally:
                    await writer.close()

            seen, written = await asyncio.gather(store.wait(p, rev, 15000),
                                                 restart_and_write())
            assert seen == written
            await store.keepalive(lease)  # the data dir survived: so did the lease
            assert (await store.snapshot(p)).get(p + "k") is not None
        finally:
            await store.close()

    run(body)


def test_moves_to_another_member(etcd3: EtcdCluster) -> None:
    p = fresh("members")

    async def body() -> None:
        store = EtcdStore.from_url(etcd3.url, timeout_ms=1000)
        try:
            lease = await store.grant(5000)
            await store.put(p + "k", "v", lease)
            etcd3.kill(etcd3.members[store._current])

            async def answers() -> bool:
                try:
                    await store.keepalive(lease)
                    return (await store.snapshot(p)).get(p + "k") is not None
                except StoreUnavailable:
                    return False

            # Two members still make a quorum; an election may take a moment.
            assert await poll(answers, 10.0, step=0.1)
        finally:
            await store.close()

    run(body)


def test_a_failed_call_does_not_cancel_the_others_on_its_channel(
        own_etcd: EtcdCluster) -> None:
    """etcd stopped (SIGSTOP: connections stay up, nothing answers, like a hung member):
    the snapshot that times out first drops the channel while a lease renewal is still in
    flight on it. The renewal must fail as *store unavailable* in its own time, not be
    cancelled with the channel: an agent's renewal task that got a CancelledError would
    die silently and never see its lease run out."""
    member = own_etcd.members[0]
    assert member.process is not None

    async def body() -> None:
        store = EtcdStore.from_url(own_etcd.url, timeout_ms=400)
        try:
            lease = await store.grant(5000)  # the channel is up
            stop(member.process.pid)  # type: ignore[union-attr]
            first = asyncio.create_task(store.snapshot("/crg/"))
            await asyncio.sleep(0.2)
            t0 = time.monotonic()
            with pytest.raises(StoreUnavailable):
                await store.keepalive(lease)
            took = time.monotonic() - t0
            with pytest.raises(StoreUnavailable):
                await first
            assert 0.3 < took < 1.5, f"the renewal ended after {took:.2f} s"
            waiting = asyncio.create_task(store.wait("/crg/", 1, 1000))
            await asyncio.sleep(0.1)
            with pytest.raises(StoreUnavailable):
                await store.snapshot("/crg/")  # drops the channel the watch is on
            assert await waiting == 1  # the watch went on elsewhere, to its deadline
        finally:
            os.kill(member.process.pid, signal.SIGCONT)  # type: ignore[union-attr]
            await store.close()

    run(body)
