"""The fencing watchdog process: it kills a node's applications and removes its VIPs when
the agent misses its deadline or dies, and never when the agent keeps feeding it."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import psutil
import pytest
from netbed import NetBed
from stopped import stop

from crg.runtime.fencing import (
    FenceReport,
    FenceState,
    FencingError,
    FencingWatchdog,
    process_groups,
)

T = TypeVar("T")
FAKE_AGENT = str(Path(__file__).with_name("fake_agent.py"))
VIP = "10.213.0.60/24"


def run(body: Callable[[], Awaitable[T]]) -> T:
    return asyncio.run(asyncio.wait_for(body(), 30))


def gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def wait_until(check: Callable[[], bool], timeout_s: float) -> float | None:
    """Poll every 10 ms; the monotonic time ``check`` first held, None on timeout."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return time.monotonic()
        time.sleep(0.01)
    return time.monotonic() if check() else None


def app() -> subprocess.Popen[bytes]:
    return subprocess.Popen(["sleep", "300"], start_new_session=True)


def test_fences_when_the_deadline_passes() -> None:
    async def body() -> None:
        apps = [app(), app()]
        reports: list[FenceReport] = []
        watchdog = await FencingWatchdog.start("n1", address="none", on_fenced=reports.append)
        try:
            fence_at = time.monotonic() + 0.4
            await watchdog.feed(FenceState(fence_at, (), process_groups(a.pid for a in apps)))
            await asyncio.sleep(0.2)
            assert all(a.poll() is None for a in apps), "fenced before the deadline"
            for _ in range(100):
                if all(a.poll() is not None for a in apps):
                    break
                await asyncio.sleep(0.01)
            assert all(a.returncode == -signal.SIGKILL for a in apps)
            assert time.monotonic() >= fence_at
            for _ in range(100):
                if reports:
                    break
                await asyncio.sleep(0.01)
            (report,) = reports
            assert "did not renew" in report.reason and report.late_ms < 200
            assert sorted(report.killed) == sorted(a.pid for a in apps) and not report.errors
            # It stays and can be re-armed.
            assert watchdog.alive
            again = app()
            await watchdog.feed(FenceState(time.monotonic() + 0.1, (), (again.pid,)))
            assert await asyncio.to_thread(again.wait, 5) == -signal.SIGKILL
        finally:
            await watchdog.stop()
            for a in apps:
                a.kill()
                a.wait()

    run(body)


def test_a_fed_watchdog_never_fences_and_stops_cleanly() -> None:
    async def body() -> None:
        a = app()
        watchdog = await FencingWatchdog.start("n1", address="none")
        try:
            end = time.monotonic() + 1.0
            while time.monotonic() < end:  # deadline 300 ms ahead, renewed every 50 ms
                await watchdog.feed(FenceState(time.monotonic() + 0.3, (), (a.pid,)))
                await asyncio.sleep(0.05)
            await watchdog.stop()
            assert watchdog.process.returncode == 0
            await asyncio.sleep(0.5)  # past the last deadline: a stopped watchdog is inert
            assert a.poll() is None and not watchdog.reports
            with pytest.raises(FencingError, match="not running"):
                await watchdog.feed(FenceState(time.monotonic() + 1))
        finally:
            a.kill()
            a.wait()

    run(body)


def test_bad_lines_and_dangerous_groups_are_refused() -> None:
    async def body() -> None:
        watchdog = await FencingWatchdog.start("n1", address="none")
        try:
            assert watchdog.process.stdin is not None
            watchdog.process.stdin.write(b'{"op": "feed"}\nnot json\n')
            # Process groups 0, 1 and the watchdog's own are never signalled.
            await watchdog.feed(FenceState(time.monotonic() + 0.05, (), (0, 1, watchdog.pid)))
            for _ in range(100):
                if watchdog.reports:
                    break
                await asyncio.sleep(0.01)
            assert len(watchdog.problems) == 2 and watchdog.alive
            assert watchdog.reports[0].killed == ()
        finally:
            await watchdog.stop()

    run(body)
    with pytest.raises(FencingError, match="linux or none"):
        run(lambda: FencingWatchdog.start("n1", address="loopback"))


def start_fake_agent(argv: list[str]) -> tuple[subprocess.Popen[str], dict[str, Any]]:
    agent = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True, start_new_session=True)
    assert agent.stdout is not None
    line = agent.stdout.readline()
    assert line, "the fake agent did not start"
    return agent, json.loads(line)


def test_agent_sigkill_fences_at_once() -> None:
    agent, pids = start_fake_agent([sys.executable, FAKE_AGENT, "n1", "none", "30"])
    try:
        assert not any(gone(p) for p in pids["pgids"])
        killed_at = time.monotonic()
        os.kill(agent.pid, signal.SIGKILL)
        agent.wait()
        # The deadline is 30 s ahead: only the closed pipe can explain a quick kill.
        done = wait_until(lambda: all(gone(p) for p in pids["pgids"]), 3.0)
        assert done is not None and done - killed_at < 1.0
        assert wait_until(lambda: gone(pids["watchdog"]), 3.0) is not None
    finally:
        for pid in (agent.pid, pids["watchdog"], *pids["pgids"]):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)


# -- in a node namespace, with a real VIP -------------------------------------------


def holds(bed: NetBed, node: str) -> bool:
    out = bed.exec(node, "ip", "-j", "addr", "show", "dev", "eth0").stdout
    return any(a["local"] == VIP.split("/")[0] for link in json.loads(out)
               for a in link["addr_info"])


@pytest.mark.root
def test_agent_sigkill_leaves_no_vip_behind(bed: NetBed) -> None:
    agent, pids = start_fake_agent(["ip", "netns", "exec", bed.ns("n1"), sys.executable,
                                    FAKE_AGENT, "n1", "linux", "30", VIP])
    try:
        assert holds(bed, "n1")
        killed_at = time.monotonic()
        os.kill(agent.pid, signal.SIGKILL)
        agent.wait()
        released = wait_until(lambda: not holds(bed, "n1"), 3.0)
        assert released is not None and released - killed_at < 1.0
        # SIGKILLed before the VIP went; dying takes a moment on a busy machine.
        assert wait_until(lambda: all(gone(p) for p in pids["pgids"]), 2.0) is not None
    finally:
        agent.kill()
        agent.wait()


@pytest.mark.root
def test_stalled_agent_is_fenced_by_its_deadline(bed: NetBed) -> None:
    agent, pids = start_fake_agent(["ip", "netns", "exec", bed.ns("n1"), sys.executable,
                                    FAKE_AGENT, "n1", "linux", "0.5", VIP])
    try:
        assert holds(bed, "n1")
        stopped_at = time.monotonic()
        stop(agent.pid)  # alive but silent, like a stalled event loop
        released = wait_until(lambda: not holds(bed, "n1"), 3.0)
        assert released is not None
        # Not before the last deadline fed (≤ 0.5 s after the stop), not much after it.
        assert 0.4 <= released - stopped_at < 1.2
        # SIGKILLed before the VIP went; dying takes a moment on a busy machine.
        assert wait_until(lambda: all(gone(p) for p in pids["pgids"]), 2.0) is not None
    finally:
        agent.kill()
        agent.wait()
        with contextlib.suppress(ProcessLookupError):
            os.kill(pids["watchdog"], signal.SIGKILL)
