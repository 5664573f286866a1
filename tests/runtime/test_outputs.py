"""The runtime's outputs (runtime/linefile.py, logsink.py, health.py): a write that fails
or hangs never raises into the caller nor blocks it; lines wait (bounded) and are
written in order once the output works again; a failure is reported once per episode;
files are made 0600 and never opened through a link. Real files: /dev/full, a FIFO
whose reader stops, a tiny tmpfs (root), a file size limit (RLIMIT_FSIZE)."""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import resource
import signal
import socket
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from runtime_helpers import wait_until

from crg.runtime import health
from crg.runtime.health import Board
from crg.runtime.linefile import LineFile, UnsafeFile, open_output
from crg.runtime.logsink import LogSink, to_journal

pytestmark = pytest.mark.timeout(60)

ROOT = os.geteuid() == 0


def reports(board: Board, sink: str) -> list[tuple[str, bool]]:
    return [(r.sink, r.failing) for r in board.delivered if r.sink == sink]


def test_a_new_file_is_private_and_a_link_is_never_followed(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    os.close(open_output(path))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    victim = tmp_path / "victim"
    victim.write_text("precious\n")
    link = tmp_path / "link.jsonl"
    link.symlink_to(victim)
    with pytest.raises(UnsafeFile, match="is a symbolic link"):
        open_output(link, truncate=True)
    assert victim.read_text() == "precious\n"


def test_a_rotated_file_is_followed_and_a_truncated_one_appended_to(tmp_path: Path) -> None:
    """logrotate, either way: renamed (the default, then ``create``) — the next lines go
    to a new file at the path, made 0600, none lost; or ``copytruncate`` — the lines go on
    at the start of the emptied file (appended, so no hole where the old lines were)."""
    board = Board()
    path = tmp_path / "events.jsonl"
    output = LineFile(board.sink("events", str(path)), path)
    try:
        output.write("one")
        assert output.flush()
        path.rename(tmp_path / "events.jsonl.1")
        output.write("two")
        assert output.flush()
        assert (tmp_path / "events.jsonl.1").read_text() == "one\n"
        assert path.read_text() == "two\n" and stat.S_IMODE(path.stat().st_mode) == 0o600
        path.unlink()  # removed outright: made again
        output.write("three")
        assert output.flush()
        assert path.read_text() == "three\n"
        os.truncate(path, 0)  # copytruncate
        output.write("four")
        assert output.flush()
        assert path.read_bytes() == b"four\n"
        assert not output.health.failing
    finally:
        output.close()
        board.close()


@pytest.mark.skipif(not ROOT, reason="needs root to give a file to another user")
def test_another_user_s_file_is_refused(tmp_path: Path) -> None:
    planted = tmp_path / "trace.jsonl"
    planted.write_text("theirs\n")
    os.chown(planted, 65534, 65534)
    with pytest.raises(UnsafeFile, match="belongs to"):
        open_output(planted, truncate=True)
    assert planted.read_text() == "theirs\n"


def test_a_full_device_costs_nothing_but_lines_and_is_told_once() -> None:
    board = Board()
    output = LineFile(board.sink("events", "/dev/full"), Path("/dev/full"))
    started = time.monotonic()
    for n in range(200):
        output.write(json.dumps({"n": n}))
    assert time.monotonic() - started < 0.5, "writing never waits for the disk"
    wait_until(lambda: output.health.failing, 5, "the output fails")
    assert output.health.reason == "No space left on device"
    wait_until(lambda: len(board.delivered) == 1, 5, "the failure reported")
    time.sleep(0.6)  # two more retries (0.25 s, then 0.5 s): the same episode
    assert reports(board, "events") == [("events", True)]
    assert output.health.pending == 200
    started = time.monotonic()
    assert output.close(timeout_s=0.5) == 200, "what could not be written is counted"
    assert time.monotonic() - started < 2.0
    board.close()


def test_a_full_queue_drops_the_newest_lines_and_counts_them() -> None:
    board = Board()
    output = LineFile(board.sink("trace", "/dev/full"), Path("/dev/full"), limit=10)
    for n in range(25):
        output.write(str(n))
    assert output.health.dropped == 15 and output.health.pending == 10
    output.close(0.2)
    board.close()


@pytest.fixture
def tiny_tmpfs(tmp_path: Path) -> Iterator[Path]:
    if not ROOT:
        pytest.skip("needs root to mount a tmpfs")
    mount = tmp_path / "disk"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mount)],
                   check=True)
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def test_a_full_filesystem_loses_no_line_once_space_is_freed(tiny_tmpfs: Path) -> None:
    filler = tiny_tmpfs / "filler"
    with open(filler, "wb") as handle, pytest.raises(OSError):
        handle.write(b"x" * 128 * 1024)  # fill it
    board = Board()
    path = tiny_tmpfs / "events.jsonl"
    output = LineFile(board.sink("events", str(path)), path)
    lines = [json.dumps({"n": n, "pad": "y" * 100}) for n in range(300)]
    for line in lines[:150]:
        output.write(line)
    wait_until(lambda: output.health.failing, 5, "the output fails: the disk is full")
    assert "No space left" in output.health.reason
    for line in lines[150:]:
        output.write(line)
    filler.unlink()  # the operator frees some space
    wait_until(lambda: not output.health.failing and output.health.pending == 0, 15,
               "every line written once there is space")
    assert path.read_text().splitlines() == lines, "in order, none torn, none lost"
    wait_until(lambda: len(board.delivered) == 2, 5, "the recovery reported")
    assert reports(board, "events") == [("events", True), ("events", False)]
    assert board.delivered[1].dropped == 0
    output.close()
    board.close()


FSIZE_CHILD = """
import json, sys, time
from pathlib import Path
from crg.runtime.health import Board
from crg.runtime.linefile import LineFile
board = Board()
path = Path(sys.argv[1])
out = LineFile(board.sink("trace", str(path)), path, truncate=True)
for n in range(100):
    out.write(json.dumps({"n": n, "pad": "z" * 50}))
deadline = time.monotonic() + 10
while not out.health.failing and time.monotonic() < deadline:
    time.sleep(0.01)
print(json.dumps({"failing": out.health.failing, "reason": out.health.reason,
                  "pending": out.health.pending, "lost": out.close(0.2)}))
"""


def test_a_file_at_its_size_limit_is_a_failing_output(tmp_path: Path) -> None:
    """RLIMIT_FSIZE (SIGXFSZ ignored, as a service manager may set it): the write fails
    with EFBIG; the process lives on, and what fitted is whole lines."""
    path = tmp_path / "trace.jsonl"

    def limited() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (1000, 1000))

    result = subprocess.run([sys.executable, "-c", FSIZE_CHILD, str(path)],
                            preexec_fn=limited, capture_output=True, text=True,
                            timeout=30, check=False)
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert answer["failing"] and answer["reason"] == "File too large", answer
    assert 0 < answer["lost"] < 100
    written = path.read_bytes()
    assert len(written) <= 1000
    whole = written[:written.rfind(b"\n") + 1].decode().splitlines()
    assert [json.loads(line)["n"] for line in whole] == list(range(len(whole)))


def test_a_reader_that_stops_is_a_stalled_output_and_never_blocks_the_writer(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(health, "STALL_S", 0.5)
    monkeypatch.setattr(health, "TICK_S", 0.1)
    fifo = tmp_path / "events.fifo"
    os.mkfifo(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)  # opened, then not read
    board = Board()
    output = LineFile(board.sink("events", str(fifo)), fifo)
    try:
        lines = [json.dumps({"n": n, "pad": "p" * 200}) for n in range(1000)]  # > 64 KiB
        started = time.monotonic()
        for line in lines:
            output.write(line)
        assert time.monotonic() - started < 0.5, "writing never waits for the reader"
        wait_until(lambda: output.health.failing, 10, "the stalled output is failing")
        assert "has not finished" in output.health.reason
        received = bytearray()

        def drain() -> bool:
            with contextlib.suppress(BlockingIOError):
                received.extend(os.read(reader, 1 << 20))
            return received.count(b"\n") == len(lines)

        wait_until(drain, 15, "every line through once the reader reads again")
        assert received.decode().splitlines() == lines
        wait_until(lambda: not output.health.failing, 5, "working again")
    finally:
        output.close(0.5)
        os.close(reader)
        board.close()
    assert reports(board, "events") == [("events", True), ("events", False)]


class Breakable(io.StringIO):
    """A stream that fails like a full disk while ``broken``."""

    broken = True

    def write(self, text: str) -> int:
        if self.broken:
            raise OSError(28, "No space left on device")
        return super().write(text)


def test_a_log_that_cannot_be_written_is_retried_and_told_once() -> None:
    stream = Breakable()
    inner = logging.StreamHandler(stream)
    sink = LogSink(inner)
    board = Board()
    sink.attach(board)
    logger = logging.getLogger("crg.test-outputs")
    logger.propagate = False
    logger.addHandler(sink)
    logger.setLevel(logging.INFO)
    heard: list[str] = []
    board.reporters.append(lambda report: heard.append(report.text()))
    try:
        started = time.monotonic()
        for n in range(50):
            logger.info("line %d of webhook https://user:pw@hooks.example/x?token=t", n)
        assert time.monotonic() - started < 0.5, "logging never waits for the stream"
        assert sink.health is not None
        wait_until(lambda: sink.health is not None and sink.health.failing, 5, "failing")
        time.sleep(0.6)  # retried meanwhile: still one report
        assert [h for h in heard if "fails" in h] == [
            "the log output (standard error) fails: No space left on device; the cluster "
            "service goes on, and it is retried"]
        stream.broken = False
        assert sink.drain(10), "written once the stream works"
        written = stream.getvalue().splitlines()
        assert written == [f"line {n} of webhook https://***@hooks.example/x?***"
                           for n in range(50)]
        wait_until(lambda: len(heard) == 2, 5, "the recovery told")
        assert "works again" in heard[1]
    finally:
        logger.removeHandler(sink)
        sink.close()
        board.close()


def test_a_failure_is_told_once_per_episode() -> None:
    board = Board()
    sink = board.sink("trace", "/x")
    heard = threading.Event()
    board.reporters.append(lambda report: heard.set())
    for _ in range(10):
        sink.failed("No space left on device")
    sink.worked()
    sink.worked()
    sink.failed("Input/output error")
    wait_until(lambda: len(board.delivered) == 3, 5, "three reports")
    assert [r.failing for r in board.delivered] == [True, False, True]
    assert board.delivered[2].reason == "Input/output error"
    assert board.status() == [{"sink": "trace", "target": "/x", "state": "failing",
                               "since": sink.failing_since, "reason": "Input/output error",
                               "pending": 0, "dropped": 0}]
    board.close()


def test_journald_hears_a_failing_log(tmp_path: Path) -> None:
    """journald's native protocol: one datagram of KEY=value lines (a socket of the
    test's own stands in for /run/systemd/journal/socket)."""
    path = str(tmp_path / "journal.socket")
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as journal:
        journal.bind(path)
        journal.settimeout(5)
        assert to_journal("the log output (standard error) fails:\nNo space", 3, path)
        message = journal.recv(65536).decode()
    assert message == ("MESSAGE=the log output (standard error) fails: No space\n"
                       "PRIORITY=3\nSYSLOG_IDENTIFIER=crg\n")
    assert not to_journal("nobody listens", 3, str(tmp_path / "absent"))
