"""The etcd store seen from the nodes of the namespace LAN: a cut-off node's lease expires
and the others see it go; an etcd leader's death costs an election, not the leases; and
the sampler that watches the VIPs does notice two holders."""

from __future__ import annotations

import asyncio
import ipaddress
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from etcd_server import etcd_available
from netbed import NetBed, namespaces, pids_in, reap_leftovers, unavailable_reason
from sampler import Sampler

from crg.dsl.model import Vip
from crg.runtime.address.linux import LinuxAddressDriver

pytestmark = pytest.mark.root
KEY = "/crg/bed/owner/web"
STORECTL = str(Path(__file__).with_name("storectl.py"))


def make_bed(tmp_path: Path, members: int) -> Iterator[NetBed]:
    reason = unavailable_reason() or (None if etcd_available() else "needs etcd-server")
    if reason is not None:
        pytest.skip(reason)
    bed = NetBed(tmp_path, etcd_members=members)
    try:
        bed.create().start_etcd()
        yield bed
    finally:
        bed.destroy()


@pytest.fixture
def bed1(tmp_path: Path) -> Iterator[NetBed]:
    yield from make_bed(tmp_path, 1)


@pytest.fixture
def bed3(tmp_path: Path) -> Iterator[NetBed]:
    yield from make_bed(tmp_path, 3)


def on(bed: NetBed, node: str, *args: str, timeout: float = 60) -> Any:
    """One store command (see storectl.py) run from inside the node's namespace."""
    assert bed.etcd is not None
    result = bed.exec(node, sys.executable, STORECTL, bed.etcd.url, *args, timeout=timeout)
    return json.loads(result.stdout)


def test_a_cut_off_nodes_lease_expires_and_the_others_see_it(bed1: NetBed) -> None:
    lease = str(on(bed1, "n1", "take", KEY, "n1", "2000"))
    cut_at = time.monotonic()
    bed1.cut("n1")
    status, took = on(bed1, "n1", "renew", lease)
    assert status == "unavailable" and took < 1.5, "a cut-off node learns it in time"

    expired = on(bed1, "n2", "wait-gone", KEY, "10")
    assert expired is not None, "the cut-off node's key never expired"
    assert 1.5 <= expired - cut_at < 4.5
    assert on(bed1, "n2", "create", KEY, "n2") is True, "the survivor can take over"

    bed1.heal("n1")
    deadline = time.monotonic() + 10
    while (status := on(bed1, "n1", "renew", lease)[0]) == "unavailable":
        assert time.monotonic() < deadline, "n1 never reached etcd again"
    assert status == "expired"


def test_leader_death_costs_an_election_not_the_leases(bed3: NetBed) -> None:
    """Renewals stall while the members elect a new leader, and not much longer: a call
    caught by the election times out (1 s here), the holder paces 500 ms, the next call
    goes through; 1 s more for a loaded machine. How long the election itself takes is
    etcd's business (a split vote now and then costs another round: it stalled renewals
    3.5 s once in CI), so the bound runs from the moment the new leader is known, not
    from the kill."""
    assert bed3.etcd is not None
    leader = bed3.etcd.leader()
    assert leader is not None
    with ThreadPoolExecutor(1) as pool:
        holding = pool.submit(on, bed3, "n1", "hold", KEY, "3000", "8")
        time.sleep(2.5)
        bed3.etcd.kill(leader)
        new, deadline = None, time.monotonic() + 10
        while new is None and time.monotonic() < deadline:
            new = bed3.etcd.leader()
            if new is None:
                time.sleep(0.02)
        elected_at = time.monotonic()
        held = holding.result(timeout=60)
    assert new is not None and new is not leader, "no new leader within 10 s"
    assert held["kept"], "the lease was lost with the leader"
    late = held["resumed"] - elected_at
    assert late < 2.5, (f"renewals resumed {late:.1f} s after the election "
                        f"(stalled {held['gap']:.1f} s in all)")


def test_sampler_sees_two_holders(bed1: NetBed) -> None:
    vip = Vip(ipaddress.ip_interface("10.213.0.70/24"), None)
    nodes = {n: bed1.ns(n) for n in bed1.nodes}
    with Sampler(nodes, (vip.address,)) as sampler:
        for node in ("n1", "n2"):
            bed1.call(node, lambda node=node: asyncio.run(
                LinuxAddressDriver(node, announce_count=1).add(vip, node)))
        assert sampler.wait_for(vip.address, {"n1", "n2"}, 2.0) is not None
        time.sleep(0.1)
        with pytest.raises(AssertionError, match="two nodes"):
            sampler.assert_never_double()
        # A crashed node's link is down: it holds nothing any more.
        bed1.crash("n1")
        assert sampler.wait_for(vip.address, {"n2"}, 2.0) is not None
        start, count = time.monotonic(), sampler.samples
        time.sleep(0.5)
        rate = (sampler.samples - count) / (time.monotonic() - start)
    assert rate >= 25, f"sampling at {rate:.0f}/s, meant to be 50/s"


def test_leftovers_of_a_dead_run_are_reaped() -> None:
    reason = unavailable_reason()
    if reason is not None:
        pytest.skip(reason)
    dead = subprocess.Popen(["true"])
    dead.wait()  # a pid that no longer runs: the "crashed test run"
    orphan = f"crgt{dead.pid}x1-n1"
    subprocess.run(["ip", "netns", "add", orphan], check=True)
    try:
        sleeper = subprocess.Popen(["ip", "netns", "exec", orphan, "sleep", "300"])
        deadline = time.monotonic() + 5
        while sleeper.pid not in pids_in(orphan) and time.monotonic() < deadline:
            time.sleep(0.01)
        assert orphan in reap_leftovers()
        assert orphan not in namespaces() and sleeper.wait(5) == -9
    finally:
        subprocess.run(["ip", "netns", "del", orphan], capture_output=True, check=False)
