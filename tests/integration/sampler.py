"""Watches who holds each VIP on the test bed, every 20 ms, and records any moment a VIP
has two holders.

A node holds an address when the address is configured on one of its interfaces that is
up (a crashed node's link is down). One netlink socket per node namespace, opened once:
a dump costs about 0.15 ms against about 4 ms for an ``ip -j addr`` subprocess, so a full
round over four namespaces stays far below the 20 ms period.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from pyroute2 import IPRoute

IFF_UP = 0x1


@dataclass(frozen=True, slots=True)
class Sample:
    at: float
    """time.monotonic() of the sample"""
    holders: dict[str, frozenset[str]]


@dataclass
class Sampler:
    namespaces: dict[str, str]
    """node name → namespace name"""
    vips: tuple[str, ...]
    """the VIP addresses to watch (without prefix)"""
    period_s: float = 0.02
    samples: int = 0
    doubles: list[Sample] = field(default_factory=list)
    changes: list[Sample] = field(default_factory=list)
    """the first sample and every sample whose holders differ from the one before"""
    errors: list[str] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    _sockets: dict[str, IPRoute] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> Sampler:
        for node, ns in self.namespaces.items():
            self._sockets[node] = IPRoute(netns=ns)
        self.sample()
        self._thread = threading.Thread(target=self._loop, name="vip-sampler", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
        for sock in self._sockets.values():
            sock.close()
        self._sockets.clear()

    def __enter__(self) -> Sampler:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    def _loop(self) -> None:
        next_at = time.monotonic()
        while not self._stop.is_set():
            next_at += self.period_s
            try:
                self.sample()
            except Exception as error:  # a namespace torn down under us: record, go on
                self.errors.append(repr(error))
            self._stop.wait(max(0.0, next_at - time.monotonic()))

    def _held_on(self, node: str) -> set[str]:
        sock = self._sockets[node]
        up = {link["index"] for link in sock.get_links() if link["flags"] & IFF_UP}
        return {address for msg in sock.get_addr()
                if (address := msg.get("local") or msg.get("address")) in self.vips
                and msg["index"] in up}

    def read(self) -> dict[str, frozenset[str]]:
        order = list(self._sockets)
        seen = {node: self._held_on(node) for node in order}
        held = {vip: {node for node in order if vip in seen[node]} for vip in self.vips}
        for vip, nodes in held.items():
            if len(nodes) < 2:
                continue
            # The namespaces are read one after another: a VIP that moved from a node
            # read early to one read later (the sampler thread held up between the two
            # on a loaded machine) would look held twice. The last holder read held it
            # then; every earlier one that still holds it now held it then too, so only
            # those count.
            last = max(nodes, key=order.index)
            held[vip] = {last} | {node for node in nodes - {last}
                                  if vip in self._held_on(node)}
        return {vip: frozenset(nodes) for vip, nodes in held.items()}

    def sample(self) -> Sample:
        with self._lock:
            sample = Sample(time.monotonic(), self.read())
            self.samples += 1
            if any(len(nodes) > 1 for nodes in sample.holders.values()):
                self.doubles.append(sample)
            if not self.changes or self.changes[-1].holders != sample.holders:
                self.changes.append(sample)
            return sample

    def holders(self, vip: str) -> frozenset[str]:
        return self.sample().holders[vip]

    def wait_for(self, vip: str, nodes: frozenset[str] | set[str],
                 timeout_s: float) -> float | None:
        """Poll (at the sampling period) until ``vip``'s holders are exactly ``nodes``;
        returns the monotonic time it was first seen, or None on timeout."""
        deadline = time.monotonic() + timeout_s
        want = frozenset(nodes)
        while time.monotonic() < deadline:
            sample = self.sample()
            if sample.holders[vip] == want:
                return sample.at
            time.sleep(self.period_s)
        return None

    def guard(self) -> None:
        """Fail at once if a sample so far saw a VIP with two holders: the scenarios call
        it in every wait, so a double holder ends the test within one poll."""
        assert not self.doubles, "VIP held by two nodes at once: " + "; ".join(
            f"t={s.at:.3f} {dict(s.holders)}" for s in self.doubles[:5])

    def assert_never_double(self) -> None:
        assert not self.errors, f"sampler errors: {self.errors[:3]}"
        assert self.samples > 0
        self.guard()
