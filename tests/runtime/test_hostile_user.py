"""A hostile local user (README, "What crg guarantees"): another account on the machine
plants a run directory, links where crg writes, or a control socket of its own. Every
attempt is refused with a clear message (exit 2), and no file outside the run directory
is touched.

Root only: the test creates a second user with useradd and removes it afterwards (CI
runs as root). The shared directory the other user works in is a sticky, world-writable
one, like /tmp.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from cli_run import Run
from runtime_helpers import (
    SLEEPER,
    eventually,
    placement,
    run,
    running,
    stop_runtime,
    two_nodes,
    wait_until,
)

from crg.runtime.health import Board
from crg.runtime.linefile import LineFile
from crg.runtime.rundir import SOCKET

pytestmark = [pytest.mark.timeout(120),
              pytest.mark.skipif(os.geteuid() != 0,
                                 reason="needs root: it creates a second local user "
                                        "(useradd) to play the intruder")]

SYSTEM_PYTHON = "/usr/bin/python3"
"""The intruder's Python (root's own interpreter may live where others cannot read)."""

FAKE_RUNTIME = """
import os, socket, sys
path, heard = sys.argv[1], sys.argv[2]
server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
server.bind(path)
os.chmod(path, 0o777)
server.listen()
open(path + ".ready", "w").close()
while True:
    client, _ = server.accept()
    client.settimeout(2)
    try:
        data = client.recv(65536)
    except OSError:
        data = b""
    with open(heard, "ab") as log:
        log.write(data)
    try:
        client.sendall(b'{"ok": true, "message": "done"}\\n')
    except OSError:
        pass
    client.close()
"""


class Intruder:
    def __init__(self, name: str) -> None:
        self.name = name
        info = pwd.getpwnam(name)
        self.uid, self.gid = info.pw_uid, info.pw_gid

    def run(self, *argv: str) -> None:
        subprocess.run(argv, user=self.uid, group=self.gid, extra_groups=[], check=True,
                       timeout=30)

    def start(self, *argv: str) -> subprocess.Popen[bytes]:
        return subprocess.Popen(argv, user=self.uid, group=self.gid, extra_groups=[],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


@pytest.fixture(scope="module")
def intruder() -> Iterator[Intruder]:
    name = f"crgx{uuid.uuid4().hex[:6]}"
    subprocess.run(["useradd", "--no-create-home", "--shell", "/usr/sbin/nologin", name],
                   check=True, capture_output=True)
    try:
        yield Intruder(name)
    finally:  # its processes were each stopped by the test that started them
        subprocess.run(["userdel", name], check=False, capture_output=True)


@pytest.fixture
def shared() -> Iterator[Path]:
    """A sticky world-writable directory, like /tmp, for this test alone."""
    where = Path(tempfile.mkdtemp(prefix="crg-hostile-", dir="/tmp"))
    where.chmod(0o1777)
    try:
        yield where
    finally:
        shutil.rmtree(where, ignore_errors=True)


@pytest.fixture
def victims(tmp_path: Path) -> Callable[[], dict[str, tuple[bytes, float]]]:
    """Files of root's that crg must never write; returns a snapshot (content, mtime)."""
    for name in ("victim", "victim2", "victim-trace"):
        (tmp_path / name).write_bytes(b"precious\n")
    (tmp_path / "victimdir").mkdir()

    def snapshot() -> dict[str, tuple[bytes, float]]:
        files = [*(tmp_path / n for n in ("victim", "victim2", "victim-trace")),
                 *sorted((tmp_path / "victimdir").iterdir())]
        return {str(p): (p.read_bytes(), p.stat().st_mtime) for p in files}

    return snapshot


def config(tmp_path: Path) -> tuple[Path, str]:
    setup = two_nodes(tmp_path, SLEEPER)
    return setup.path, setup.name


def test_a_base_directory_made_by_another_user_is_refused(
        tmp_path: Path, shared: Path, intruder: Intruder, victims: Callable[[], object],
        crg: Callable[..., Run], monkeypatch: pytest.MonkeyPatch) -> None:
    path, name = config(tmp_path)
    before = victims()
    base = shared / "crg"
    intruder.run("mkdir", "-m", "777", str(base))
    intruder.run("mkdir", str(base / name))
    intruder.run("ln", "-s", str(tmp_path / "victim"), str(base / name / "lock"))
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(shared))
    result = crg("run", str(path))
    assert result.code == 2, result.err
    assert (f"the base of the run directory {base} belongs to {intruder.name} (mode 0777), "
            "not to root") in result.err
    assert f"rm -r {base}" in result.err and "--run-dir" in result.err
    assert "Traceback" not in result.err
    assert victims() == before
    assert sorted(p.name for p in (base / name).iterdir()) == ["lock"], "nothing made there"


def test_a_base_directory_that_is_a_link_is_refused(
        tmp_path: Path, shared: Path, intruder: Intruder, crg: Callable[..., Run],
        monkeypatch: pytest.MonkeyPatch) -> None:
    path, _ = config(tmp_path)
    target = tmp_path / "victimdir"
    target.mkdir()
    intruder.run("ln", "-s", str(target), str(shared / "crg"))
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(shared))
    result = crg("run", str(path))
    assert result.code == 2, result.err
    assert f"{shared / 'crg'} is a symbolic link" in result.err
    assert list(target.iterdir()) == []


def test_a_run_directory_writable_by_others_is_refused(
        tmp_path: Path, shared: Path, intruder: Intruder, victims: Callable[[], object],
        crg: Callable[..., Run]) -> None:
    path, _ = config(tmp_path)
    before = victims()
    run_dir = shared / "run"
    run_dir.mkdir()
    run_dir.chmod(0o777)
    intruder.run("ln", "-s", str(tmp_path / "victim"), str(run_dir / "lock"))
    result = crg("run", str(path), "--run-dir", str(run_dir))
    assert result.code == 2, result.err
    assert f"the run directory {run_dir} is writable by others (mode 0777)" in result.err
    assert f"chmod 700 {run_dir}" in result.err
    assert victims() == before


def test_a_run_directory_in_another_user_s_directory_is_refused(
        tmp_path: Path, shared: Path, intruder: Intruder, crg: Callable[..., Run]) -> None:
    # A security tester's finding: the run directory was private, but its parent the
    # intruder's, who swapped it for their own after the start and read the
    # applications' output (and locked the operator out of the control socket).
    path, _ = config(tmp_path)
    parent = shared / "theirs"
    intruder.run("mkdir", str(parent))
    result = crg("run", str(path), "--run-dir", str(parent / "run"))
    assert result.code == 2, result.err
    assert (f"--run-dir {parent / 'run'}: another user could replace it: {parent} (mode "
            f"0755, owner {intruder.name}) belongs to another user") in result.err
    assert not (parent / "run").exists()


def test_a_link_left_in_the_run_directory_is_never_followed(
        tmp_path: Path, victims: Callable[[], object], crg: Callable[..., Run]) -> None:
    path, _ = config(tmp_path)
    before = victims()
    run_dir = tmp_path / "run"
    run_dir.mkdir(mode=0o700)
    (run_dir / "lock").symlink_to(tmp_path / "victim")
    result = crg("run", str(path), "--run-dir", str(run_dir))
    assert result.code == 2, result.err
    assert f"{run_dir / 'lock'}: lock is a symbolic link" in result.err
    assert victims() == before


def test_a_program_another_user_owns_is_never_run(
        tmp_path: Path, shared: Path, intruder: Intruder, crg: Callable[..., Run]) -> None:
    """The configuration is root's own, but the program it starts is the intruder's: run
    as root, it would do whatever the intruder writes into it next."""
    ran = tmp_path / "ran"
    program = shared / "serve"
    intruder.run("sh", "-c", f"printf '#!/bin/sh\\ntouch {ran}\\nexec sleep 120\\n' > "
                             f"{program} && chmod 755 {program}")
    setup = two_nodes(tmp_path, f'    start "{program}"')
    result = crg("run", str(setup.path), "--run-dir", str(setup.run_dir))
    assert result.code == 2, result.err
    assert (f"job's start command runs {program}, which another user could change (it "
            f"would run as root): {program} (mode 0755, owner {intruder.name}) belongs to "
            "another user") in result.err
    assert "Traceback" not in result.err
    assert not ran.exists() and not setup.run_dir.exists()


def test_links_to_application_logs_are_never_followed(
        tmp_path: Path, victims: Callable[[], object]) -> None:
    """The applications run (their output discarded) and the failing logs are
    reported; nothing reaches the files the links point at."""
    setup = two_nodes(tmp_path, SLEEPER)
    before = victims()
    logs = setup.run_dir / "logs"
    (logs / "n2").mkdir(parents=True, mode=0o700)
    (logs / "n1").symlink_to(tmp_path / "victimdir", target_is_directory=True)
    (logs / "n2" / "job.log").symlink_to(tmp_path / "victim2")

    async def body() -> None:
        async with running(setup) as cluster:
            await eventually(lambda: placement(cluster, "job") == ("n1", "normal", "up"),
                             20, "job up on n1")
            await cluster.operate("switchover", ("job", "n2"))
            await eventually(lambda: placement(cluster, "job") == ("n2", "failover", "up"),
                             20, "job up on n2")
            failing = {s["target"]: s["reason"]
                       for s in cluster.services.events.board.status()
                       if s["state"] == "failing"}
            assert set(failing) == {str(logs / "n1" / "job.log"), str(logs / "n2" / "job.log")}
            assert all("is a symbolic link" in why for why in failing.values()), failing

    run(body())
    assert victims() == before


def test_files_planted_where_the_events_and_trace_go_are_refused(
        tmp_path: Path, shared: Path, intruder: Intruder, victims: Callable[[], object],
        crg: Callable[..., Run]) -> None:
    path, _ = config(tmp_path)
    before = victims()
    link, theirs = shared / "events.jsonl", shared / "trace.jsonl"
    intruder.run("ln", "-s", str(tmp_path / "victim"), str(link))
    intruder.run("touch", str(theirs))
    for flag, planted, message in (("--events", link, "is a symbolic link"),
                                   ("--trace", theirs, f"belongs to {intruder.name}")):
        result = crg("run", str(path), flag, str(planted), "--run-dir",
                     str(tmp_path / "run"))
        assert result.code == 2, result.err
        assert f"{flag} {planted}: cannot write this file: " in result.err
        assert message in result.err
    assert victims() == before
    assert theirs.read_bytes() == b"" and theirs.stat().st_uid == intruder.uid
    assert not (tmp_path / "run").exists(), "refused before anything was touched"


def test_a_fifo_of_another_user_where_the_events_go_is_refused(
        tmp_path: Path, shared: Path, intruder: Intruder, crg: Callable[..., Run]) -> None:
    # Only a regular file's owner was checked: the intruder's FIFO was opened and written,
    # handing every event to the intruder's reader.
    path, _ = config(tmp_path)
    fifo = shared / "events.jsonl"
    intruder.run("mkfifo", "-m", "0622", str(fifo))
    result = subprocess.run([sys.executable, "-m", "crg", "run", str(path), "--events",
                             str(fifo), "--run-dir", str(tmp_path / "run")],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2, result.stderr
    assert f"--events {fifo}: cannot write this file: " in result.stderr
    assert f"belongs to {intruder.name}" in result.stderr


def test_a_fifo_planted_after_a_rotation_gets_no_line(
        shared: Path, intruder: Intruder) -> None:
    # Once logrotate renamed the events file, its path in a shared directory is free:
    # the intruder's FIFO there received the lines crg makes 0600 to keep from others.
    path = shared / "events.jsonl"
    board = Board()
    output = LineFile(board.sink("events", str(path)), path)
    heard = shared / "heard"
    reader: subprocess.Popen[bytes] | None = None
    try:
        output.write('{"event": "first"}')
        assert output.flush(10)
        path.rename(shared / "events.jsonl.1")
        intruder.run("mkfifo", "-m", "0622", str(path))
        intruder.run("touch", str(heard))
        reader = intruder.start("sh", "-c", f"exec cat {path} > {heard}")
        output.write('{"event": "secret"}')
        wait_until(lambda: board.sink("events", str(path)).failing, 20,
                   "the planted FIFO refused, as a failing output")
        assert f"belongs to {intruder.name}" in board.sink("events", str(path)).reason
        assert heard.read_bytes() == b""
    finally:
        output.close(0.5)
        board.close()
        if reader is not None:
            reader.kill()
            reader.wait(timeout=10)


def test_a_control_socket_of_another_user_gets_no_command(
        tmp_path: Path, shared: Path, intruder: Intruder, crg: Callable[..., Run],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The intruder made the run directory first and serves a socket that says "done"
    to everything; neither a socket file of theirs, nor theirs disguised as root's (its
    file handed to root), is sent anything."""
    _, name = config(tmp_path)
    base = shared / "crg"
    intruder.run("mkdir", "-m", "755", str(base))
    intruder.run("mkdir", "-m", "755", str(base / name))
    socket_path = base / name / SOCKET
    heard = base / name / "heard"
    fake = intruder.start(SYSTEM_PYTHON, "-c", FAKE_RUNTIME, str(socket_path), str(heard))
    try:
        wait_until(lambda: Path(f"{socket_path}.ready").exists(), 20, "the fake runtime")
        monkeypatch.setenv("XDG_RUNTIME_DIR", str(shared))
        # Under the default base, a base the intruder made is not looked into at all
        result = crg("drain", "n1", "--cluster", name)
        assert result.code == 2, (result.out, result.err)
        assert (f"the base of the run directories {base} belongs to {intruder.name} (mode "
                "0755), not to root: crg talks to no runtime found there") in result.err
        # Given as --run-dir, the socket itself is judged, then the process answering
        where = ("--run-dir", str(base / name))
        for argv in (("switchover", "job", "n2"), ("drain", "n1"), ("status",)):
            result = crg(*argv, *where)
            assert result.code == 2, (argv, result.out, result.err)
            assert (f"the control socket {socket_path} belongs to {intruder.name}, not to "
                    "root") in result.err, result.err
            assert "nothing was sent" in result.err and "done" not in result.out
        os.chown(socket_path, 0, 0)  # a file that looks like root's: the peer is not
        result = crg("switchover", "job", "n2", *where)
        assert result.code == 2
        assert (f"the process answering on {socket_path} (pid {fake.pid}) runs as "
                f"{intruder.name}, not as root") in result.err, result.err
        time.sleep(0.2)  # anything sent would be in the log by now
        assert not heard.exists() or heard.read_bytes() == b"", "nothing was sent"
    finally:
        fake.kill()
        fake.wait()


def test_the_own_runtime_s_socket_is_trusted(tmp_path: Path, crg: Callable[..., Run]) -> None:
    """The other side: crg run's own socket passes both checks."""
    path, _ = config(tmp_path)
    run_dir = tmp_path / "run"
    runtime = subprocess.Popen([sys.executable, "-m", "crg", "run", str(path), "--run-dir",
                                str(run_dir)], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    try:
        wait_until(lambda: crg("status", "--run-dir", str(run_dir)).code == 0, 30,
                   "crg status answered")
        assert oct((run_dir / SOCKET).stat().st_mode & 0o777) == "0o600"
        assert oct(run_dir.stat().st_mode & 0o777) == "0o700"
    finally:
        stop_runtime(runtime)
    assert runtime.returncode == 0
