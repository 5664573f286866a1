"""The restart window is timed by the wall clock of the node that recorded the fault, as
any node may come to end it; a clock that disagrees (set back, or the recorder's ahead)
must not keep a group's budget spent for as long as the clocks differ: the window ends
at the latest ``window`` after the deciding node first read the fault, by its own
monotonic clock (README, "crg run", *Restart budget*)."""

from __future__ import annotations

import logging
import os
import signal
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
from runtime_helpers import SLEEPER, app_pid, eventually, placement, run, running, two_nodes

from crg.runtime import notices
from crg.runtime.embedded import EmbeddedCluster

pytestmark = pytest.mark.timeout(60)

AHEAD_S = 3600.0


def restarts_used(cluster: EmbeddedCluster, group: str) -> int:
    g = cluster.model.topology.group_index(group)
    return cluster.model.group_vars(cluster.recorder.state, g).restarts


def test_a_fault_recorded_an_hour_ahead_is_forgiven_after_the_window_all_the_same(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    setup = two_nodes(tmp_path, SLEEPER, restarts=2, window="2s")
    # The node that records the fault has its clock an hour ahead of the others'.
    monkeypatch.setattr(notices, "time", SimpleNamespace(time=lambda: time.time() + AHEAD_S))

    async def body() -> None:
        async with running(setup) as cluster:
            await eventually(lambda: placement(cluster, "job") == ("n1", "normal", "up"), 15,
                             "job up on n1")
            pid = app_pid(cluster, "n1", "job")
            assert pid is not None
            os.kill(pid, signal.SIGKILL)
            await eventually(lambda: restarts_used(cluster, "job") == 1, 15,
                             "the fault counted")
            counted = time.monotonic()
            # crg status says when the window ends as this host will end it, not an hour
            # away as the recording clock alone would have it.
            await eventually(lambda: cluster.agents["n1"].lanes["job"].window_start
                             is not None, 15, "the window's start read")
            job = next(g for g in (await cluster.status())["groups"] if g["group"] == "job")
            assert job["restarts"]["used"] == 1
            assert time.time() < job["restarts"]["window_ends"] <= time.time() + 2.5
            await eventually(lambda: restarts_used(cluster, "job") == 0, 15,
                             "the restart window over")
            # Not before the window (the wall clocks say an hour remains), nor long after.
            assert 1.5 <= time.monotonic() - counted < 10
            assert placement(cluster, "job") == ("n1", "normal", "up")

    with caplog.at_level(logging.WARNING, logger="crg.runtime"):
        run(body())
    ahead = [r.getMessage() for r in caplog.records if "ahead of this host's clock" in
             r.getMessage()]
    assert len(ahead) == 1 and "the last fault of job is recorded 3600 s ahead" in ahead[0]
