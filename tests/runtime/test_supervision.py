"""The process supervisor's decisions (README, "crg run"): a start that fails, a stop
that runs out of time, a process that escaped its process group, whose processes are
whose."""

from __future__ import annotations

import signal
import sys
import time
from pathlib import Path

import psutil
import pytest
from runtime_helpers import (
    eventually,
    placement,
    processes_of,
    run,
    running,
    two_nodes,
    written,
)

from crg.runtime.drivers.process import (
    STOP_COMMAND,
    KillReport,
    StopReport,
    Supervisor,
    stop_plan,
    sweep_run_dir,
)
from crg.runtime.embedded import EmbeddedCluster

pytestmark = pytest.mark.timeout(90)

PYTHON = sys.executable
"""The interpreter itself, not ``python3`` from PATH: a version manager's shim (pyenv's
is a shell script) runs helper processes of its own that carry the group's mark, and the
tests count the group's processes."""
SLEEPER = 'import time; time.sleep(120)'
STUBBORN = ('import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); '
            'open("{ready}", "w").close(); time.sleep(120)')
ESCAPER = ('import subprocess, time; subprocess.Popen(["sleep", "120"], '
           'start_new_session=True); time.sleep(120)')


def alive(pid: int | None) -> bool:
    """A live process, zombies aside (one killed but not yet reaped is dead)."""
    try:
        return pid is not None and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _is_python(pid: int | None) -> bool:
    try:
        return pid is not None and psutil.Process(pid).name().startswith("python")
    except psutil.Error:
        return False


def _named(proc: psutil.Process, name: str) -> bool:
    try:
        return proc.cmdline()[:1] == [name]
    except psutil.Error:
        return False


def kinds(cluster: EmbeddedCluster) -> list[str]:
    return [a.kind.label for a, _, _ in cluster.recorder.transitions]


def test_a_start_command_that_fails_is_a_fault_then_a_failover(tmp_path: Path) -> None:
    setup = two_nodes(tmp_path, '    start "/nonexistent/crg-test-app --port 1"')

    async def body() -> None:
        async with running(setup) as cluster:
            # n1: the start fails (budget 1: one local restart), then it fails over to n2,
            # where the same happens; with both nodes banned the group cannot run
            # anywhere: it is blocked, keeps its VIP, starts nothing more and alerts once.
            await eventually(lambda: any(a.kind.label == "claim" and a.node == 1
                                         for a, _, _ in cluster.recorder.transitions),
                             15, "job failed over to n2")
            await eventually(lambda: placement(cluster, "job")[1] == "blocked", 20,
                             "job blocked")
            assert kinds(cluster).count("fault") == 4  # budget + 1 on each node
            assert kinds(cluster).count("start-app") == 4
            faults = [e for e in written(cluster) if e["event"] == "fault"]
            assert faults and all(
                "could not be started: /nonexistent/crg-test-app: No such file or directory"
                in str(e.get("reason")) for e in faults), faults
            await eventually(lambda: [e["event"] for e in written(cluster)
                                      if e["event"] == "blocked"] == ["blocked"], 10,
                             "the blocked alert")

    run(body())


def test_a_stop_that_runs_out_of_time_ends_with_sigkill(tmp_path: Path) -> None:
    ready = tmp_path / "ready"
    stubborn = STUBBORN.format(ready=ready).replace('"', '\\"')
    app = (f'    start "{PYTHON} -c \'{stubborn}\'"\n'
           '    stop signal TERM timeout 300ms')
    setup = two_nodes(tmp_path, app)

    async def body() -> None:
        async with running(setup) as cluster:
            await eventually(lambda: placement(cluster, "job") == ("n1", "normal", "up"), 10,
                             "job up on n1")
            await eventually(ready.exists, 10, "the app ignores SIGTERM")
            await cluster.operate("switchover", ("job", "n2"))
            await eventually(lambda: placement(cluster, "job") == ("n2", "failover", "up"), 10,
                             "job up on n2")
            alerts = [e for e in written(cluster) if e["event"] == "runtime-alert"]
            assert len(alerts) == 1 and "SIGKILL" in str(alerts[0]["reason"])
            assert not [p for p in processes_of(setup.name) if "/n1/" in p.environ()["CRG_MARK"]]

    run(body())


def test_the_watchdog_kills_a_process_that_left_its_group(tmp_path: Path) -> None:
    escaper = ESCAPER.replace('"', '\\"')
    setup = two_nodes(tmp_path, f'    start "{PYTHON} -c \'{escaper}\'"')

    async def body() -> None:
        async with running(setup) as cluster:
            await eventually(lambda: placement(cluster, "job") == ("n1", "normal", "up"), 10,
                             "job up on n1")
            # Its escaped child runs (counting processes is not enough: python3 may be a
            # wrapper script, e.g. a pyenv shim, with children of its own for a moment).
            await eventually(lambda: any(_named(p, "sleep") for p in processes_of(setup.name)),
                             5, "the app's escaped child")
            await cluster.operate("switchover", ("job", "n2"))
            await eventually(lambda: placement(cluster, "job") == ("n2", "failover", "up"), 10,
                             "job up on n2")
            await eventually(lambda: not [p for p in processes_of(setup.name)
                                          if "/n1/" in p.environ()["CRG_MARK"]], 5,
                             "nothing of job left on n1")
            cleaned = [e for e in written(cluster) if e["event"] == "watchdog"]
            assert cleaned and "stray" in str(cleaned[0]["cleaned"])

    run(body())


def test_two_runtimes_of_one_cluster_name_never_touch_each_others_processes(
        tmp_path: Path) -> None:
    """The mark names the run directory: a runtime on run directory B finds none of A's
    processes (not as strays, not in a crash), while a runtime restarted on A finds the
    orphans of A's predecessor and sweeps them."""
    setup = two_nodes(tmp_path, f'    start "{PYTHON} -c \'{SLEEPER}\'"')
    job = setup.config.group("job")
    values = {"vip": setup.vips["job"], "node": "n1", "group": "job"}

    async def body() -> None:
        a = Supervisor(setup.name, "n1", tmp_path / "A" / "logs", run_dir=tmp_path / "A")
        b = Supervisor(setup.name, "n1", tmp_path / "B" / "logs", run_dir=tmp_path / "B")
        mine, theirs = await a.start(job, values), await b.start(job, values)
        try:
            assert mine.running and theirs.running
            # python3 may be a wrapper script (a pyenv shim) that runs helpers of its own
            # before it becomes the application.
            for app in (mine, theirs):
                await eventually(lambda app=app: _is_python(app.pgid), 10, "python runs")
            assert b.strays("job", keep=theirs) == []
            assert b.kill_all() == KillReport((theirs.pgid,)), "each group counted once"
            await eventually(lambda: not alive(theirs.pgid), 5, "B's application killed")
            assert mine.running and alive(mine.pgid), "A's application was killed"
            # A restarted on the same run directory (relative path, other spelling) sees
            # its predecessor's orphan; the sweep at start kills it and says what it was.
            again = Supervisor(setup.name, "n1", tmp_path / "x",
                               run_dir=tmp_path / "A" / ".." / "A")
            assert [p.pid for p in again.strays("job")] == [mine.pgid]
            swept = sweep_run_dir(tmp_path / "A")
            assert swept == [(mine.pgid, f"{setup.name}/n1/job")]
            await eventually(lambda: not mine.running, 5, "A's orphan reaped")
        finally:
            a.kill_all()
            b.kill_all()

    run(body())


def test_a_missing_working_directory_is_named(tmp_path: Path) -> None:
    setup = two_nodes(tmp_path, f'    start "{PYTHON} -c \'{SLEEPER}\'"\n'
                                f'    dir "{tmp_path}/gone"')
    job = setup.config.group("job")

    async def body() -> None:
        supervisor = Supervisor(setup.name, "n1", tmp_path / "logs")
        instance = await supervisor.start(job, {"vip": setup.vips["job"]})
        assert instance.describe_exit() == (f"could not be started: its directory "
                                            f"{tmp_path}/gone: No such file or directory")

    run(body())


def test_a_crashed_application_s_fault_says_where_its_output_is(tmp_path: Path) -> None:
    crash = 'import sys; print(\\"cannot bind: address in use\\"); sys.exit(3)'
    setup = two_nodes(tmp_path, f'    start "{PYTHON} -c \'{crash}\'"')

    async def body() -> None:
        async with running(setup) as cluster:
            await eventually(lambda: any(
                e["event"] == "fault" for e in written(cluster)), 15, "a fault")
            fault = next(e for e in written(cluster) if e["event"] == "fault")
            log = setup.run_dir.resolve() / "logs" / str(fault["node"]) / "job.log"
            assert fault["reason"] == (f"the application exited with status 3; "
                                       f"its output is in {log}"), fault
            assert "cannot bind: address in use" in log.read_text()

    run(body())


def test_the_stop_plan_splits_the_timeout() -> None:
    term, intr = signal.SIGTERM, signal.SIGINT
    assert stop_plan(False, term, 4.0) == [(term, 4.0)]
    assert stop_plan(True, term, 4.0) == [(STOP_COMMAND, 2.0), (term, 2.0)]
    assert stop_plan(False, intr, 4.0) == [(intr, 2.0), (term, 2.0)]
    assert stop_plan(True, intr, 4.0) == [(STOP_COMMAND, 2.0), (intr, 1.0), (term, 1.0)]


RECORDER = ('import signal, sys, time\n'
            'def got(n, _):\n'
            '    open("{log}", "a").write(signal.Signals(n).name + chr(10))\n'
            '    n == signal.SIGTERM and sys.exit(0)\n'
            'signal.signal(signal.SIGINT, got); signal.signal(signal.SIGTERM, got)\n'
            'open("{ready}", "w").close()\n'
            'time.sleep(120)\n')


def test_a_configured_stop_signal_comes_before_sigterm_not_instead(tmp_path: Path) -> None:
    """stop signal INT: an application that ignores SIGINT still gets SIGTERM within the
    stop timeout, before anything is SIGKILLed."""
    script = tmp_path / "app.py"
    got, ready = tmp_path / "signals.txt", tmp_path / "ready"
    script.write_text(RECORDER.format(log=got, ready=ready))
    setup = two_nodes(tmp_path, f'    start "{PYTHON} {script}"\n'
                                '    stop signal INT timeout 2s')
    job = setup.config.group("job")

    async def body() -> None:
        supervisor = Supervisor(setup.name, "n1", tmp_path / "logs")
        instance = await supervisor.start(job, {"vip": setup.vips["job"]})
        try:
            await eventually(ready.exists, 10, "the application handles its signals")
            started = time.monotonic()
            report = await supervisor.stop(job, instance, {})
            took = time.monotonic() - started
        finally:
            supervisor.kill_all()
        assert report == StopReport(graceful=True, killed=False)
        assert got.read_text().split() == ["SIGINT", "SIGTERM"]
        assert 1.0 <= took < 2.0, "SIGTERM after SIGINT's half of the timeout"

    run(body())


LOOK_WITHOUT_DESCRIPTORS = '''
import os, resource, sys
from crg.runtime.drivers.process import ProcessTableUnreadable, marked
mark = sys.argv[1]
def ours():
    return sorted(p.pid for p, env in marked() if env.get("CRG_RUN_DIR") == mark)
print("with descriptors:", ours())
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
probe = os.open(os.devnull, os.O_RDONLY)  # the lowest free descriptor, as POSIX says
os.close(probe)
resource.setrlimit(resource.RLIMIT_NOFILE, (probe, hard))
try:
    print("without:", ours())
except ProcessTableUnreadable as exc:
    print("without: unreadable:", exc.strerror)
'''


def test_a_look_for_strays_without_descriptors_fails_rather_than_find_none(
        tmp_path: Path) -> None:
    """Out of file descriptors, no process's environment can be read: the look must
    fail (the step that asked is retried) instead of answering "no strays"."""
    import os
    import subprocess

    mark = str(tmp_path.resolve())
    stray = subprocess.Popen([PYTHON, "-c", SLEEPER], env={**os.environ, "CRG_RUN_DIR": mark})
    try:
        looked = subprocess.run([PYTHON, "-c", LOOK_WITHOUT_DESCRIPTORS, mark],
                                capture_output=True, text=True, timeout=60, check=True)
    finally:
        stray.kill()
        stray.wait(10)
    assert looked.stdout.splitlines() == [
        f"with descriptors: [{stray.pid}]",
        "without: unreadable: cannot read the process table: Too many open files"]


def test_a_stop_command_that_fails_is_said_in_the_application_log(tmp_path: Path) -> None:
    """The stop goes on with the signals (they stop the application), and the log where
    the application's output is says that the stop command failed — it said nothing,
    so a stop command broken for good went unseen."""
    setup = two_nodes(tmp_path, f'    start "{PYTHON} -c \'{SLEEPER}\'"\n'
                                '    stop "sh -c \'exit 3\'" timeout 2s')
    job = setup.config.group("job")

    async def body() -> None:
        supervisor = Supervisor(setup.name, "n1", tmp_path / "logs")
        instance = await supervisor.start(job, {"vip": setup.vips["job"]})
        try:
            report = await supervisor.stop(job, instance, {})
        finally:
            supervisor.kill_all()
        assert report == StopReport(graceful=True, killed=False)

    run(body())
    logged = (tmp_path / "logs" / "job.log").read_text()
    assert "stop command sh -c 'exit 3' exited with status 3; the stop goes on with its " \
        "next step" in logged, logged
