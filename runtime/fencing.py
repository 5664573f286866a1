"""The agent's side of the fencing watchdog (claims 3, 34, 41).

A node that loses its lease must let go of its VIPs and stop its failover applications
before the lease expires, because then another node takes them over. The agent does this
itself (the spec's ``fence`` action) while it can; the watchdog is for when it cannot: an
agent killed, crashed or stalled. It is a separate small process
(:mod:`crg.runtime.fencing_process`) in a session of its own, fed by the agent::

    watchdog = await FencingWatchdog.start("n1", address="linux", on_fenced=report)
    # after every successful lease renewal (and whenever what the node holds changes):
    await watchdog.feed(FenceState(fence_at=sent + lease_s - fence_margin_s,
                                   vips=held_vips, process_groups=app_pgids))
    await watchdog.stop()          # clean shutdown: the agent released everything itself

``fence_at`` is a ``time.monotonic()`` instant computed from when the renewal was *sent*
(etcd's clock for the lease starts later than that, so the watchdog always acts early).
If no newer feed arrives by then, the watchdog kills the listed process groups and removes
the listed VIPs; if the agent dies, it does so at once. ``on_fenced`` receives its report,
so an agent that resumes after a stall knows what was taken from it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from crg.dsl.model import Vip
from crg.runtime.fencing_process import ADDRESS_KINDS, format_vip

START_TIMEOUT_S = 10.0
WRITE_TIMEOUT_S = 1.0


class FencingError(Exception):
    pass


@dataclass(frozen=True, slots=True)
class FenceState:
    fence_at: float
    """time.monotonic() by which the node must be fenced unless a newer feed arrives"""
    vips: tuple[Vip, ...] = ()
    """the VIPs this node holds now"""
    process_groups: tuple[int, ...] = ()
    """process group ids of the applications (and monitors) to kill when fencing"""

    def line(self) -> bytes:
        message = {"op": "feed", "fence_at": self.fence_at,
                   "vips": [format_vip(v) for v in self.vips],
                   "pgids": list(self.process_groups)}
        return (json.dumps(message) + "\n").encode()


@dataclass(frozen=True, slots=True)
class FenceReport:
    reason: str
    killed: tuple[int, ...]
    removed: tuple[str, ...]
    errors: tuple[str, ...]
    late_ms: float
    """how long after ``fence_at`` the fencing finished (0: on time)"""

    @staticmethod
    def of(event: dict[str, Any]) -> FenceReport:
        return FenceReport(str(event["reason"]), tuple(event["killed"]),
                           tuple(event["removed"]), tuple(event["errors"]),
                           float(event["late_ms"]))


@dataclass
class FencingWatchdog:
    node: str
    process: asyncio.subprocess.Process
    on_fenced: Callable[[FenceReport], None] | None = None
    reports: list[FenceReport] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    _reader: asyncio.Task[None] | None = None

    @classmethod
    async def start(cls, node: str, *, address: str = "linux",
                    on_fenced: Callable[[FenceReport], None] | None = None,
                    python: str = sys.executable) -> FencingWatchdog:
        """Spawn the watchdog for ``node``; ``address`` is how it removes VIPs: ``linux``
        (netlink, in this process's network namespace) or ``none`` (it only kills)."""
        if address not in ADDRESS_KINDS:
            raise FencingError(f"the fencing watchdog removes addresses with "
                               f"{' or '.join(ADDRESS_KINDS)}, not {address!r}")
        process = await asyncio.create_subprocess_exec(
            python, "-m", "crg.runtime.fencing_process", node, address,
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            # Its own session: a signal to the agent's process group must not reach it.
            start_new_session=True)
        watchdog = cls(node, process, on_fenced)
        assert process.stdout is not None
        try:
            first = await asyncio.wait_for(process.stdout.readline(), START_TIMEOUT_S)
            if json.loads(first or b"{}").get("event") != "ready":
                raise FencingError(f"the fencing watchdog did not start: {first!r}")
        except (TimeoutError, ValueError, FencingError) as error:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()
            raise FencingError(f"the fencing watchdog for {node} did not start: {error}") \
                from error
        watchdog._reader = asyncio.get_running_loop().create_task(watchdog._read())
        return watchdog

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def alive(self) -> bool:
        return self.process.returncode is None

    async def _read(self) -> None:
        assert self.process.stdout is not None
        while line := await self.process.stdout.readline():
            try:
                event = json.loads(line)
            except ValueError:
                self.problems.append(line.decode(errors="replace"))
                continue
            if event.get("event") == "fenced":
                report = FenceReport.of(event)
                self.reports.append(report)
                if self.on_fenced is not None:
                    self.on_fenced(report)
            elif event.get("event") == "error":
                self.problems.append(str(event.get("error")))

    async def _send(self, data: bytes) -> None:
        if not self.alive or self.process.stdin is None:
            raise FencingError(f"the fencing watchdog of {self.node} is not running "
                               f"(exit status {self.process.returncode})")
        try:
            self.process.stdin.write(data)
            await asyncio.wait_for(self.process.stdin.drain(), WRITE_TIMEOUT_S)
        except (ConnectionError, TimeoutError) as error:
            raise FencingError(f"cannot reach the fencing watchdog of {self.node}: "
                               f"{error or 'timed out'}") from error

    async def feed(self, state: FenceState) -> None:
        """Re-arm the watchdog with a new deadline and what to fence when it passes.
        Raises FencingError if the watchdog is gone: the agent must then fence itself
        or start a new one."""
        await self._send(state.line())

    async def stop(self, timeout_s: float = 5.0) -> None:
        """Clean shutdown: the watchdog exits without fencing."""
        with contextlib.suppress(FencingError):
            await self._send(b'{"op": "stop"}\n')
        if self.process.stdin is not None:
            self.process.stdin.close()
        try:
            await asyncio.wait_for(self.process.wait(), timeout_s)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                self.process.kill()
            await self.process.wait()
        if self._reader is not None:
            with contextlib.suppress(TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(self._reader, 1.0)


def process_groups(pgids: Iterable[int | None]) -> tuple[int, ...]:
    """The distinct, real process groups among ``pgids`` (never 0, 1 or our own: a
    watchdog told to kill those would take down far more than an application)."""
    own = os.getpgrp()
    return tuple(sorted({p for p in pgids if p is not None and p > 1 and p != own}))
