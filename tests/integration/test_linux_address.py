"""The Linux address driver in network namespaces: netlink add/remove, announcements seen
by another host of the LAN, idempotency, and readable errors."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
import shutil
import socket
import struct
import subprocess
import sys
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import pytest
from netbed import NetBed, in_netns

from crg.dsl.model import Vip
from crg.runtime.address.base import AddressError
from crg.runtime.address.garp import parse_arp
from crg.runtime.address.linux import LinuxAddressDriver

pytestmark = pytest.mark.root

VIP4 = Vip(ipaddress.ip_interface("10.213.0.50/24"), None)
VIP6 = Vip(ipaddress.ip_interface("fd13::50/64"), None)
VIPCTL = str(Path(__file__).with_name("vipctl.py"))
ETH_P_ALL = 0x0003


def act(bed: NetBed, node: str, action: str, vip: Vip, driver: LinuxAddressDriver | None = None
        ) -> bool | None:
    """One driver call made from inside the node's namespace."""
    drv = driver or LinuxAddressDriver(node, announce_count=1)

    async def call() -> bool | None:
        if action == "holds":
            return await drv.holds(vip, node)
        await (drv.add(vip, node) if action == "add" else drv.remove(vip, node))
        await asyncio.sleep(drv.announce_interval_s * drv.announce_count)  # let repeats go
        return None

    return bed.call(node, lambda: asyncio.run(call()))


def addresses(bed: NetBed, node: str) -> list[str]:
    out = bed.exec(node, "ip", "-j", "addr", "show", "dev", "eth0").stdout
    return [a["local"] for link in json.loads(out) for a in link["addr_info"]]


def mac_of(bed: NetBed, node: str) -> bytes:
    out = bed.exec(node, "ip", "-j", "link", "show", "dev", "eth0").stdout
    return bytes.fromhex(json.loads(out)[0]["address"].replace(":", ""))


class Capture:
    """Frames received on the client's eth0 while it runs (a raw socket in its namespace)."""

    def __init__(self, bed: NetBed, seconds: float) -> None:
        self.frames: list[bytes] = []
        self.ready = threading.Event()
        self._pool = ThreadPoolExecutor(1)
        self._future: Future[None] = self._pool.submit(
            in_netns, bed.client, lambda: self._run(seconds), seconds + 10)
        assert self.ready.wait(10), "capture socket did not open"

    def _run(self, seconds: float) -> None:
        with socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL)) as s:
            s.bind(("eth0", 0))
            s.settimeout(0.05)
            self.ready.set()
            end = time.monotonic() + seconds
            while time.monotonic() < end:
                try:
                    self.frames.append(s.recv(2048))
                except TimeoutError:
                    continue

    def result(self) -> list[bytes]:
        self._future.result()
        self._pool.shutdown()
        return self.frames


def test_add_announce_remove_ipv4(bed: NetBed) -> None:
    driver = LinuxAddressDriver("n1", announce_count=3, announce_interval_s=0.1)
    capture = Capture(bed, 1.5)
    act(bed, "n1", "add", VIP4, driver)
    assert VIP4.address in addresses(bed, "n1")
    assert act(bed, "n1", "holds", VIP4) is True
    assert act(bed, "n2", "holds", VIP4) is False

    garps = [f for f in capture.result() if (arp := parse_arp(f)) is not None
             and arp[2] == arp[3] == VIP4.address]
    assert len(garps) == 3, "one announcement at once, two repeats"
    n1_mac = mac_of(bed, "n1")
    for frame in garps:
        op, sender_mac, _, _ = parse_arp(frame)  # type: ignore[misc]
        assert frame[:6] == b"\xff" * 6 and op == 1 and sender_mac == n1_mac

    act(bed, "n1", "remove", VIP4)
    assert VIP4.address not in addresses(bed, "n1")
    assert act(bed, "n1", "holds", VIP4) is False


def test_held_addresses_are_announced_again_every_refresh(bed: NetBed) -> None:
    """``--garp-refresh``: while n1 holds the VIP its announcement is repeated every
    period (here 0.3 s), seen by the client; once removed, never again."""
    driver = LinuxAddressDriver("n1", announce_count=1, refresh_s=0.3)
    capture = Capture(bed, 2.6)

    async def hold_then_release() -> None:
        await driver.add(VIP4, "n1")
        await asyncio.sleep(1.4)
        await driver.remove(VIP4, "n1")
        await asyncio.sleep(0.9)  # three refresh periods: none may come
        await driver.close()

    bed.call("n1", lambda: asyncio.run(hold_then_release()))
    frames = capture.result()
    garps = [f for f in frames if (arp := parse_arp(f)) is not None
             and arp[2] == arp[3] == VIP4.address]
    assert 4 <= len(garps) <= 6, f"{len(garps)} announcements in 1.4 s at one per 0.3 s"
    assert 4 <= driver.refreshes + 1 == len(garps), (driver.refreshes, len(garps))
    assert VIP4.address not in addresses(bed, "n1")


def test_without_refresh_an_address_is_announced_on_addition_only(bed: NetBed) -> None:
    driver = LinuxAddressDriver("n1", announce_count=1)
    capture = Capture(bed, 1.2)

    async def hold() -> None:
        await driver.add(VIP4, "n1")
        await asyncio.sleep(0.9)
        await driver.remove(VIP4, "n1")

    bed.call("n1", lambda: asyncio.run(hold()))
    garps = [f for f in capture.result() if (arp := parse_arp(f)) is not None
             and arp[2] == arp[3] == VIP4.address]
    assert len(garps) == 1 and driver.refreshes == 0


def test_idempotent(bed: NetBed) -> None:
    for _ in range(2):
        act(bed, "n1", "add", VIP4)
    assert addresses(bed, "n1").count(VIP4.address) == 1
    for _ in range(2):
        act(bed, "n1", "remove", VIP4)
    assert VIP4.address not in addresses(bed, "n1")
    act(bed, "n2", "remove", VIP4)  # never held there: still fine


def test_moved_address_updates_the_clients_neighbour_entry(bed: NetBed) -> None:
    """The point of the gratuitous ARP: after a move the client sends to the new holder
    at once, without waiting for its stale entry to time out."""
    act(bed, "n1", "add", VIP4)

    def touch() -> None:  # resolves the VIP's hardware address (RST or refusal: no matter)
        with socket.socket() as s:
            s.settimeout(1)
            with contextlib.suppress(OSError):
                s.connect((VIP4.address, 9))

    bed.call("client", touch)

    def lladdr() -> str | None:
        out = bed.exec("client", "ip", "-j", "neigh", "show", VIP4.address).stdout
        entries = json.loads(out or "[]")
        return entries[0].get("lladdr") if entries else None

    n1, n2 = (":".join(f"{b:02x}" for b in mac_of(bed, n)) for n in ("n1", "n2"))
    assert lladdr() == n1
    act(bed, "n1", "remove", VIP4)
    act(bed, "n2", "add", VIP4)
    deadline = time.monotonic() + 2
    while lladdr() != n2 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert lladdr() == n2


def test_ipv6_unsolicited_advertisement(bed: NetBed) -> None:
    capture = Capture(bed, 1.0)
    act(bed, "n1", "add", VIP6)
    assert act(bed, "n1", "holds", VIP6) is True
    target = ipaddress.IPv6Address(VIP6.address).packed
    adverts = []
    for f in capture.result():
        if len(f) >= 78 and f[12:14] == b"\x86\xdd" and f[20] == 58 and f[54] == 136:
            adverts.append(f)
    matching = [f for f in adverts if f[62:78] == target]
    assert matching, f"no neighbour advertisement for {VIP6.address} ({len(adverts)} others)"
    frame = matching[0]
    assert frame[21] == 255, "hop limit must be 255"
    flags = struct.unpack("!I", frame[58:62])[0]
    assert flags & 0x20000000 and not flags & 0x40000000, "override set, solicited not"
    assert frame[80:86] == mac_of(bed, "n1"), "target link-layer address option"
    act(bed, "n1", "remove", VIP6)
    assert act(bed, "n1", "holds", VIP6) is False


def test_readable_errors(bed: NetBed) -> None:
    with pytest.raises(AddressError, match="no such device"):
        act(bed, "n1", "add", Vip(VIP4.interface, "eth7"))
    with pytest.raises(AddressError, match="dev IFACE"):
        act(bed, "n1", "add", Vip(ipaddress.ip_interface("10.99.0.5/24"), None))
    with pytest.raises(AddressError, match="this agent is n1"):
        bed.call("n1", lambda: asyncio.run(LinuxAddressDriver("n1").add(VIP4, "n2")))


def test_missing_capability_is_explained(bed: NetBed) -> None:
    if shutil.which("setpriv") is None:
        pytest.skip("needs setpriv (util-linux) to drop capabilities")
    dropped = bed.exec("n1", "setpriv", "--inh-caps=-all", "--ambient-caps=-all",
                       "--bounding-set=-net_admin,-net_raw", sys.executable, VIPCTL,
                       "add", "n1", str(VIP4.interface), check=False)
    assert dropped.returncode == 1, dropped.stderr
    assert "Traceback" not in dropped.stdout + dropped.stderr
    assert "lacks CAP_NET_ADMIN and CAP_NET_RAW" in dropped.stdout
    assert "AmbientCapabilities" in dropped.stdout
    assert VIP4.address not in addresses(bed, "n1")
    # The same call with the capabilities works, through the same script.
    ok = bed.exec("n1", sys.executable, VIPCTL, "add", "n1", str(VIP4.interface))
    assert ok.stdout.strip() == "ok" and VIP4.address in addresses(bed, "n1")


def without(*caps: str) -> list[str]:
    """The setpriv prefix that runs a command without these capabilities."""
    return ["setpriv", "--inh-caps=-all", "--ambient-caps=-all",
            f"--bounding-set={','.join('-' + c for c in caps)}"]


def test_a_failed_announcement_takes_the_address_off_again(bed: NetBed) -> None:
    """Without CAP_NET_RAW the address can be added but not announced: the add must not
    leave it configured (nothing half-applied), and the error says it was removed."""
    if shutil.which("setpriv") is None:
        pytest.skip("needs setpriv (util-linux) to drop capabilities")
    failed = bed.exec("n1", *without("net_raw"), sys.executable, VIPCTL, "add", "n1",
                      str(VIP4.interface), check=False)
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert "Traceback" not in failed.stdout + failed.stderr
    assert "lacks CAP_NET_RAW" in failed.stdout
    assert f"{VIP4.address} was removed again" in failed.stdout
    assert VIP4.address not in addresses(bed, "n1")
    # Also when the address was already there (a retried step): it comes off.
    bed.exec("n1", "ip", "addr", "add", str(VIP4.interface), "dev", "eth0")
    again = bed.exec("n1", *without("net_raw"), sys.executable, VIPCTL, "add", "n1",
                     str(VIP4.interface), check=False)
    assert again.returncode == 1 and "was removed again" in again.stdout
    assert VIP4.address not in addresses(bed, "n1")


def test_crg_run_checks_the_privileges_before_touching_anything(tmp_path: Path) -> None:
    """``crg run --address linux`` without CAP_NET_RAW: exit 2 with the reason, before the
    run directory, the store or any address is touched."""
    if shutil.which("setpriv") is None:
        pytest.skip("needs setpriv (util-linux) to drop capabilities")
    config = tmp_path / "one.crg"
    config.write_text("cluster privs { nodes n1 n2 }\n"
                      "group web {\n  vip 10.213.0.50/24\n  app { start \"sleep 60\" }\n"
                      "  monitor process\n  preferred n1\n  possible n2\n}\n")
    run_dir = tmp_path / "run"
    result = subprocess.run(
        [*without("net_raw"), sys.executable, "-m", "crg", "run", str(config), "--node",
         "n1", "--store", "etcd://127.0.0.1:9", "--address", "linux", "--run-dir",
         str(run_dir)], capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert "lacks CAP_NET_RAW" in result.stderr and "AmbientCapabilities" in result.stderr
    assert not run_dir.exists(), "nothing may be touched before the check"
