"""What an accepted command says it came to, against a real ``crg run``: ``online`` of a
group that cannot run anywhere (blocked) is not ``done`` (exit 6, with what would let it
run); ``crg status`` of a group blocked on its node says its restart budget is spent
there, not ``0/1``; an ``offline`` given in maintenance after the application died does
not say it still runs."""

from __future__ import annotations

from pathlib import Path

import psutil
import pytest
from cli_runtime import crg_run
from runtime_helpers import wait_until
from test_operator_scenarios import at, blocked_everywhere, flaky

from crg.errors import ExitCode

pytestmark = pytest.mark.timeout(240)


def test_online_of_a_blocked_group_is_not_done_and_its_status_says_the_budget_is_spent(
        tmp_path: Path) -> None:
    with blocked_everywhere(tmp_path) as runtime:
        job = runtime.group("job")
        # The fault that spent the budget on n3 banned n3 and set the count back to 0.
        assert job["restarts"]["spent"] is True
        assert (job["restarts"]["used"], job["restarts"]["budget"]) == (1, 1)
        assert {b["node"] for b in job["banned"]} == {"n1", "n2", "n3"}
        table = runtime.crg("status")
        row = next(line for line in table.out.splitlines() if line.startswith("job "))
        assert " 1/1 spent " in row and "0/1" not in row, table.out
        assert "banned on n1, n2, n3 until" in table.out
        assert "(its restart budget is spent there; crg cleanup job clears it)" in table.out
        # offline asks for the application stopped: it is
        offline = runtime.crg("offline", "job")
        assert offline.code == ExitCode.OK, offline.out + offline.err
        assert "offline job: done" in offline.out
        # online asks for it running: it cannot run anywhere
        online = runtime.crg("online", "job")
        assert online.code == ExitCode.UNFINISHED, online.out + online.err
        assert ("online job: accepted, but job is blocked on n3: every candidate is banned "
                "(its restart budget is spent there), so its application does not run; crg "
                "cleanup job [NODE] first") in online.out, online.out
        assert "  job: blocked on n3, application down" in online.out
        assert runtime.events_written("command-outcome", 2)[-1]["result"] == "otherwise"


def test_offline_in_maintenance_after_the_application_died_does_not_say_it_runs(
        tmp_path: Path) -> None:
    setup = flaky(tmp_path)
    with crg_run(setup) as runtime:
        wait_until(lambda: at(runtime, "job", "n1", "normal", "up"), 40, "job up on n1")
        pid = runtime.group("job")["pid"]
        on = runtime.crg("maintenance", "on", "job")
        assert on.code == ExitCode.OK, on.out + on.err
        psutil.Process(pid).kill()
        wait_until(lambda: runtime.group("job").get("reported") is not None, 20,
                   "the failure reported (held)")
        offline = runtime.crg("offline", "job", "--timeout", "5s")
        assert offline.code == ExitCode.UNFINISHED, offline.out + offline.err
        assert "still runs" not in offline.out, offline.out
        assert ("offline job: accepted, but job is in maintenance: its application failed "
                "on n1 and is not restarted, but the cluster service takes no action for "
                "it, so it is not taken offline until crg maintenance off job") \
            in offline.out, offline.out
        assert "application failed" in offline.out  # the outcome line
        table = runtime.crg("status")
        assert "its application failed meanwhile and is not restarted" in table.out
        assert "runs until then" not in table.out
