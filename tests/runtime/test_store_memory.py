"""The memory store against the store contract (tests/runtime/store_contract.py)."""

from __future__ import annotations

from store_contract import StoreContract

from crg.runtime.store.base import Store
from crg.runtime.store.memory import MemoryStore


class TestMemoryStore(StoreContract):
    ttl_ms = 300
    slack_s = 0.5

    async def open(self) -> Store:
        return MemoryStore()
