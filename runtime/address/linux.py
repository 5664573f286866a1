"""The Linux address driver: VIPs on this host's interfaces with netlink (pyroute2), each
addition announced by gratuitous ARP or an unsolicited neighbour advertisement.

One agent runs per host (or per network namespace: the agent is started inside it), so a
driver given its node (``LinuxAddressDriver("n1")``) refuses to act for another one; without
a node it acts for whichever node the runtime names, all on this host. Netlink calls are
quick but blocking: they run in a worker thread, which shares the network namespace of the
agent's process.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging

from crg.dsl.model import Vip
from crg.runtime.address import garp, netlink
from crg.runtime.address.base import AddressDriver, AddressError

log = logging.getLogger("crg.runtime")

ANNOUNCE_COUNT = 3
"""Announcements per addition: the first at once, the others spaced out, in case a switch
or a busy neighbour missed one (keepalived sends several too)."""
ANNOUNCE_INTERVAL_S = 0.2


class LinuxAddressDriver(AddressDriver):
    def __init__(self, node: str | None = None, announce_count: int = ANNOUNCE_COUNT,
                 announce_interval_s: float = ANNOUNCE_INTERVAL_S,
                 refresh_s: float | None = None) -> None:
        """``refresh_s``: announce every held address again every so many seconds, for
        as long as it is held (``crg run --garp-refresh``, keepalived's
        ``garp_master_refresh``): for switches and routers that age out their entries of
        an address that never speaks first. None (the default): never."""
        self.node = node
        self.announce_count = max(1, announce_count)
        self.announce_interval_s = announce_interval_s
        self.refresh_s = refresh_s if refresh_s and refresh_s > 0 else None
        self._repeats: dict[str, asyncio.Task[None]] = {}
        self.refreshes = 0
        """Refresh announcements sent so far (for tests and logs)."""
        self._refresh_failed: set[str] = set()

    def _own(self, vip: Vip, node: str, action: str) -> None:
        if self.node is not None and node != self.node:
            raise AddressError(f"cannot {action} {vip} on {node}: this agent is {self.node} "
                               "and acts on its own host only")

    async def add(self, vip: Vip, node: str) -> None:
        self._own(vip, node, "add")
        device, _ = await asyncio.to_thread(netlink.add_address, vip)
        # Announce even when the address was already there: a retried step after a crash
        # must still tell the LAN where the address now lives.
        self._cancel_repeats(vip)
        try:
            await asyncio.to_thread(garp.announce, device.index, device.name, device.mac,
                                    vip.interface.ip)
        except AddressError as error:
            raise await self._rolled_back(vip, error) from error
        if self.announce_count > 1 or self.refresh_s is not None:
            task = asyncio.get_running_loop().create_task(self._repeat(vip, device))
            self._repeats[vip.address] = task
            task.add_done_callback(functools.partial(self._forget, vip.address))

    async def _rolled_back(self, vip: Vip, error: AddressError) -> AddressError:
        """The step failed: an address configured but never announced would be held
        without the store, the LAN or the fencing watchdog knowing of it, so it comes off
        again (also when it was there before: acquire-vip runs only where the spec says
        the node does not hold it). Returns the error to raise, saying which it was."""
        try:
            await asyncio.to_thread(netlink.remove_address, vip)
        except AddressError as again:
            return AddressError(f"{error}; {vip.address} could NOT be removed again "
                                f"({again})")
        return AddressError(f"{error}; {vip.address} was removed again")

    async def _repeat(self, vip: Vip, device: netlink.Device) -> None:
        """The repeats of an addition, then the refreshes while the address is held
        (:meth:`remove` cancels them)."""
        for _ in range(self.announce_count - 1):
            await asyncio.sleep(self.announce_interval_s)
            # Best effort: the address was announced once already.
            with contextlib.suppress(AddressError):
                await asyncio.to_thread(garp.announce, device.index, device.name,
                                        device.mac, vip.interface.ip)
        while self.refresh_s is not None:
            await asyncio.sleep(self.refresh_s)
            try:
                await asyncio.to_thread(garp.announce, device.index, device.name,
                                        device.mac, vip.interface.ip)
            except AddressError as error:
                # The address is held and was announced; the next refresh tries again.
                if vip.address not in self._refresh_failed:
                    log.warning("refreshing the announcement of %s failed: %s", vip.address,
                                error)
                    self._refresh_failed.add(vip.address)
                continue
            self._refresh_failed.discard(vip.address)
            self.refreshes += 1

    def _forget(self, key: str, task: asyncio.Task[None]) -> None:
        if self._repeats.get(key) is task:
            del self._repeats[key]

    def _cancel_repeats(self, vip: Vip) -> None:
        task = self._repeats.pop(vip.address, None)
        if task is not None:
            task.cancel()

    async def remove(self, vip: Vip, node: str) -> None:
        self._own(vip, node, "remove")
        self._cancel_repeats(vip)
        await asyncio.to_thread(netlink.remove_address, vip)

    async def holds(self, vip: Vip, node: str) -> bool:
        if self.node is not None and node != self.node:
            # This host cannot see other hosts' interfaces; the store says who holds it.
            raise AddressError(f"cannot tell whether {node} holds {vip}: this agent is "
                               f"{self.node}")
        return await asyncio.to_thread(netlink.holds_address, vip)

    async def close(self) -> None:
        """Stop pending repeat announcements (the runtime calls it on shutdown if present)."""
        for task in list(self._repeats.values()):
            task.cancel()
        self._repeats.clear()


LinuxDriver = LinuxAddressDriver
"""The name ``crg.runtime.launch`` looks up for ``--address linux``."""
