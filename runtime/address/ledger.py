"""Bookkeeping shared by the drivers that configure nothing in the kernel: which node
holds each VIP, refusing a second holder. In the embedded runtime every node lives in one
process, so this ledger is the only place a double holder could show up; refusing it turns
a rule bug into a loud error instead of two nodes answering on one address."""

from __future__ import annotations

from crg.dsl.model import Vip
from crg.runtime.address.base import AddressDriver, AddressError


class LedgerDriver(AddressDriver):
    def __init__(self) -> None:
        self._holder: dict[str, str] = {}

    def accepts(self, vip: Vip) -> str | None:
        """Why this driver cannot hold ``vip`` (None if it can): checked before a run."""
        return None

    async def add(self, vip: Vip, node: str) -> None:
        reason = self.accepts(vip)
        if reason is not None:
            raise AddressError(reason)
        holder = self._holder.get(vip.address)
        if holder is not None and holder != node:
            raise AddressError(f"{vip.address} is held by {holder}; refusing to add it "
                               f"on {node} as well")
        self._holder[vip.address] = node

    async def remove(self, vip: Vip, node: str) -> None:
        if self._holder.get(vip.address) == node:
            del self._holder[vip.address]

    async def holds(self, vip: Vip, node: str) -> bool:
        return self._holder.get(vip.address) == node

    def holder(self, vip: Vip) -> str | None:
        return self._holder.get(vip.address)

    def held_by(self, node: str) -> list[str]:
        return sorted(a for a, n in self._holder.items() if n == node)
