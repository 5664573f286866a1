"""A node's background work (runtime/machine.py): what a stop does to it; what an
application's start command exiting 0 means."""

from __future__ import annotations

import asyncio
import gc
import time
import warnings
from pathlib import Path

from cli_runtime import crg_run
from runtime_helpers import quickstart, run, two_nodes, wait_until

from crg.runtime import alerting
from crg.runtime.address.null import NullDriver
from crg.runtime.commit import Services
from crg.runtime.drivers.monitors import UNWATCHED
from crg.runtime.drivers.sinks import EventLog
from crg.runtime.machine import Machine
from crg.runtime.recorder import ClusterRecorder
from crg.runtime.records import Keys
from crg.runtime.store.memory import MemoryStore
from crg.spec import Model


def _machine(tmp_path: Path) -> Machine:
    config = quickstart(tmp_path).config
    model = Model.from_config(config)
    keys = Keys(config.cluster.name)
    services = Services(config, model, keys, MemoryStore(), NullDriver(), EventLog(),
                        ClusterRecorder(model, keys, None), tmp_path / "run")
    return Machine(services, "n1", lambda group: None)


def test_work_cancelled_before_it_started_is_closed_not_left_unawaited(
        tmp_path: Path) -> None:
    """A stop that comes before a spawned page (node_watch's ``_paged``) first ran: the
    work was wrapped, the wrapper cancelled, and the work itself never awaited — Python
    said so ("coroutine '_paged' was never awaited") on the stop's way out."""
    ran: list[str] = []

    async def page() -> None:
        ran.append("page")

    async def body() -> None:
        machine = _machine(tmp_path)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            machine.spawn(page())
            await machine.halt()  # before the loop gave the new task its first step
            gc.collect()  # the warning comes when the unawaited coroutine is collected
        unawaited = [str(w.message) for w in caught if issubclass(w.category, RuntimeWarning)]
        assert unawaited == [], unawaited
        assert ran == [], "cancelled before it started: it never ran"
        assert not machine.background

    run(body())


def test_an_orderly_stop_lets_deliveries_finish_and_cancels_the_rest(tmp_path: Path) -> None:
    """``halt(keep_deliveries=True)`` then ``settle``: an alert under way is let out, and
    so is one it raises meanwhile (a failed sink is told to the others); a loop that never
    ends on its own is cancelled at once, not waited for; a delivery that outlasts the
    bound is cancelled when it is up."""
    async def body() -> None:
        machine = _machine(tmp_path)
        under_way, answer, ended = asyncio.Event(), asyncio.Event(), []

        async def forever() -> None:
            await asyncio.Event().wait()

        async def told_next() -> None:
            ended.append("told next")

        async def page() -> None:
            under_way.set()
            await answer.wait()
            ended.append("page")
            machine.spawn(told_next(), delivery=True)

        async def hangs() -> None:
            await asyncio.Event().wait()

        machine.spawn(forever())
        machine.spawn(page(), delivery=True)
        await under_way.wait()  # under way, not merely planned
        await machine.halt(keep_deliveries=True)
        assert len(machine.background) == 1, "the endless loop cancelled, the page not"
        asyncio.get_running_loop().call_soon(answer.set)
        await machine.settle(timeout_s=30.0)
        assert ended == ["page", "told next"]
        assert not machine.background

        machine.spawn(hangs(), delivery=True)
        started = time.monotonic()
        await machine.settle(timeout_s=0.3)
        assert time.monotonic() - started < 5.0, "bounded"
        assert not machine.background, "what outlasted the bound is cancelled"

    run(body())


def test_the_readme_states_the_bound_of_an_orderly_stop_s_wait_for_alerts() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    text = " ".join(readme.split())
    assert f"within {alerting.DELIVERY_S:g} s in all however many nodes it runs" in text


DAEMON = ("    start \"sh -c 'sleep 1000 > /dev/null 2>&1 &'\"\n"
          "    stop signal TERM timeout 2s")
"""A start command that daemonises (exits 0 at once, its child runs on) and no status
command: the process monitor of TWO_NODES has nothing to watch once it exited."""


def test_a_daemonised_start_with_a_process_monitor_and_no_status_is_a_fault_at_once(
        tmp_path: Path) -> None:
    """Each start is a fault as soon as its start command exits 0, with a reason that
    says what to do — not one monitor interval later as "the application exited with
    status 0", which reads as a crash — and with the budget spent on both nodes the group
    ends blocked, alerted once, as any group that cannot run anywhere. A real ``crg
    run``."""
    setup = two_nodes(tmp_path, DAEMON, restarts=1)
    with crg_run(setup) as runtime:
        wait_until(lambda: runtime.group("job").get("mode") == "blocked", 30, "job blocked")
        wait_until(lambda: "blocked group=job node=" in " ".join(setup.alert_lines()), 10,
                   "the blocked alert paged")
        faults = runtime.events_written("fault", 4)  # restarts 1: two starts per node
        assert {f["reason"] for f in faults} == {UNWATCHED}, faults
        assert {f["node"] for f in faults} == {"n1", "n2"}
        assert "give the application a status command" in UNWATCHED
        log = runtime.log()
        assert f"fault job ({UNWATCHED})" in log
        assert "exited with status 0" not in log
        assert "its monitors judge its health" not in log
    assert [line.split()[0] for line in setup.alert_lines()] == ["blocked"]


def test_a_daemonised_start_with_a_status_command_is_judged_by_it(tmp_path: Path) -> None:
    """The same daemon with a status command: its exit 0 is no fault; the process
    monitor runs the status command (each run counted in a file), which finds the
    daemon alive, time after time."""
    pidfile, checks = tmp_path / "daemon.pid", tmp_path / "checks.txt"
    app = (f"    start \"sh -c 'sleep 1000 > /dev/null 2>&1 & echo $! > {pidfile}'\"\n"
           f"    status \"sh -c 'echo . >> {checks}; kill -0 $(cat {pidfile})'\"\n"
           "    stop signal TERM timeout 2s")
    setup = two_nodes(tmp_path, app, restarts=1)

    def checked() -> int:
        return len(checks.read_text().split()) if checks.exists() else 0

    with crg_run(setup) as runtime:
        wait_until(lambda: runtime.group("job").get("mode") == "normal"
                   and runtime.group("job").get("app") == "up", 30, "job up on n1")
        wait_until(lambda: "the start command of job exited 0; its monitors judge its "
                   "health" in runtime.log(), 10, "the start command's exit seen")
        seen = checked()
        # fails 2: two failed checks in a row would have been a fault by then.
        wait_until(lambda: checked() >= seen + 3, 10, "three more status checks")
        assert runtime.events("fault") == []
        assert runtime.group("job").get("node") == "n1"
