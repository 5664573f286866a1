"""Ctrl-C and SIGTERM at any moment of a crg command: exit 130 and 143, never a
traceback — from the first instruction of crg on (``crg.start``), so also while Python
imports the command line, and while a command waits.

The moments are found, not guessed: the handling is installed when the kernel shows
SIGTERM caught for the process (``SigCgt`` in /proc/PID/status; Python alone catches
only SIGINT), and a command waits for its input when the process sits in the ``read``
system call on its standard input (/proc/PID/syscall). Every command here reads a
standard input that never ends, so none can finish by itself before the signal arrives,
however slow the machine: the outcome does not depend on timing."""

from __future__ import annotations

import contextlib
import os
import platform
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from crg.errors import ExitCode

pytestmark = pytest.mark.timeout(120)

ROOT = Path(__file__).resolve().parents[1]
READ = {"x86_64": 0, "aarch64": 63}.get(platform.machine())
"""The number of the ``read`` system call here."""


def catches_sigterm(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("SigCgt:"):
                    return bool((int(line.split()[1], 16) >> (signal.SIGTERM - 1)) & 1)
    except OSError:
        pass
    return False


def reading_stdin(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/syscall", encoding="ascii") as syscall:
            fields = syscall.read().split()
    except OSError:
        return False
    return len(fields) > 1 and fields[0] == str(READ) and int(fields[1], 16) == 0


def until(process: subprocess.Popen[str], what: str, check: Callable[[int], bool]) -> None:
    """Polls ``check`` (a look at /proc, cheap) until it holds; bounded by 60 s."""
    deadline = time.monotonic() + 60
    while not check(process.pid):
        assert process.poll() is None, f"ended before {what}: {process.communicate()}"
        assert time.monotonic() < deadline, f"never {what}"
        time.sleep(0.001)


@pytest.fixture
def started() -> Iterator[Callable[..., subprocess.Popen[str]]]:
    """``started("fmt", "-")``: a crg command, killed at teardown if a test left it
    running, whatever the outcome."""
    processes: list[subprocess.Popen[str]] = []

    def start(*argv: str) -> subprocess.Popen[str]:
        process = subprocess.Popen([sys.executable, "-m", "crg", *argv], cwd=ROOT,
                                   stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True)
        processes.append(process)
        return process

    yield start
    for process in processes:
        if process.poll() is None:
            process.kill()
            process.communicate()


def ended(process: subprocess.Popen[str], sig: signal.Signals) -> tuple[int, str]:
    process.send_signal(sig)
    try:
        _, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    return process.returncode, err


SIGNALS = [(signal.SIGINT, ExitCode.INTERRUPTED), (signal.SIGTERM, ExitCode.TERMINATED)]


@pytest.mark.parametrize(("sig", "code"), SIGNALS, ids=["SIGINT", "SIGTERM"])
@pytest.mark.parametrize("argv", [("fmt", "-"), ("check", "-"), ("show", "-"),
                                  ("simulate", "-")],
                         ids=["fmt", "check", "show", "simulate"])
def test_a_signal_while_crg_starts_up(started: Callable[..., subprocess.Popen[str]],
                                      sig: signal.Signals, code: int,
                                      argv: tuple[str, ...]) -> None:
    """Sent the moment crg's handling is installed: Python is importing the command line
    then (it takes a good part of a second), before any command runs — or, on a machine
    slow to deliver it, the command waits for its input by then."""
    process = started(*argv)
    until(process, "installed its signal handling", catches_sigterm)
    returned, err = ended(process, sig)
    assert returned == code, err
    assert "Traceback" not in err and "Error" not in err, err


@pytest.mark.skipif(READ is None, reason=f"the read system call's number on "
                                         f"{platform.machine()} is not known to this test")
@pytest.mark.parametrize(("sig", "code"), SIGNALS, ids=["SIGINT", "SIGTERM"])
def test_a_signal_while_a_command_waits(started: Callable[..., subprocess.Popen[str]],
                                        sig: signal.Signals, code: int) -> None:
    """``crg fmt -`` waiting for its standard input, every module loaded."""
    process = started("fmt", "-")
    until(process, "read its standard input", reading_stdin)
    returned, err = ended(process, sig)
    assert returned == code, err
    assert "Traceback" not in err, err


@pytest.mark.parametrize(("sig", "code"), SIGNALS, ids=["SIGINT", "SIGTERM"])
def test_crg_run_interrupted_while_it_starts_exits_without_a_traceback(
        started: Callable[..., subprocess.Popen[str]], tmp_path: Path,
        sig: signal.Signals, code: int) -> None:
    """Before its event loop runs, ``crg run`` is like any command (130, 143); once it
    runs, the signal drains the cluster and it exits 130 for Ctrl-C, 0 for SIGTERM (README,
    "crg run"). Either way, no
    traceback and nothing left running (the application carries the test's directory in
    its command line, so a leftover is found by it)."""
    config = tmp_path / "one.crg"
    app = f"{sys.executable} -c 'import time; time.sleep(3600)' {tmp_path}"
    config.write_text("cluster sigtest { nodes n1 }\ngroup web {\n  vip 127.0.77.9/8\n"
                      f"  app {{ start \"{app}\" }}\n  monitor process\n  preferred n1\n}}\n")
    process = started("run", str(config), "--run-dir", str(tmp_path / "run"))
    try:
        until(process, "installed its signal handling", catches_sigterm)
        returned, err = ended(process, sig)
        drained = ExitCode.OK if sig is signal.SIGTERM else code
        assert returned in (code, drained), err
        assert "Traceback" not in err, err
        assert leftovers(str(tmp_path)) == []
    finally:  # crg run first (it could start more), then what it left
        if process.poll() is None:
            process.kill()
            process.communicate()
        for pid in leftovers(str(tmp_path)):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def leftovers(marker: str) -> list[int]:
    """Processes whose command line names ``marker``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if marker.encode() in argv:
            found.append(int(entry.name))
    return found


def cpu_ns(pid: int) -> int | None:
    """The CPU time ``pid`` has used so far (/proc/PID/schedstat), in ns: a clock of the
    child's own progress, which a loaded machine slows down no more than the child."""
    try:
        with open(f"/proc/{pid}/schedstat", encoding="ascii") as stat:
            return int(stat.read().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def signalled_at(process: subprocess.Popen[str], cpu: int, sig: signal.Signals) -> None:
    """Sends ``sig`` once the child has used ``cpu`` ns of CPU (or at once if it ended)."""
    deadline = time.monotonic() + 60
    while process.poll() is None and time.monotonic() < deadline:
        used = cpu_ns(process.pid)
        if used is None or used >= cpu:
            break
    with contextlib.suppress(ProcessLookupError):
        process.send_signal(sig)


@pytest.mark.skipif(not Path("/proc/self/schedstat").exists(),
                    reason="no /proc/PID/schedstat to measure the child's progress by")
def test_a_signal_at_any_moment_of_start_up_ends_crg_quietly(tmp_path: Path) -> None:
    """``crg status`` against a control socket that never answers (so it cannot end by
    itself), signalled at many moments of its start-up, measured in the CPU time it has
    used: densely round the moment crg's first module installs its handling (the kernel
    shows SIGTERM caught), which is where a handler installed late leaves a window, and
    across the rest of the start-up. Every run ends 130 (SIGINT) or 143 (SIGTERM) without
    a traceback — except one whose signal came before crg's first instruction, while the
    Python interpreter itself started and loaded crg's entry point (README, "Exit codes"):
    that one shows no frame of crg's code past the import of ``crg.start``, which is how
    it is told apart."""
    run_dir = tmp_path / "run"
    run_dir.mkdir(mode=0o700)
    path = run_dir / "control.sock"
    argv = [sys.executable, "-m", "crg", "status", "--run-dir", str(run_dir)]
    crg_frame = re.compile(r'File "' + re.escape(str(ROOT / "crg") + os.sep) + r'([^"]+)"')
    entry = {"__init__.py", "__main__.py"}  # the package, and `from crg.start import main`
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as listener:
        listener.bind(str(path))
        os.chmod(path, 0o600)
        listener.listen(64)  # connections wait in the backlog, never answered

        def start() -> subprocess.Popen[str]:
            return subprocess.Popen(argv, cwd=ROOT, stdin=subprocess.DEVNULL,
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                    text=True)

        # Where crg's handling comes (CPU time), and where its start-up ends (it connects).
        probe = start()
        try:
            until(probe, "installed its signal handling", catches_sigterm)
            installed = cpu_ns(probe.pid) or 0
            listener.settimeout(60)
            listener.accept()[0].close()
            connected = max(cpu_ns(probe.pid) or 0, installed)
        finally:
            probe.kill()
            probe.communicate()
        moments = [installed + step * 250_000 for step in range(-12, 13)]  # ±3 ms, dense
        moments += [installed + (connected - installed) * step // 12 for step in range(1, 13)]
        quiet = 0
        for index, moment in enumerate(moments):
            sig, code = SIGNALS[index % 2]
            process = start()
            try:
                signalled_at(process, moment, sig)
                _, err = process.communicate(timeout=60)
            finally:
                if process.poll() is None:
                    process.kill()
                    process.communicate()
            if process.returncode == code and "Traceback" not in err:
                quiet += 1
                continue
            # Python's own start-up: its traceback (if any) has no frame of crg.start on
            assert set(crg_frame.findall(err)) <= entry, (moment - installed, err)
            assert process.returncode != code, err
    # the measure is sound: most moments fall in crg's own start-up
    assert quiet >= len(moments) // 2, f"{quiet} of {len(moments)}"


def test_the_entry_points_exit_codes_are_crgs() -> None:
    """crg.start cannot use ExitCode (loading it would leave a window, see there); in a
    process of its own, since importing crg.start installs its handlers."""
    check = ("import crg.start as s; from crg.errors import ExitCode as E; "
             "assert (s.INTERRUPTED, s.TERMINATED) == (E.INTERRUPTED, E.TERMINATED)")
    subprocess.run([sys.executable, "-c", check], cwd=ROOT, check=True, timeout=60)


def test_a_signal_python_wrapped_in_another_error_is_still_the_operator_s() -> None:
    # Python 3.11 turns a KeyboardInterrupt raised while a class is defined (a dataclass,
    # as a module loads) into a RuntimeError: crg must not call that an internal error.
    from crg.cli import _signal_inside
    from crg.errors import ExitCode, Terminated

    def wrapped(inner: BaseException) -> BaseException:
        try:
            try:
                raise inner
            except BaseException as exc:
                raise RuntimeError("Error calling __set_name__") from exc
        except RuntimeError as outer:
            return outer

    assert _signal_inside(wrapped(KeyboardInterrupt())) == ExitCode.INTERRUPTED
    assert _signal_inside(wrapped(Terminated())) == ExitCode.TERMINATED
    assert _signal_inside(wrapped(ValueError("a bug"))) is None


def test_a_signal_whose_exception_python_swallows_still_ends_crg() -> None:
    # A signal's exception raised inside a weakref callback or a __del__ (a module lock's
    # cleanup as an import ends: the suite saw it) is printed by Python and dropped, and
    # the command ran on for 30 s. Once a signal came, such a loss ends the process with
    # the signal's code, quietly.
    code = ("import crg.start as start, signal\n"
            "start._fired.append(signal.SIGINT)\n"
            "class Late:\n"
            "    def __del__(self):\n"
            "        raise KeyboardInterrupt\n"
            "Late()\n"
            "print('ran on')\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, cwd=ROOT)
    assert done.returncode == 130, done
    assert "Traceback" not in done.stderr and "ran on" not in done.stdout, done
    # anything else still gets Python's own report
    other = code.replace("raise KeyboardInterrupt", "raise ValueError('a bug')")
    done = subprocess.run([sys.executable, "-c", other], capture_output=True, text=True,
                          timeout=60, cwd=ROOT)
    assert done.returncode == 0 and "ValueError: a bug" in done.stderr, done
