"""A step whose physical part fails in a way nobody planned for (README, "crg run"): the
lane lives on, the failure is logged with its cause and raised once as a runtime alert,
and the rules handle it — a start that cannot happen is a fault (restart, then failover),
any other step is retried until it works."""

from __future__ import annotations

import logging
import os
import signal
from pathlib import Path

import pytest
from runtime_helpers import (
    SLEEPER,
    FlakyDriver,
    app_pid,
    eventually,
    placement,
    run,
    running,
    two_nodes,
    written,
)

from crg.runtime.embedded import EmbeddedCluster
from crg.runtime.store.base import Txn

pytestmark = pytest.mark.timeout(90)



def runtime_alerts(cluster: EmbeddedCluster, action: str) -> list[dict[str, object]]:
    return [r for r in written(cluster)
            if r["event"] == "runtime-alert" and r["action"] == action]


def lanes_alive(cluster: EmbeddedCluster) -> bool:
    return all(not task.done() for agent in cluster.agents.values() for task in agent._tasks)


def test_a_node_whose_log_directory_is_a_file_runs_the_group_without_its_log(
        tmp_path: Path) -> None:
    """An application's log is worth keeping, never worth its service: where the log
    cannot be opened, the application runs with its output discarded, and the failing
    log is reported once as a failing output (also in ``crg status``)."""
    setup = two_nodes(tmp_path, SLEEPER)
    (setup.run_dir / "logs").mkdir(parents=True)
    (setup.run_dir / "logs" / "n1").touch()  # where n1's log directory should be

    async def body() -> None:
        async with running(setup) as cluster:
            await eventually(lambda: placement(cluster, "job") == ("n1", "normal", "up"),
                             20, "job up on n1")
            assert lanes_alive(cluster)
            log = str(setup.run_dir / "logs" / "n1" / "job.log")
            await eventually(lambda: any(r["event"] == "sink-failing"
                                         for r in cluster.services.events.records), 5,
                             "the failing log reported")
            status = await cluster.status()
            failing = [s for s in status["sinks"] if s["state"] == "failing"]
            assert [(s["sink"], s["target"]) for s in failing] == [("run-dir", log)]
            assert "Not a directory" in failing[0]["reason"]
            # Again (a fault, a restart): the same episode, not told again.
            pid = app_pid(cluster, "n1", "job")
            assert pid is not None
            os.kill(pid, signal.SIGKILL)
            await eventually(lambda: app_pid(cluster, "n1", "job") not in (None, pid), 20,
                             "job restarted on n1")
            reports = [r for r in cluster.services.events.records
                       if r["event"] == "sink-failing"]
            assert len(reports) == 1 and reports[0]["target"] == log, reports
            assert not [r for r in written(cluster) if r["event"] == "runtime-alert"]

    run(body())


def test_a_step_that_raises_is_retried_and_alerted_once(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    setup = two_nodes(tmp_path, SLEEPER)
    driver = FlakyDriver()

    async def body() -> None:
        async with running(setup, driver) as cluster:
            await eventually(lambda: placement(cluster, "job") == ("n1", "normal", "up"), 15,
                             "job up on n1 after a failed acquire-vip")
            alerts = runtime_alerts(cluster, "acquire-vip")
            assert len(alerts) == 1 and "RuntimeError" in str(alerts[0]["reason"])
            await cluster.operate("switchover", ("job", "n2"))
            await eventually(lambda: placement(cluster, "job") == ("n2", "failover", "up"),
                             15, "job up on n2 after two failed release-vip")
            assert driver.remove_failures == 0 and driver.holder(
                setup.config.group("job").vip) == "n2"
            alerts = runtime_alerts(cluster, "release-vip")
            assert len(alerts) == 1 and "Operation not permitted" in str(alerts[0]["reason"])
            decisions = cluster.agents["n1"].decisions
            assert sum("release-vip job failed" in d for d in decisions) == 2
            assert lanes_alive(cluster)

    with caplog.at_level(logging.ERROR, logger="crg.runtime"):
        run(body())
    # The unforeseen error's traceback is in the log, for whoever must fix its cause.
    assert any(r.exc_info and "tripped over itself" in str(r.exc_info[1])
               for r in caplog.records)


def test_a_cycle_that_keeps_failing_is_alerted_once_per_episode(tmp_path: Path) -> None:
    """The store's commit raises (a bug, or an output that used to fail under it) three
    times: the lane lives, undoes the physical part each time, and one runtime alert
    tells of the episode, however many cycles fail in it; then the group goes on."""
    setup = two_nodes(tmp_path, SLEEPER)

    async def body() -> None:
        async with running(setup) as cluster:
            await eventually(lambda: placement(cluster, "job") == ("n1", "normal", "up"), 15,
                             "job up on n1")
            store = cluster.services.store
            commit = store.commit
            failures = [3]

            async def failing_commit(txn: Txn) -> int:
                if failures[0] and any("/facts/n2" in put.key for put in txn.puts):
                    failures[0] -= 1
                    raise RuntimeError(f"the store tripped ({failures[0]} more)")
                return await commit(txn)

            store.commit = failing_commit  # type: ignore[method-assign]
            await cluster.operate("switchover", ("job", "n2"))
            await eventually(lambda: placement(cluster, "job") == ("n2", "failover", "up"),
                             20, "job up on n2 after three failed cycles")
            assert failures == [0]
            alerts = runtime_alerts(cluster, "cycle")
            assert len(alerts) == 1, alerts
            assert alerts[0]["node"] == "n2" and "the store tripped" in str(alerts[0]["reason"])
            assert lanes_alive(cluster)

    run(body())
