"""Announcing a moved address: gratuitous ARP (IPv4) and unsolicited neighbour
advertisement (IPv6), built here and sent from raw sockets, so no extra binary is needed.

Without an announcement, hosts keep sending to the old holder's hardware address until
their neighbour entry goes stale: about 8 s measured on the test bed.
"""

from __future__ import annotations

import ipaddress
import socket
import struct

from crg.runtime.address.base import AddressError
from crg.runtime.address.privileges import privilege_error

ETH_P_ARP = 0x0806
BROADCAST = b"\xff" * 6
ARP_REQUEST = 1
ICMPV6_NEIGHBOUR_ADVERTISEMENT = 136
NA_FLAG_OVERRIDE = 0x20000000
ND_OPT_TARGET_LINK_ADDRESS = 2
ALL_NODES = "ff02::1"


def arp_frame(mac: bytes, address: ipaddress.IPv4Address) -> bytes:
    """A broadcast Ethernet frame carrying an ARP request for ``address`` from ``address``
    itself (sender = target = VIP): the form every stack accepts as an update of its
    entry, including hosts that would ignore an unsolicited ARP reply."""
    ip = address.packed
    arp = struct.pack("!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, ARP_REQUEST, mac, ip, b"\0" * 6, ip)
    return BROADCAST + mac + struct.pack("!H", ETH_P_ARP) + arp


def parse_arp(frame: bytes) -> tuple[int, bytes, str, str] | None:
    """(operation, sender MAC, sender IP, target IP) of an Ethernet ARP frame, else None."""
    if len(frame) < 42 or struct.unpack("!H", frame[12:14])[0] != ETH_P_ARP:
        return None
    _, _, _, _, op, sha, spa, _, tpa = struct.unpack("!HHBBH6s4s6s4s", frame[14:42])
    return op, sha, str(ipaddress.IPv4Address(spa)), str(ipaddress.IPv4Address(tpa))


def neighbour_advertisement(mac: bytes, address: ipaddress.IPv6Address) -> bytes:
    """ICMPv6 body of an unsolicited advertisement with the override flag; the kernel
    fills in the checksum of raw ICMPv6 sockets."""
    body = struct.pack("!BBHI16s", ICMPV6_NEIGHBOUR_ADVERTISEMENT, 0, 0, NA_FLAG_OVERRIDE,
                       address.packed)
    if len(mac) == 6:
        body += struct.pack("!BB6s", ND_OPT_TARGET_LINK_ADDRESS, 1, mac)
    return body


def send_arp(ifname: str, mac: bytes, address: ipaddress.IPv4Address) -> None:
    frame = arp_frame(mac, address)
    try:
        with socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ARP)) as s:
            s.bind((ifname, ETH_P_ARP))
            s.send(frame)
    except PermissionError as error:
        raise privilege_error(f"announce {address} on {ifname}") from error
    except OSError as error:
        raise AddressError(f"cannot announce {address} on {ifname}: {error.strerror}") from error


def send_advertisement(ifindex: int, ifname: str, mac: bytes,
                       address: ipaddress.IPv6Address) -> None:
    packet = neighbour_advertisement(mac, address)
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6) as s:
            # Receivers drop neighbour discovery that did not come with hop limit 255.
            s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, 255)
            s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, ifindex)
            s.bind((str(address), 0, 0, 0))
            s.sendto(packet, (ALL_NODES, 0, 0, ifindex))
    except PermissionError as error:
        raise privilege_error(f"announce {address} on {ifname}") from error
    except OSError as error:
        raise AddressError(f"cannot announce {address} on {ifname}: {error.strerror}") from error


def announce(ifindex: int, ifname: str, mac: bytes,
             address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> None:
    """One announcement of ``address`` on the device (callers repeat it a few times)."""
    if isinstance(address, ipaddress.IPv4Address):
        if len(mac) == 6:  # no ARP on devices without a hardware address
            send_arp(ifname, mac, address)
    else:
        send_advertisement(ifindex, ifname, mac, address)
