"""systemd integration (runtime/systemd.py, runtime/logs.py) with real sockets: the
notification datagrams on an AF_UNIX datagram socket (a path, and a name in the abstract
namespace), watchdog pings that stop while the event loop stalls, and a real ``crg run``
under a pretend systemd: READY, STATUS, WATCHDOG, no pings while the process is
stopped, STOPPING — with its log in the journal's shape."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import pytest
from runtime_helpers import processes_of, quickstart, wait_until
from stopped import stop

from crg.runtime.logs import (
    JournalFormatter,
    JsonFormatter,
    journal_stream,
    priority,
    setup_logging,
)
from crg.runtime.systemd import Notifier, socket_address

pytestmark = pytest.mark.timeout(90)


@dataclass
class Listener:
    """A pretend systemd: an AF_UNIX datagram socket that keeps what it receives."""

    sock: socket.socket
    env_value: str
    got: list[tuple[float, str]] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)

    def _run(self) -> None:
        self.sock.settimeout(0.05)
        while not self._stop.is_set():
            try:
                data = self.sock.recv(4096)
            except TimeoutError:
                continue
            self.got.append((time.monotonic(), data.decode()))

    def messages(self) -> list[str]:
        return [m for _, m in list(self.got)]

    def times_of(self, field_: str) -> list[float]:
        return [t for t, m in list(self.got) if field_ in m.split("\n")]


@contextlib.contextmanager
def listening(tmp_path: Path, abstract: bool) -> Iterator[Listener]:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    if abstract:
        name = f"crg-test-{uuid.uuid4().hex}"
        sock.bind(b"\0" + name.encode())
        value = "@" + name
    else:
        path = tmp_path / "notify.sock"
        sock.bind(str(path))
        value = str(path)
    listener = Listener(sock, value)
    thread = threading.Thread(target=listener._run, daemon=True)
    thread.start()
    try:
        yield listener
    finally:
        listener._stop.set()
        thread.join(2)
        sock.close()


def test_addresses_and_the_environment() -> None:
    assert socket_address("@name") == b"\0name"
    assert socket_address("/run/systemd/notify") == "/run/systemd/notify"
    assert socket_address("relative") is None and socket_address("@") is None
    env = {"NOTIFY_SOCKET": "@x", "WATCHDOG_USEC": "3000000",
           "WATCHDOG_PID": str(os.getpid()), "OTHER": "kept"}
    notifier = Notifier(env)
    assert notifier.active and notifier.watchdog_s == 3.0
    assert env == {"OTHER": "kept"}, "the applications must not speak for the agent"
    assert Notifier({"NOTIFY_SOCKET": "@x", "WATCHDOG_USEC": "3000000",
                     "WATCHDOG_PID": "1"}).watchdog_s is None, "pings meant for another pid"
    silent = Notifier({})
    assert not silent.active and silent.send("READY=1") is False


@pytest.mark.parametrize("abstract", [False, True], ids=["path", "abstract"])
def test_the_datagrams(tmp_path: Path, abstract: bool) -> None:
    with listening(tmp_path, abstract) as systemd:
        notifier = Notifier({"NOTIFY_SOCKET": systemd.env_value})
        notifier.ready("running: n1 serves web")
        notifier.status("running: n1 serves web")  # unchanged: not sent again
        notifier.status("running: n1 serves\nweb, db")
        notifier.stopping("stopping")
        wait_until(lambda: len(systemd.got) == 3, 5, "three datagrams")
    assert systemd.messages() == ["READY=1\nSTATUS=running: n1 serves web",
                                  "STATUS=running: n1 serves web, db",
                                  "STOPPING=1\nSTATUS=stopping"]


def test_a_notify_socket_nobody_listens_on_is_no_error(tmp_path: Path,
                                                       caplog: pytest.LogCaptureFixture
                                                       ) -> None:
    notifier = Notifier({"NOTIFY_SOCKET": str(tmp_path / "nobody")})
    with caplog.at_level(logging.WARNING, logger="crg.runtime"):
        assert notifier.send("READY=1") is False
        assert notifier.send("STATUS=x") is False
    assert len([r for r in caplog.records if "cannot notify systemd" in r.getMessage()]) == 1


def test_pings_stop_while_the_loop_stalls_and_while_the_agent_is_not_alive(
        tmp_path: Path) -> None:
    alive = True

    async def body(notifier: Notifier, systemd: Listener) -> tuple[float, float]:
        task = asyncio.create_task(notifier.keep_alive(lambda: alive))
        try:
            await asyncio.sleep(0.5)
            stalled = time.monotonic()
            time.sleep(1.0)  # the loop is blocked: nothing else runs
            resumed = time.monotonic()
            await asyncio.sleep(0.5)
            return stalled, resumed
        finally:
            task.cancel()

    with listening(tmp_path, abstract=True) as systemd:
        notifier = Notifier({"NOTIFY_SOCKET": systemd.env_value, "WATCHDOG_USEC": "200000"})
        stalled, resumed = asyncio.run(body(notifier, systemd))
        pings = systemd.times_of("WATCHDOG=1")
        before = [t for t in pings if t < stalled]
        during = [t for t in pings if stalled + 0.05 < t < resumed - 0.05]
        after = [t for t in pings if t > resumed]
        assert len(before) >= 3 and len(after) >= 2, pings
        assert during == [], "a stalled loop sent pings"
        count = len(systemd.got)
        alive = False

        async def dead() -> None:
            task = asyncio.create_task(notifier.keep_alive(lambda: alive))
            await asyncio.sleep(0.5)
            task.cancel()

        asyncio.run(dead())
        time.sleep(0.1)
        assert len(systemd.got) == count, "pings for an agent that is not alive"


# -- logs ---------------------------------------------------------------------------------


def _record(level: int, message: str) -> logging.LogRecord:
    return logging.LogRecord("crg.runtime", level, __file__, 1, message, None, None)


def test_journal_and_json_lines() -> None:
    journal = JournalFormatter("%(message)s")
    assert journal.format(_record(logging.ERROR, "n1: bad\nsecond line")) == \
        "<3>n1: bad\n<3>second line"
    assert journal.format(_record(logging.INFO, "fine")) == "<6>fine"
    assert [priority(x) for x in (logging.DEBUG, logging.INFO, logging.WARNING,
                                  logging.ERROR, logging.CRITICAL)] == [7, 6, 4, 3, 2]
    line = json.loads(JsonFormatter().format(_record(logging.WARNING, "n1: slow")))
    assert line["level"] == "warning" and line["message"] == "n1: slow"
    assert line["time"].endswith("Z") and line["logger"] == "crg.runtime"


def test_the_journal_shape_is_chosen_only_for_the_journals_own_stream(tmp_path: Path
                                                                      ) -> None:
    with open(tmp_path / "journal", "w") as journal, open(tmp_path / "other", "w") as other:
        info = os.fstat(journal.fileno())
        env = {"JOURNAL_STREAM": f"{info.st_dev}:{info.st_ino}"}
        assert journal_stream(journal, env) and not journal_stream(other, env)
        assert not journal_stream(journal, {}) and not journal_stream(journal,
                                                                      {"JOURNAL_STREAM": "x"})
    stream = io.StringIO()
    try:
        sink = setup_logging(False, "json", stream)
        logging.getLogger("crg.runtime").info("hello")
        # asyncio's own complaints take the same shape (they came as plain lines)
        logging.getLogger("asyncio").error("Task was destroyed but it is pending!")
        assert sink.drain(), "written (by the log's own thread)"
        lines = [json.loads(line) for line in stream.getvalue().splitlines()]
        assert [line["message"] for line in lines] == [
            "hello", "Task was destroyed but it is pending!"]
    finally:
        for handler in logging.getLogger("crg").handlers:
            handler.close()
        logging.getLogger("crg").handlers.clear()


# -- crg run under a pretend systemd ---------------------------------------------------------


def test_crg_run_under_systemd(tmp_path: Path) -> None:
    setup = quickstart(tmp_path)
    log_path = tmp_path / "journal.log"
    with listening(tmp_path, abstract=True) as systemd, open(log_path, "wb") as log:
        info = os.fstat(log.fileno())
        env = {**os.environ, "NOTIFY_SOCKET": systemd.env_value, "WATCHDOG_USEC": "300000",
               "JOURNAL_STREAM": f"{info.st_dev}:{info.st_ino}"}
        env.pop("WATCHDOG_PID", None)
        runtime = subprocess.Popen(
            [sys.executable, "-m", "crg", "run", str(setup.path), "--run-dir",
             str(setup.run_dir)], stdout=subprocess.DEVNULL, stderr=log, env=env)
        try:
            wait_until(lambda: any(m.startswith("READY=1") for m in systemd.messages()), 40,
                       "READY=1")
            ready = next(m for m in systemd.messages() if m.startswith("READY=1"))
            assert "STATUS=running: " in ready, ready
            wait_until(lambda: any("n1 serves web" in m for m in systemd.messages()), 30,
                       "a STATUS= naming what n1 serves")
            wait_until(lambda: len(systemd.times_of("WATCHDOG=1")) >= 3, 10, "pings")
            # The applications do not inherit the notification socket.
            apps = processes_of(setup.name)
            assert apps and all("NOTIFY_SOCKET" not in p.environ() for p in apps)
            # A stopped process (like a hung one) sends nothing.
            stop(runtime.pid)
            stopped = time.monotonic()
            time.sleep(1.2)
            resumed = time.monotonic()
            runtime.send_signal(signal.SIGCONT)
            pings = systemd.times_of("WATCHDOG=1")
            assert not [t for t in pings if stopped + 0.1 < t < resumed], pings
            wait_until(lambda: any(t > resumed for t in systemd.times_of("WATCHDOG=1")), 5,
                       "pings again once it runs")
            runtime.send_signal(signal.SIGTERM)
            assert runtime.wait(timeout=60) == 0
        finally:
            if runtime.poll() is None:
                runtime.kill()
                runtime.wait(timeout=10)
            for proc in processes_of(setup.name):
                with contextlib.suppress(psutil.Error):
                    proc.kill()
    assert any(m.startswith("STOPPING=1") for m in systemd.messages())
    lines = log_path.read_text().splitlines()
    assert lines and all(line[:3] in ("<3>", "<4>", "<6>", "<7>") for line in lines), lines[:5]
    assert any(line.startswith("<6>cluster ") for line in lines), "no timestamp of its own"
