"""The fencing watchdog process: ``python -m crg.runtime.fencing_process NODE ADDRESS-KIND``.

A deliberately small, synchronous process, one per node, started by the agent (see
:mod:`crg.runtime.fencing`). It reads JSON lines on standard input and writes JSON lines on
standard output. Input::

    {"op": "feed", "fence_at": 12345.6, "vips": ["10.0.0.5/24 eth0"], "pgids": [4242]}
    {"op": "stop"}

``fence_at`` is a ``time.monotonic()`` instant; CLOCK_MONOTONIC is one clock for every
process of a host, so the deadline the agent computed from its last lease renewal means
the same here, however late the line arrives. Output::

    {"event": "ready", "pid": 4321}
    {"event": "fenced", "reason": "...", "removed": [...], "killed": [...], "errors": [...],
     "late_ms": 0.0}

It fences — SIGKILL to every listed process group, then every listed VIP removed — when
the agent's deadline passes without a newer feed (the agent stalled or cannot renew its
lease), or at once when its input closes without a ``stop`` (the agent died: nobody will
renew the lease, so the node must let go before it expires). Applications first: a
failover application must not outlive its address on a node that lost its lease.
After fencing on a deadline it stays, and a later feed re-arms it; after its input closed
it exits.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import os
import select
import signal
import sys
import time
from dataclasses import dataclass, field
from typing import Any, TextIO

from crg.dsl.model import Vip
from crg.runtime.address.base import AddressError

ADDRESS_KINDS = ("linux", "none")


def parse_vip(text: str) -> Vip:
    """``"ADDRESS/PREFIX"`` or ``"ADDRESS/PREFIX DEVICE"``."""
    address, _, device = text.partition(" ")
    return Vip(ipaddress.ip_interface(address), device or None)


def format_vip(vip: Vip) -> str:
    return f"{vip.interface} {vip.device}" if vip.device else str(vip.interface)


@dataclass
class Watchdog:
    node: str
    address_kind: str
    out: TextIO
    fence_at: float | None = None
    vips: list[str] = field(default_factory=list)
    pgids: list[int] = field(default_factory=list)
    fenced: bool = False

    def emit(self, event: dict[str, Any]) -> None:
        self.out.write(json.dumps(event) + "\n")
        self.out.flush()

    def handle(self, line: str) -> bool:
        """Apply one input line; False when told to stop."""
        try:
            message = json.loads(line)
            op = message["op"]
            if op == "stop":
                return False
            if op != "feed":
                raise ValueError(f"unknown op {op!r}")
            fence_at = float(message["fence_at"])
            vips = [str(v) for v in message.get("vips", [])]
            for vip in vips:
                parse_vip(vip)  # reject a bad line now, not while fencing
            # Never a group whose loss would take down far more than an application.
            pgids = [int(p) for p in message.get("pgids", [])
                     if int(p) > 1 and int(p) != os.getpgrp()]
        except (ValueError, KeyError, TypeError) as error:
            self.emit({"event": "error", "error": f"bad input line: {error}"})
            return True
        self.fence_at, self.vips, self.pgids, self.fenced = fence_at, vips, pgids, False
        return True

    def fence(self, reason: str) -> None:
        late_ms = max(0.0, (time.monotonic() - self.fence_at) * 1000) if self.fence_at else 0.0
        killed, removed, errors = [], [], []
        for pgid in self.pgids:
            try:
                os.killpg(pgid, signal.SIGKILL)
                killed.append(pgid)
            except ProcessLookupError:
                pass  # already gone
            except OSError as error:
                errors.append(f"process group {pgid}: {error.strerror}")
        for text in self.vips:
            try:
                if self.remove(parse_vip(text)):
                    removed.append(text)
            except (AddressError, OSError, ValueError) as error:
                errors.append(f"{text}: {error}")
        self.fenced = True
        self.emit({"event": "fenced", "node": self.node, "reason": reason, "killed": killed,
                   "removed": removed, "errors": errors, "late_ms": round(late_ms, 1)})

    def remove(self, vip: Vip) -> bool:
        if self.address_kind == "none":
            return False
        from crg.runtime.address.netlink import remove_address

        return remove_address(vip)

    def run(self, stdin: TextIO) -> int:
        if self.address_kind == "linux":
            # Import pyroute2 now, not while fencing: it takes a few hundred milliseconds
            # that a node about to lose its lease does not have.
            import crg.runtime.address.netlink  # noqa: F401
        self.emit({"event": "ready", "pid": os.getpid()})
        fd = stdin.fileno()
        buffer = b""
        while True:
            armed = self.fence_at is not None and not self.fenced
            timeout = max(0.0, self.fence_at - time.monotonic()) if armed else None  # type: ignore[operator]
            ready, _, _ = select.select([fd], [], [], timeout)
            if not ready:
                self.fence("the agent did not renew its deadline (stalled, or its lease "
                           "could not be renewed)")
                continue
            chunk = os.read(fd, 65536)
            if not chunk:
                if self.fence_at is not None or self.vips or self.pgids:
                    self.fence("the agent is gone (its pipe closed without a stop)")
                return 0
            buffer += chunk
            *lines, buffer = buffer.split(b"\n")
            for line in lines:
                if line.strip() and not self.handle(line.decode(errors="replace")):
                    return 0


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[1] not in ADDRESS_KINDS:
        print(f"usage: python -m crg.runtime.fencing_process NODE {{{','.join(ADDRESS_KINDS)}}}",
              file=sys.stderr)
        return 2
    # The agent's terminal or service manager may signal its whole group; the watchdog
    # must outlive the agent to fence after it, so it ignores the polite signals. It is
    # started in a session of its own, and SIGKILL still ends it.
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGPIPE):
        signal.signal(sig, signal.SIG_IGN)
    with contextlib.suppress(BrokenPipeError):
        return Watchdog(argv[0], argv[1], sys.stdout).run(sys.stdin)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
