"""Synchronous netlink operations on this host's addresses, with pyroute2.

Shared by the Linux address driver (which runs them in a worker thread) and the fencing
watchdog (a small synchronous process). Everything here acts on the network namespace the
calling thread is in: agents run inside their node's namespace (``ip netns exec``).
"""

from __future__ import annotations

import errno
import ipaddress
import os
import socket
from dataclasses import dataclass

from pyroute2 import IPRoute
from pyroute2.netlink.exceptions import NetlinkError

from crg.dsl.model import Vip
from crg.runtime.address.base import AddressError
from crg.runtime.address.privileges import privilege_error

IFA_F_NODAD = 0x02
"""Use an IPv6 address at once, without duplicate address detection (a VIP must answer
immediately; the store, not DAD, guarantees it is held once)."""


@dataclass(frozen=True, slots=True)
class Device:
    index: int
    name: str
    mac: bytes
    """Hardware address (6 bytes on Ethernet; empty on devices without one)."""


def _family(vip: Vip) -> int:
    return socket.AF_INET6 if vip.interface.version == 6 else socket.AF_INET


def _local(msg: object) -> str | None:
    get = getattr(msg, "get")  # noqa: B009 - pyroute2 messages are untyped
    value = get("local") or get("address")
    return str(value) if value else None


def _device(ipr: IPRoute, index: int) -> Device:
    links = ipr.get_links(index)
    if not links:
        raise AddressError(f"network device {index} vanished")
    link = links[0]
    mac = link.get("address") or ""
    return Device(index, str(link.get("ifname")),
                  bytes.fromhex(mac.replace(":", "")) if mac else b"")


def resolve_device(ipr: IPRoute, vip: Vip) -> Device:
    """The VIP's configured device, or else the interface whose subnet contains it."""
    if vip.device:
        found = ipr.link_lookup(ifname=vip.device)
        if not found:
            names = sorted(str(link.get("ifname")) for link in ipr.get_links())
            raise AddressError(f"cannot put {vip} on device {vip.device}: no such device on "
                               f"this host (it has {', '.join(names)})")
        return _device(ipr, int(found[0]))
    address = vip.interface.ip
    for msg in ipr.get_addr(family=_family(vip)):
        local = _local(msg)
        if local is None or local == str(address):
            continue
        network = ipaddress.ip_interface(f"{local}/{msg['prefixlen']}").network
        if address in network and not network.is_loopback and network.prefixlen > 0:
            return _device(ipr, int(msg["index"]))
    raise AddressError(f"cannot put {vip} on this host: no interface has an address in a "
                       f"subnet containing {address}; name the device in the config "
                       f"(vip {vip} dev IFACE)")


def holders(ipr: IPRoute, vip: Vip) -> list[tuple[int, int]]:
    """(device index, prefix length) of every place the VIP's address is configured."""
    address = str(vip.interface.ip)
    return [(int(m["index"]), int(m["prefixlen"]))
            for m in ipr.get_addr(family=_family(vip)) if _local(m) == address]


def add_address(vip: Vip) -> tuple[Device, bool]:
    """Configure the VIP; returns its device and whether it was newly added."""
    try:
        with IPRoute() as ipr:
            device = resolve_device(ipr, vip)
            if any(index == device.index for index, _ in holders(ipr, vip)):
                return device, False
            extra = {"flags": IFA_F_NODAD} if vip.interface.version == 6 else {}
            try:
                ipr.addr("add", index=device.index, address=str(vip.interface.ip),
                         prefixlen=vip.prefix, **extra)
            except NetlinkError as error:
                if error.code == errno.EEXIST:
                    return device, False
                raise
            return device, True
    except NetlinkError as error:
        raise _netlink_error(error, f"add {vip}") from error


def remove_address(vip: Vip) -> bool:
    """Remove the VIP from wherever it is configured; returns whether anything was removed."""
    removed = False
    try:
        with IPRoute() as ipr:
            for index, prefixlen in holders(ipr, vip):
                try:
                    ipr.addr("del", index=index, address=str(vip.interface.ip),
                             prefixlen=prefixlen)
                    removed = True
                except NetlinkError as error:
                    # Gone meanwhile (another remover): the outcome we want.
                    if error.code not in (errno.EADDRNOTAVAIL, errno.ENODEV, errno.ENOENT):
                        raise
    except NetlinkError as error:
        raise _netlink_error(error, f"remove {vip}") from error
    return removed


def holds_address(vip: Vip) -> bool:
    with IPRoute() as ipr:
        found = holders(ipr, vip)
        if vip.device and found:
            wanted = ipr.link_lookup(ifname=vip.device)
            return any(index in wanted for index, _ in found)
        return bool(found)


def _netlink_error(error: NetlinkError, action: str) -> AddressError:
    if error.code in (errno.EPERM, errno.EACCES):
        return privilege_error(action)
    return AddressError(f"cannot {action}: {os.strerror(error.code)} (netlink error "
                        f"{error.code})")
