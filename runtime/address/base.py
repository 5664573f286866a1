"""Address drivers put a VIP on a node and take it off again.

Drivers are idempotent: adding an address that is already held, or removing one that is
not, succeeds quietly — the runtime may retry a step after a crash or a timeout. A driver
raises :class:`AddressError` with an operator-readable message when it cannot act (for
example, missing CAP_NET_ADMIN).
"""

from __future__ import annotations

import abc

from crg.dsl.model import Vip


class AddressError(Exception):
    pass


class AddressDriver(abc.ABC):
    @abc.abstractmethod
    async def add(self, vip: Vip, node: str) -> None:
        """Configure ``vip`` on ``node`` (and announce it, e.g. gratuitous ARP)."""

    @abc.abstractmethod
    async def remove(self, vip: Vip, node: str) -> None:
        """Remove ``vip`` from ``node``."""

    @abc.abstractmethod
    async def holds(self, vip: Vip, node: str) -> bool:
        """Is ``vip`` configured on ``node`` right now (the physical truth)?"""
