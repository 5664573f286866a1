"""A host of its own in this process (tests only): a :class:`HostRuntime` on an event loop
in a thread of its own, reaching the store of the test's event loop through
:class:`BridgeStore`. Blocking that loop (:meth:`ThreadHost.stall`) stops this host's agent
the way ``kill -STOP`` stops an agent process — its timers, its lanes, its renewals —
while the store, the other hosts and the fencing watchdog process carry on."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

from crg.runtime.host import HostRuntime
from crg.runtime.store.base import Lease, Snapshot, Store, Txn

T = TypeVar("T")


class BridgeStore(Store):
    """A store living on another event loop; each call runs there."""

    def __init__(self, store: Store, loop: asyncio.AbstractEventLoop) -> None:
        self.store = store
        self.loop = loop

    async def _there(self, call: Coroutine[Any, Any, T]) -> T:
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(call, self.loop))

    async def grant(self, ttl_ms: int) -> Lease:
        return await self._there(self.store.grant(ttl_ms))

    async def keepalive(self, lease: Lease) -> None:
        await self._there(self.store.keepalive(lease))

    async def revoke(self, lease: Lease) -> None:
        await self._there(self.store.revoke(lease))

    async def snapshot(self, prefix: str) -> Snapshot:
        return await self._there(self.store.snapshot(prefix))

    async def create(self, key: str, value: str, lease: Lease | None = None) -> bool:
        return await self._there(self.store.create(key, value, lease))

    async def compare_and_set(self, key: str, value: str, expected_mod_revision: int,
                              lease: Lease | None = None) -> bool:
        return await self._there(self.store.compare_and_set(key, value,
                                                            expected_mod_revision, lease))

    async def delete_if(self, key: str, expected_mod_revision: int) -> bool:
        return await self._there(self.store.delete_if(key, expected_mod_revision))

    async def put(self, key: str, value: str, lease: Lease | None = None) -> int:
        return await self._there(self.store.put(key, value, lease))

    async def commit(self, txn: Txn) -> int:
        return await self._there(self.store.commit(txn))

    async def wait(self, prefix: str, after_revision: int, timeout_ms: int) -> int:
        return await self._there(self.store.wait(prefix, after_revision, timeout_ms))

    async def close(self) -> None:
        """The store stays open for the others."""


class ThreadHost:
    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.stalled: tuple[float, float] | None = None
        """(start, end) on the monotonic clock of the last stall, once it is over."""

    async def run(self, work: Callable[[], Awaitable[T]]) -> T:
        """Run ``work()`` on this host's loop; await its result from the caller's loop."""
        async def there() -> T:
            return await work()

        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(there(), self.loop))

    def stall(self, seconds: float) -> None:
        """Stop this host's event loop for ``seconds`` (from now on, in its thread)."""
        def stop() -> None:
            start = time.monotonic()
            time.sleep(seconds)
            self.stalled = (start, time.monotonic())

        self.loop.call_soon_threadsafe(stop)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


def host_in_thread(make: Callable[[Store], HostRuntime], store: Store,
                   here: asyncio.AbstractEventLoop) -> tuple[ThreadHost, HostRuntime]:
    """A ThreadHost and its HostRuntime, built on ``store`` (which lives on ``here``)."""
    thread = ThreadHost()
    return thread, make(BridgeStore(store, here))
