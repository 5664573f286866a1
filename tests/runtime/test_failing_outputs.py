"""The control loop never depends on a write (README, "What crg guarantees"): with its
events file, trace and log on a full disk, its run directory full, no file descriptor
left or a stalled reader, the runtime keeps managing its groups — a killed application
is restarted, a switchover completes —, ``crg status`` shows the failing output, and
SIGTERM stops everything and exits 0. Real devices and filesystems: /dev/full, a tiny
tmpfs (root), RLIMIT_NOFILE, a FIFO nobody reads."""

from __future__ import annotations

import asyncio
import json
import os
import re
import resource
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from cli_run import Run
from runtime_helpers import (
    SLEEPER,
    app_pid,
    eventually,
    placement,
    processes_of,
    quickstart,
    run,
    running,
    stop_runtime,
    two_nodes,
    wait_until,
)

from crg.dsl import parse
from crg.runtime import health
from crg.runtime.conform import check
from crg.runtime.control import SOCKET, ControlError, request
from crg.runtime.drivers.sinks import EventLog

pytestmark = pytest.mark.timeout(150)

ROOT = os.geteuid() == 0


def status_of(run_dir: Path) -> dict[str, Any]:
    try:
        answer = request(run_dir / SOCKET, {"op": "status"}, timeout_s=5)
    except ControlError:
        return {}
    status: dict[str, Any] = answer["status"]
    return status


def groups(run_dir: Path) -> dict[str, tuple[str, str, str, int | None]]:
    return {g["group"]: (g["node"], g["mode"], g["app"], g["pid"])
            for g in status_of(run_dir).get("groups", [])}


def failing(run_dir: Path) -> dict[str, str]:
    return {s["sink"]: s["reason"] for s in status_of(run_dir).get("sinks", [])
            if s["state"] == "failing"}


def all_up(run_dir: Path) -> bool:
    now = groups(run_dir)
    return len(now) == 3 and all(mode in ("normal",) and app == "up"
                                 for _, mode, app, _ in now.values())


def operate_while_failing(run_dir: Path, crg: Callable[..., Run]) -> None:
    """What the cluster service must still do: restart a killed application, complete
    a switchover."""
    where = ("--run-dir", str(run_dir))
    node, _, _, pid = groups(run_dir)["web"]
    assert node == "n1" and pid is not None
    os.kill(pid, signal.SIGKILL)
    wait_until(lambda: groups(run_dir)["web"][3] not in (None, pid)
               and groups(run_dir)["web"][:3] == ("n1", "normal", "up"), 30,
               "web restarted on n1")
    moved = crg("switchover", "api", "n3", *where)
    assert moved.code == 0, moved.err
    wait_until(lambda: groups(run_dir)["api"][:3] == ("n3", "failover", "up"), 30,
               "api switched over to n3")


def stop(runtime: subprocess.Popen[bytes], name: str) -> None:
    runtime.send_signal(signal.SIGTERM)
    assert runtime.wait(timeout=60) == 0, "SIGTERM exits 0 whatever the outputs do"
    wait_until(lambda: not processes_of(name), 5, "no process left")


def test_with_events_trace_and_log_on_a_full_device_the_groups_are_still_managed(
        tmp_path: Path, crg: Callable[..., Run]) -> None:
    setup = quickstart(tmp_path)
    with open("/dev/full", "wb") as full:  # standard error too: the log is full
        runtime = subprocess.Popen(
            [sys.executable, "-m", "crg", "run", str(setup.path), "--run-dir",
             str(setup.run_dir), "--events", "/dev/full", "--trace", "/dev/full"],
            stdout=subprocess.DEVNULL, stderr=full)
    try:
        wait_until(lambda: all_up(setup.run_dir), 60, "every group up")
        wait_until(lambda: set(failing(setup.run_dir)) == {"events", "trace", "log"}, 15,
                   "status shows the three outputs failing")
        assert set(failing(setup.run_dir).values()) == {"No space left on device"}
        shown = crg("status", "--run-dir", str(setup.run_dir))
        assert shown.code == 0
        assert "output events /dev/full failing since" in shown.out
        assert "output log standard error failing since" in shown.out
        operate_while_failing(setup.run_dir, crg)
        stop(runtime, setup.name)
    finally:
        stop_runtime(runtime)


@pytest.fixture
def tmpfs(tmp_path: Path) -> Iterator[Callable[[str], Path]]:
    """Mount tiny tmpfs filesystems (root only); unmounted whatever happens."""
    if not ROOT:
        pytest.skip("needs root to mount a tmpfs")
    mounts: list[Path] = []

    def mount(size: str) -> Path:
        where = tmp_path / f"disk{len(mounts)}"
        where.mkdir()
        subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)],
                       check=True)
        mounts.append(where)
        return where

    try:
        yield mount
    finally:
        for where in mounts:
            subprocess.run(["umount", "-l", str(where)], check=False)


def fill(disk: Path) -> Path:
    """Fill ``disk`` to the last byte; returns the file that holds it."""
    filler = disk / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        while os.write(fd, b"x" * 4096):
            pass
    except OSError:
        pass  # full
    finally:
        os.close(fd)
    return filler


def fill_up(file: Path) -> None:
    """Append to ``file`` until its filesystem refuses another byte."""
    fd = os.open(file, os.O_WRONLY | os.O_APPEND)
    try:
        while os.write(fd, b"x"):
            pass
    except OSError:
        pass  # full
    finally:
        os.close(fd)


def test_a_full_disk_freed_again_loses_no_event_and_no_transition(
        tmp_path: Path, tmpfs: Callable[[str], Path], crg: Callable[..., Run]) -> None:
    setup = quickstart(tmp_path)
    disk = tmpfs("1m")
    events, trace = disk / "events.jsonl", disk / "trace.jsonl"
    filler = fill(disk)
    printed = tmp_path / "stdout.jsonl"  # --json: the events on standard output too
    with open(printed, "wb") as stdout:
        runtime = subprocess.Popen(
            [sys.executable, "-m", "crg", "run", str(setup.path), "--run-dir",
             str(setup.run_dir), "--events", str(events), "--trace", str(trace), "--json"],
            stdout=stdout, stderr=subprocess.PIPE)
    try:
        wait_until(lambda: all_up(setup.run_dir), 60, "every group up")
        wait_until(lambda: set(failing(setup.run_dir)) == {"events", "trace"}, 15,
                   "status shows the events and the trace failing")
        operate_while_failing(setup.run_dir, crg)
        filler.unlink()  # the operator frees space
        wait_until(lambda: failing(setup.run_dir) == {}, 20, "every output works again")
        stop(runtime, setup.name)
        stderr = runtime.stderr.read().decode() if runtime.stderr else ""
    finally:
        stop_runtime(runtime)
    on_stdout = [json.loads(line) for line in printed.read_text().splitlines()]
    assert [e["event"] for e in on_stdout if e["event"] == "sink-failing"] == [
        "sink-failing"] * 2, "standard output told of both failing files, once each"
    assert stderr.count("the events output") == 2, stderr  # fails, works again: once each
    assert "Traceback" not in stderr
    written = [json.loads(line) for line in events.read_text().splitlines()]
    recovered = {e["sink"]: e for e in written if e["event"] == "sink-recovered"}
    assert set(recovered) == {"events", "trace"}
    assert recovered["events"]["dropped"] == recovered["trace"]["dropped"] == 0
    ups = [e for e in written if e["event"] == "service-up"]
    assert {e["group"] for e in ups} == {"web", "api", "report"}, "from the very start"
    service = [(e["group"], e["seq"], e["event"]) for e in written
               if e["event"].startswith("service")]
    assert service == [(e["group"], e["seq"], e["event"]) for e in on_stdout
                       if e["event"].startswith("service")], "the same events on both"
    with open(trace, encoding="utf-8") as handle:
        result = check(setup.config, handle)
    assert result.conforms, result.problem  # no transition missing


LOG_LINE = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} "
                      r"(DEBUG|INFO|WARNING|ERROR|CRITICAL) \S")


def test_a_log_on_a_full_disk_tears_no_line_and_says_when_it_works_again(
        tmp_path: Path, tmpfs: Callable[[str], Path], crg: Callable[..., Run]) -> None:
    """Standard error on a full tmpfs: the kernel takes the first bytes of a record that
    fit in the file's last page and refuses the rest. The retry goes on from there — no
    torn line, no record glued onto another's head — and once there is room again the
    log itself says that it works again (not only the events file)."""
    setup = quickstart(tmp_path)
    disk = tmpfs("1m")
    log = disk / "crg.log"
    log.write_text("the log starts here\n")
    filler = fill(disk)
    fill_up(log)  # its last page full too, then 30 bytes of it free: a record is cut there
    with open(log, "r+b") as handle:
        handle.truncate(log.stat().st_size - 30)
        handle.seek(len("the log starts here\n"))
        handle.write(b"#" * (log.stat().st_size - len("the log starts here\n") - 1) + b"\n")
    events = tmp_path / "events.jsonl"
    with open(log, "ab") as stderr:
        runtime = subprocess.Popen(
            [sys.executable, "-m", "crg", "run", str(setup.path), "--run-dir",
             str(setup.run_dir), "--events", str(events), "--log-format", "text"],
            stdout=subprocess.DEVNULL, stderr=stderr)
    try:
        wait_until(lambda: all_up(setup.run_dir), 60, "every group up")
        wait_until(lambda: "log" in failing(setup.run_dir), 15, "the log fails")
        assert not log.read_bytes().endswith(b"\n"), "a record was cut"
        operate_while_failing(setup.run_dir, crg)
        filler.unlink()  # the operator frees space
        wait_until(lambda: failing(setup.run_dir) == {}, 20, "the log works again")
        stop(runtime, setup.name)
    finally:
        stop_runtime(runtime)
    lines = log.read_text().splitlines()
    assert lines[0] == "the log starts here" and set(lines[1]) == {"#"}
    torn = [line for line in lines[2:] if not LOG_LINE.match(line)
            or LOG_LINE.search(line, 1)]
    assert torn == [], torn
    recovered = [line for line in lines if "the log output (standard error) works again"
                 in line]
    assert len(recovered) == 1, lines[-20:]
    assert "the events output" not in log.read_text(), "only the log failed"
    written = [json.loads(line) for line in events.read_text().splitlines()]
    assert [e["sink"] for e in written if e["event"] == "sink-recovered"] == ["log"]


def test_a_full_run_directory_costs_application_output_not_service(
        tmp_path: Path, tmpfs: Callable[[str], Path]) -> None:
    setup = two_nodes(tmp_path, SLEEPER)
    disk = tmpfs("256k")
    setup.run_dir = disk / "run"

    async def body() -> None:
        async with running(setup) as cluster:
            await eventually(lambda: placement(cluster, "job") == ("n1", "normal", "up"),
                             20, "job up on n1")
            filler = fill(disk)
            for attempt in (1, 2):  # budget 1 within the window: the second moves it
                node = placement(cluster, "job")[0]
                assert node is not None
                pid = app_pid(cluster, node, "job")
                assert pid is not None
                os.kill(pid, signal.SIGKILL)
                await eventually(lambda p=pid: placement(cluster, "job")[1:] in (
                    ("normal", "up"), ("failover", "up")) and app_pid(
                    cluster, placement(cluster, "job")[0] or "", "job") not in (None, p),
                    30, f"job restarted (kill {attempt})")
            status = await cluster.status()
            sinks = [s for s in status["sinks"] if s["state"] == "failing"]
            assert sinks and {s["sink"] for s in sinks} == {"run-dir"}, sinks
            assert all("No space left on device" in s["reason"] for s in sinks)
            reports = [r for r in cluster.services.events.records
                       if r["event"] == "sink-failing"]
            assert len(reports) == len(sinks), "once per log, not once per write"
            filler.unlink()
            node = placement(cluster, "job")[0] or ""
            pid = app_pid(cluster, node, "job")
            assert pid is not None
            os.kill(pid, signal.SIGKILL)
            await eventually(lambda: not [s for s in cluster.services.events.board.status()
                                          if s["state"] == "failing"
                                          and s["target"].endswith(f"/{node}/job.log")],
                             30, "its log works again")

    run(body(), 120)


CHATTY = '    start "sh -c \'echo started || exit 1; exec sleep 120\'"'
"""An app block line: an application that dies when it cannot write its first line, as
Python's print or a shell's echo to a full disk make most applications do."""


def test_on_a_full_run_directory_applications_that_write_are_not_killed_by_it(
        tmp_path: Path, tmpfs: Callable[[str], Path]) -> None:
    # The log was opened on a full disk and handed to the application although crg's own
    # line could not be written to it: the application's first write failed, it exited 1,
    # and a full run directory cost the service (quickstart's http.server was blocked).
    # An exec check that writes failed the same way, every time.
    setup = two_nodes(tmp_path, CHATTY)
    checked = setup.path.read_text().replace(
        "  monitor process every 200ms fails 2",
        "  monitor process every 200ms fails 2\n"
        "  monitor exec \"sh -c 'echo checked || exit 1'\" every 200ms fails 2")
    setup.path.write_text(checked)
    setup.config = parse(checked, str(setup.path))
    disk = tmpfs("256k")
    setup.run_dir = disk / "run"

    async def body() -> None:
        async with running(setup) as cluster:
            await eventually(lambda: placement(cluster, "job") == ("n1", "normal", "up"),
                             20, "job up on n1")
            fill(disk)
            for log in (setup.run_dir / "logs").glob("*/*.log"):
                fill_up(log)  # the rest of its last block, which a tmpfs keeps for it
            pid = app_pid(cluster, "n1", "job")
            assert pid is not None
            os.kill(pid, signal.SIGKILL)  # budget 1: restarted on n1, on the full disk
            await eventually(lambda: placement(cluster, "job") == ("n1", "normal", "up")
                             and app_pid(cluster, "n1", "job") not in (None, pid),
                             30, "job restarted on n1")
            restarted = app_pid(cluster, "n1", "job")
            await eventually(lambda: len([s for s in cluster.services.events.board.status()
                                          if s["state"] == "failing"]) >= 2, 10,
                             "the application's log and its checks' log reported")
            await asyncio.sleep(0)
            assert placement(cluster, "job") == ("n1", "normal", "up")
            assert app_pid(cluster, "n1", "job") == restarted, "not killed by its output"
            faults = [r["reason"] for r in cluster.services.events.records
                      if r["event"] == "fault"]
            assert len(faults) == 1, faults  # the kill only

    run(body(), 120)


def lowest_free_descriptor() -> int:
    """POSIX gives a new descriptor the lowest free number (a listing of /proc/self/fd
    would count its own descriptor as used, and leave one free)."""
    probe = os.open(os.devnull, os.O_RDONLY)
    os.close(probe)
    return probe


def test_no_file_descriptor_left_costs_starts_not_lanes(tmp_path: Path) -> None:
    """Too many open files: a start cannot happen (a fault, alerted once); the halt that
    follows cannot look for the group's stray processes, so it waits (alerted once)
    instead of retiring the watchdog blind; the lanes live on, and the group comes back
    once descriptors are free again."""
    setup = two_nodes(tmp_path, SLEEPER, restarts=1, window="3s")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)

    async def body() -> None:
        async with running(setup) as cluster:
            def alerts() -> list[tuple[str, str, str]]:
                return [(r["node"], r["action"], r["reason"])
                        for r in cluster.services.events.records
                        if r["event"] == "runtime-alert"]

            await eventually(lambda: placement(cluster, "job") == ("n1", "normal", "up"),
                             20, "job up on n1")
            await cluster.operate("offline", ("job",), follow=True)
            await eventually(lambda: placement(cluster, "job")[1:] == ("offline", "down"),
                             20, "job offline")
            # No descriptor below the limit left free: every new one fails (EMFILE).
            resource.setrlimit(resource.RLIMIT_NOFILE, (lowest_free_descriptor(), hard))
            try:
                await cluster.operate("online", ("job",))
                await eventually(lambda: len([a for a in alerts()
                                              if not a[1].startswith("alert sink ")]) >= 2,
                                 40, "the start failed, and the halt after it waits")
                # (the alert command cannot start either: that sink's own trouble)
                start, halt = [a for a in alerts() if not a[1].startswith("alert sink ")][:2]
                assert start[1] == "start-app" and "Too many open files" in start[2], start
                assert halt[1:] == ("stop-app", "cannot look for stray processes of job: "
                                    "cannot read the process table: Too many open files")
                assert all(not task.done() for agent in cluster.agents.values()
                           for task in agent._tasks), "every lane lives"
            finally:
                resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
            await eventually(lambda: placement(cluster, "job")[1:] in (
                ("normal", "up"), ("failover", "up")), 40, "job up again")
            told = alerts()
            assert len(told) == len({(node, action) for node, action, _ in told}), (
                "once per node and step, however often it was retried")

    run(body(), 120)


def test_a_stalled_events_reader_never_stalls_the_cluster(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(health, "STALL_S", 1.0)
    setup = two_nodes(tmp_path, SLEEPER)
    fifo = tmp_path / "events.fifo"
    os.mkfifo(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    stuffer = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
    try:  # fill the pipe: the runtime's first write blocks, as on a stalled disk
        while True:
            os.write(stuffer, b"#" * 4096)
    except BlockingIOError:
        pass
    received = bytearray()

    def drain() -> None:
        try:
            while chunk := os.read(reader, 1 << 16):
                received.extend(chunk)
        except BlockingIOError:
            pass

    async def body() -> None:
        events = EventLog(fifo)
        async with running(setup, events=events) as cluster:
            await eventually(lambda: placement(cluster, "job") == ("n1", "normal", "up"),
                             20, "job up on n1 while its events cannot be written")
            status = await cluster.status()
            stalled = [s for s in status["sinks"] if s["sink"] == "events"]
            await eventually(lambda: events.board.failing() != [], 10, "stalled output")
            assert stalled and stalled[0]["pending"] > 0
            await cluster.operate("switchover", ("job", "n2"))
            await eventually(lambda: placement(cluster, "job") == ("n2", "failover", "up"),
                             20, "job switched over to n2")
            await asyncio.to_thread(drain)
            await eventually(lambda: (drain(), events.board.failing() == [])[1], 20,
                             "the events flow again")

    try:
        run(body(), 90)
    finally:
        os.close(stuffer)
        drain()
        os.close(reader)
    written = [json.loads(line) for line in received.replace(b"#", b"").decode().splitlines()]
    service = [(e["event"], e["node"]) for e in written if e["event"].startswith("service")]
    assert service == [("service-up", "n1"), ("service-down", "n1"), ("service-up", "n2"),
                       ("service-down", "n2")], "every event, in order (the last: shutdown)"
    kinds = [e["event"] for e in written]
    assert "sink-recovered" in kinds and "sink-failing" not in kinds
