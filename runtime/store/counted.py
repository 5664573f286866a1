"""A store that counts its failed calls (for the ``crg_store_errors_total`` metric) and
otherwise is the store it wraps: same answers, same errors."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from crg.runtime.store.base import Lease, Snapshot, Store, StoreError, Txn

T = TypeVar("T")


class CountedStore(Store):
    def __init__(self, store: Store, on_error: Callable[[str], None]) -> None:
        self.store = store
        self.on_error = on_error

    async def _counted(self, call: str, work: Awaitable[T]) -> T:
        try:
            return await work
        except StoreError:
            self.on_error(call)
            raise

    async def grant(self, ttl_ms: int) -> Lease:
        return await self._counted("grant", self.store.grant(ttl_ms))

    async def keepalive(self, lease: Lease) -> None:
        await self._counted("keepalive", self.store.keepalive(lease))

    async def revoke(self, lease: Lease) -> None:
        await self._counted("revoke", self.store.revoke(lease))

    async def snapshot(self, prefix: str) -> Snapshot:
        return await self._counted("snapshot", self.store.snapshot(prefix))

    async def create(self, key: str, value: str, lease: Lease | None = None) -> bool:
        return await self._counted("create", self.store.create(key, value, lease))

    async def compare_and_set(self, key: str, value: str, expected_mod_revision: int,
                              lease: Lease | None = None) -> bool:
        return await self._counted("compare_and_set", self.store.compare_and_set(
            key, value, expected_mod_revision, lease))

    async def delete_if(self, key: str, expected_mod_revision: int) -> bool:
        return await self._counted("delete_if",
                                   self.store.delete_if(key, expected_mod_revision))

    async def commit(self, txn: Txn) -> int:
        return await self._counted("commit", self.store.commit(txn))

    async def put(self, key: str, value: str, lease: Lease | None = None) -> int:
        return await self._counted("put", self.store.put(key, value, lease))

    async def wait(self, prefix: str, after_revision: int, timeout_ms: int) -> int:
        return await self._counted("wait", self.store.wait(prefix, after_revision, timeout_ms))

    async def close(self) -> None:
        await self.store.close()
