"""Operator commands against a real ``crg run`` (issue 13, "Done when"): each takes
effect or says why, with its exit code; an application that fails everywhere ends
blocked with one alert, and ``crg cleanup`` brings it back; maintenance holds a failure
until it ends; ``crg simulate --live`` predicts what a real crash and switchover do;
``crg status`` calls a crashed node *suspect* at once. Every trace passes ``crg
conform`` (:func:`cli_runtime.crg_run`)."""

from __future__ import annotations

import contextlib
import io
import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
from cli_runtime import Runtime, crg_run
from runtime_helpers import CLUSTERS, Setup, free_vip, quickstart, stop_runtime, wait_until

from crg.cli import main
from crg.dsl import parse
from crg.errors import ExitCode
from crg.runtime.rundir import SOCKET

pytestmark = pytest.mark.timeout(240)

CLUSTER = """
cluster {name} {{
  nodes n1 n2 n3
  lease 2s
  heartbeat 100ms
  store-timeout 200ms
  fence-margin 300ms
}}
"""
"""Three nodes with a short lease, for every configuration of these scenarios."""

FLAKY = CLUSTER + """group job {{
  vip {vip}/8
  app {{
    start "sh {tmp}/app.sh {{node}}"
    stop signal TERM timeout 2s
  }}
  monitor process every 200ms fails 1
  preferred n1
  possible n2, n3
  failback {failback}
  restarts 1 within {window}
  alert command "sh -c 'echo $CRG_EVENT group=$CRG_GROUP node=$CRG_NODE >> {tmp}/alerts.txt'"
}}
"""

APP = """echo "$1" >> {tmp}/starts
if [ -e {tmp}/broken ] || [ -e "{tmp}/broken-$1" ]; then exit 3; fi
exec sleep 600
"""


def flaky(tmp: Path, *, window: str = "1m", failback: str = "manual") -> Setup:
    """One group on three nodes whose start command fails where a file says so
    (``broken``: everywhere, ``broken-NODE``: there), each start counted in ``starts``."""
    (tmp / "app.sh").write_text(APP.format(tmp=tmp))
    return scenario(tmp, "job.crg", FLAKY, ("job",), tmp=tmp, window=window,
                    failback=failback)


def scenario(folder: Path, file: str, template: str, groups: tuple[str, ...],
             **fields: object) -> Setup:
    """``template`` filled in with a fresh cluster name and a free loopback VIP per group
    (``{group}``; ``{vip}`` too when there is one group), written to ``folder / file``."""
    name = f"op{uuid.uuid4().hex[:8]}"
    CLUSTERS.append(name)
    rng = random.Random(uuid.uuid4().int)
    vips = {g: free_vip(rng) for g in groups}
    one = {"vip": vips[groups[0]]} if len(groups) == 1 else {}
    text = template.format(name=name, **vips, **one, **fields)
    path = folder / file
    path.write_text(text)
    return Setup(path, parse(text, str(path)), name, vips, folder / "hooks.txt",
                 folder / "alerts.txt", folder / "trace.jsonl", folder / "events.jsonl",
                 folder / "run")


def starts(tmp: Path) -> list[str]:
    path = tmp / "starts"
    return path.read_text().split() if path.exists() else []


def at(runtime: Runtime, group: str, node: str | None, mode: str, app: str) -> bool:
    g = runtime.group(group)
    return (g.get("node"), g.get("mode"), g.get("app")) == (node, mode, app)


@contextlib.contextmanager
def blocked_everywhere(tmp: Path) -> Iterator[Runtime]:
    """A real ``crg run`` of :func:`flaky` whose application fails on every node: ``job``
    spends its budget on n1, n2 and n3 in turn and is blocked on n3."""
    setup = flaky(tmp)
    (tmp / "broken").touch()
    with crg_run(setup) as runtime:
        wait_until(lambda: at(runtime, "job", "n3", "blocked", "down"), 90,
                   "job blocked on n3")
        yield runtime


def test_a_switchover_to_a_banned_node_is_refused_with_the_reason(tmp_path: Path) -> None:
    setup = flaky(tmp_path)
    (tmp_path / "broken-n2").touch()
    with crg_run(setup) as runtime:
        wait_until(lambda: at(runtime, "job", "n1", "normal", "up"), 40, "job up on n1")
        # Accepted (n2 is up and eligible): the application fails twice on n2, which bans
        # it, and the group goes back to n1. (Not followed with --wait: between its two
        # failures the group is at rest on n2 for an instant, and a wait that looks then
        # rightly says done — the outcome would depend on timing.)
        moved = runtime.crg("switchover", "job", "n2", "--no-wait")
        assert moved.code == ExitCode.OK, moved.out + moved.err
        assert "switchover job n2: accepted" in moved.out
        wait_until(lambda: at(runtime, "job", "n1", "normal", "up")
                   and [b["node"] for b in runtime.group("job")["banned"]] == ["n2"], 60,
                   "job banned on n2 and back on n1")
        assert starts(tmp_path).count("n2") == 2, "budget 1: two starts on n2, then a ban"
        # The second fault withdrew the switchover, and the events say so.
        wait_until(lambda: [f.get("withdrawn") for f in runtime.events("fault")]
                   == [None, "n2"], 20, "the fault that banned n2 withdrew the switchover")
        assert "the switchover to n2 is withdrawn" in runtime.log()
        # Now n2 is banned: refused at once, with the reason and what to do about it.
        began = time.monotonic()
        again = runtime.crg("switchover", "job", "n2", "--timeout", "60s")
        assert again.code == ExitCode.REFUSED, again.out + again.err
        assert time.monotonic() - began < 20, "a refusal does not wait for the timeout"
        assert ("switchover job n2: refused: job has spent its restart budget on n2; clean "
                "up first (crg cleanup job n2) or wait for the restart window") in again.err
        assert again.out == ""
        # The ban and its end are shown, in the table and the JSON; the switchover that
        # failed is withdrawn (the window passing does not send job back to n2).
        table = runtime.crg("status")
        assert table.code == 0
        assert "job: banned on n2 until " in table.out, table.out
        assert "pending" not in table.out, table.out
        assert "(crg cleanup job clears it)" in table.out
        assert "last fault at " in table.out and " on n2: the application exited with " \
            "status 3" in table.out
        job = json.loads(runtime.crg("status", "--json").out)["groups"][0]
        assert job.get("target") is None
        assert [b["node"] for b in job["banned"]] == ["n2"]
        assert job["banned"][0]["until"] == job["restarts"]["window_ends"] > time.time()
        assert job["last_fault"]["node"] == "n2"
        # Unknown names stay bad input (2), refusals are 5: scripts can tell them apart.
        unknown = runtime.crg("switchover", "job", "n7")
        assert unknown.code == ExitCode.BAD_INPUT and "unknown node 'n7'" in unknown.err
        # Every command is in the events, accepted or refused, with who sent it.
        commands = runtime.events_written("command", 2)
        assert [(c["args"], c["result"]) for c in commands] == [
            (["job", "n2"], "accepted"), (["job", "n2"], "refused")]
        # The client is this test's process (the commands ran in it), as the kernel says.
        assert all(c["client"]["pid"] == os.getpid() and c["client"]["uid"] == os.getuid()
                   and c["client"]["command"] for c in commands)
        assert "command switchover job n2 from pid" in runtime.log()
        assert "running: 3 nodes, 1 group; control socket" in runtime.log()
        # Accepted but not followed to the end within --timeout: exit 6, and it stays in
        # force (no group moves in a millisecond: processes stop and start).
        hurried = runtime.crg("switchover", "job", "n3", "--timeout", "1ms")
        assert hurried.code == ExitCode.UNFINISHED, hurried.out + hurried.err
        assert "switchover job n3: accepted, but not at rest within 0 s (it stays in " \
               "force" in hurried.out
        wait_until(lambda: runtime.group("job").get("node") == "n3"
                   and runtime.group("job").get("app") == "up", 30, "job on n3 all the same")


def test_a_switchover_stays_in_force_until_cleared(tmp_path: Path) -> None:
    # failback auto: after a switchover the group stays on its target (the operator's
    # word) and says why in crg status; crg clear withdraws it and the group goes home.
    setup = flaky(tmp_path, failback="auto")
    with crg_run(setup) as runtime:
        wait_until(lambda: at(runtime, "job", "n1", "normal", "up"), 40, "job up on n1")
        moved = runtime.crg("switchover", "job", "n2")
        assert moved.code == ExitCode.OK, moved.out + moved.err
        assert runtime.group("job")["target"] == "n2"
        table = runtime.crg("status")
        assert "job: kept on n2 by a switchover (crg clear job withdraws it)" in table.out
        # The process check passes once app.sh runs, perhaps before it wrote its line: on
        # a loaded machine the clear stopped it first, and n2's start went unrecorded.
        wait_until(lambda: starts(tmp_path) == ["n1", "n2"], 10, "app.sh ran on n2")
        cleared = runtime.crg("clear", "job")
        assert cleared.code == ExitCode.OK, cleared.out + cleared.err
        assert "clear job: done" in cleared.out
        assert "job: normal on n1, application up" in cleared.out, "followed home"
        assert runtime.group("job")["target"] is None
        again = runtime.crg("clear", "job")
        assert again.code == ExitCode.REFUSED, again.out + again.err
        assert "clear job: refused: job has no switchover target: nothing to clear" \
            in again.err
        assert [(c["command"], c["result"]) for c in runtime.events_written("command", 3)] == [
            ("switchover", "accepted"), ("clear", "accepted"), ("clear", "refused")]
    assert starts(tmp_path) == ["n1", "n2", "n1"]


def test_an_application_failing_everywhere_is_blocked_alerts_once_and_cleanup_brings_it_back(
        tmp_path: Path) -> None:
    with blocked_everywhere(tmp_path) as runtime:
        # At most budget + 1 starts per node, in the order of its list; then it stops.
        assert starts(tmp_path) == ["n1", "n1", "n2", "n2", "n3", "n3"]
        wait_until(lambda: (tmp_path / "alerts.txt").exists(), 20, "the blocked alert")
        status = runtime.status()
        job = status["groups"][0]
        assert job["blocked_alerted"] and job["vip_holder"] == "n3"
        assert {b["node"] for b in job["banned"]} == {"n1", "n2", "n3"}
        table = runtime.crg("status")
        assert "blocked" in table.out and "banned on n1, n2, n3 until" in table.out
        # Fixed, then cleaned up: it runs again (every node's record cleared).
        (tmp_path / "broken").unlink()
        cleaned = runtime.crg("cleanup", "job")
        assert cleaned.code == ExitCode.OK, cleaned.out + cleaned.err
        assert "cleanup job n1: done" in cleaned.out
        assert "cleanup job n3: done" in cleaned.out
        wait_until(lambda: runtime.group("job").get("app") == "up", 30, "job up again")
        assert runtime.group("job")["banned"] == []
        nothing = runtime.crg("cleanup", "job")
        assert nothing.code == ExitCode.REFUSED and "nothing to clean up" in nothing.err
        # start-app is done once the process runs; its first line (the count) may come
        # a moment later.
        wait_until(lambda: len(starts(tmp_path)) == 7, 10, "the seventh start counted")
    # One blocked episode: one alert, delivered to the alert command.
    assert (tmp_path / "alerts.txt").read_text().splitlines() == [
        "blocked group=job node=n3"]
    assert len(runtime.events("blocked")) == 1


def test_the_restart_window_ends_a_blocked_episode(tmp_path: Path) -> None:
    setup = flaky(tmp_path, window="3s")
    (tmp_path / "broken").touch()
    with crg_run(setup) as runtime:
        wait_until(lambda: runtime.group("job").get("mode") == "blocked", 90, "job blocked")
        (tmp_path / "broken").unlink()
        wait_until(lambda: runtime.group("job").get("app") == "up", 30,
                   "job forgiven and running again")
        assert runtime.events_written("forgive", 1)
        assert runtime.group("job")["banned"] == []


def test_maintenance_holds_a_failure_until_it_ends(tmp_path: Path) -> None:
    setup = flaky(tmp_path)
    with crg_run(setup) as runtime:
        wait_until(lambda: at(runtime, "job", "n1", "normal", "up"), 40, "job up on n1")
        first = runtime.group("job")["pid"]
        on = runtime.crg("maintenance", "on", "job")
        assert on.code == 0, on.out + on.err
        assert "maintenance on job: done" in on.out
        psutil.Process(first).kill()
        # The runtime sees the failure and says so once; it does nothing about it.
        wait_until(lambda: bool(runtime.events("fault-held")), 20, "the failure is held")
        job = runtime.group("job")
        assert (job["node"], job["mode"], job["app"], job["maintenance"]) == \
            ("n1", "normal", "failed", True)
        assert "killed by SIGKILL" in job["reported"]["reason"]
        assert starts(tmp_path) == ["n1"], "nothing restarted in maintenance"
        table = runtime.crg("status")
        assert "normal, maintenance" in table.out
        assert "job: in maintenance: the cluster service takes no action for it; failure " \
               "reported on n1" in table.out
        again = runtime.crg("maintenance", "on", "--all")
        assert again.code == ExitCode.REFUSED and "already in maintenance" in again.err
        # simulate --live predicts it: the held failure counts when the maintenance ends
        # (it predicted nothing at all, the failure not being in the spec's state).
        told = runtime.crg("simulate", "--live", "--maintenance-off", "job", "--format",
                           "json")
        assert told.code == 0, told.err
        predicted = json.loads(told.out)
        assert "killed by SIGKILL" in predicted["live"]["held"]["job"]
        fault = predicted["steps"][-1]
        assert fault["event"]["name"] == "fault"
        assert [a["action"] for a in fault["actions"]][-2:] == ["start-monitors", "notify-up"]
        text = runtime.crg("simulate", "--live", "--maintenance-off", "job")
        assert "(held: the failure reported during the maintenance of job on n1" in text.out
        # Over: the monitors still see it failed, so it counts, and the group restarts.
        off = runtime.crg("maintenance", "off", "job")
        assert off.code == 0, off.out + off.err
        assert "job: normal on n1, application up" in off.out
        job = runtime.group("job")
        assert job["pid"] not in (None, first) and job["restarts"]["used"] == 1
        wait_until(lambda: starts(tmp_path) == ["n1", "n1"], 10, "the restart counted")
        wait_until(lambda: any("reported during maintenance, still so" in f["reason"]
                               for f in runtime.events("fault")), 10, "the fault written")


def test_a_commands_outcome_says_failed_as_status_does(tmp_path: Path) -> None:
    # A failure held in maintenance: status says failed, and so does the outcome of a
    # command (it said "application up", the spec's word from before the failure).
    setup = flaky(tmp_path)
    with crg_run(setup) as runtime:
        wait_until(lambda: at(runtime, "job", "n1", "normal", "up"), 40, "job up on n1")
        first = runtime.group("job")["pid"]
        assert runtime.crg("maintenance", "on", "job").code == 0
        psutil.Process(first).kill()
        wait_until(lambda: bool(runtime.events("fault-held")), 20, "the failure is held")
        moved = runtime.crg("switchover", "job", "n2", "--timeout", "5s")
        assert moved.code == ExitCode.UNFINISHED, moved.out + moved.err
        assert "job: normal on n1, application failed (maintenance)" in moved.out, moved.out


def test_what_is_asked_in_maintenance_can_be_taken_back_before_it_ends(tmp_path: Path) -> None:
    # A switchover and an offline given in maintenance wait for its end; a clear and an
    # online take them back (they were refused as "not at rest" until it ended, and the
    # group then moved against the operator's word).
    setup = flaky(tmp_path)
    with crg_run(setup) as runtime:
        wait_until(lambda: at(runtime, "job", "n1", "normal", "up"), 40, "job up on n1")
        assert runtime.crg("maintenance", "on", "job").code == 0
        moved = runtime.crg("switchover", "job", "n2", "--timeout", "5s")
        assert moved.code == ExitCode.UNFINISHED, moved.out + moved.err
        assert "job is in maintenance: the cluster service takes no action for it, so it " \
               "stays on n1 until crg maintenance off job" in moved.out, moved.out
        cleared = runtime.crg("clear", "job", "--timeout", "5s")
        assert cleared.code == ExitCode.OK, cleared.out + cleared.err
        assert runtime.crg("offline", "job", "--timeout", "5s").code == ExitCode.UNFINISHED
        back = runtime.crg("online", "job", "--timeout", "5s")
        assert back.code == ExitCode.OK, back.out + back.err
        ended = runtime.crg("maintenance", "off", "job", "--timeout", "20s")
        assert ended.code == ExitCode.OK, ended.out + ended.err
        assert "job: normal on n1, application up" in ended.out, ended.out
        assert starts(tmp_path) == ["n1"], "neither moved nor stopped"


def test_a_group_in_maintenance_on_a_drained_node_takes_a_switchover(tmp_path: Path) -> None:
    # Far from rest because its node was drained meanwhile, the group refused a
    # switchover as "not at rest (mode normal, application up)"; it is where it goes when
    # the maintenance ends (an outside tester's case).
    setup = flaky(tmp_path)
    with crg_run(setup) as runtime:
        wait_until(lambda: at(runtime, "job", "n1", "normal", "up"), 40, "job up on n1")
        assert runtime.crg("maintenance", "on", "job").code == 0
        drained = runtime.crg("drain", "n1", "--timeout", "5s")
        assert drained.code == ExitCode.UNFINISHED and "n1 still hosts job" in drained.out
        moved = runtime.crg("switchover", "job", "n3", "--timeout", "5s")
        assert moved.code == ExitCode.UNFINISHED, moved.out + moved.err
        assert "job is in maintenance" in moved.out, moved.out
        ended = runtime.crg("maintenance", "off", "job", "--timeout", "30s")
        assert ended.code == ExitCode.OK, ended.out + ended.err
        assert "job: failover on n3, application up" in ended.out, ended.out


def test_simulate_live_predicts_what_a_crash_and_a_switchover_do(tmp_path: Path) -> None:
    setup = quickstart(tmp_path)
    with crg_run(setup) as runtime:
        wait_until(lambda: all(g["mode"] == "normal" and g["app"] == "up"
                               for g in runtime.status().get("groups", [{"mode": "?"}])),
                   40, "every group up")

        def predicted(*events: str) -> dict[str, tuple[str, str]]:
            answer = runtime.crg("simulate", "--live", *events, "--format", "json")
            assert answer.code == 0, answer.err
            final = json.loads(answer.out)["final"]["placement"]
            return {g: (p["node"], p["mode"]) for g, p in final.items()}

        def placements() -> dict[str, tuple[str, str]]:
            return {g["group"]: (g["node"], g["mode"])
                    for g in runtime.status().get("groups", ())}

        # --all means every group not already as asked: the others are said, not refused.
        assert runtime.crg("maintenance", "on", "report").code == 0
        ended = runtime.crg("maintenance", "off", "--all")
        assert ended.code == ExitCode.OK, ended.out + ended.err
        assert "maintenance off web: nothing to do: web is not in maintenance" in ended.out
        assert "maintenance off report: done" in ended.out

        expected = predicted("--switchover", "api", "n3")
        assert expected["api"] == ("n3", "failover")
        assert runtime.crg("switchover", "api", "n3").code == 0
        wait_until(lambda: placements() == expected, 30, f"the predicted {expected}")

        expected = predicted("--fail", "n1")
        assert expected["web"] == ("n2", "failover")
        crashed = runtime.crg("crash", "n1")
        assert crashed.code == 0, crashed.err
        # Right after the crash: n1 is suspect, what it hosted unknown — not normal/up.
        status = runtime.status()
        assert status["nodes"]["n1"] == "suspect"
        assert 0 < status["suspects"]["n1"] <= 1.0
        web = next(g for g in status["groups"] if g["group"] == "web")
        assert (web["mode"], web["app"]) == ("unknown", "unknown") and web["suspect"]
        shown = runtime.crg("status")
        assert "n1 suspect (lease runs out in" in shown.out
        wait_until(lambda: placements() == expected, 30, f"the predicted {expected}")
        assert runtime.status()["nodes"]["n1"] == "down"

        # With n2 down too, a switchover to it is refused at once: it is down; and so it
        # is with every node down (it used to wait out its timeout, "did not settle").
        for crashed, down in (("n2", {"n1", "n2"}), ("n3", {"n1", "n2", "n3"})):
            assert runtime.crg("crash", crashed).code == 0
            wait_until(lambda down=down: {n for n, s in runtime.status().get("nodes", {})
                                          .items() if s == "down"} == down, 20, f"{down} down")
            began = time.monotonic()
            refused = runtime.crg("switchover", "web", "n2", "--timeout", "60s")
            assert refused.code == ExitCode.REFUSED, refused.out + refused.err
            assert "switchover web n2: refused: n2 is down; it must be up" in refused.err
            assert time.monotonic() - began < 20
        assert runtime.crg("join", "n3").code == 0
        assert runtime.crg("join", "n1").code == 0
        assert runtime.crg("join", "n2").code == 0


PAIR = CLUSTER + """group pair {{
  vip {vip}/8
  app {{ start "sleep 600" }}
  monitor process every 200ms
  preferred n1
  possible n2
  failback manual
  alert command "sh -c 'echo $CRG_EVENT group=$CRG_GROUP node=$CRG_NODE >> {tmp}/alerts.txt'"
}}
"""


def test_a_group_with_no_node_left_alerts_once_per_episode(tmp_path: Path) -> None:
    # n1 and n2 are all pair's list has: with both down nobody can run it, and the first
    # node in contact with the store (n3, not in its list) says so — once per episode: n2's
    # return ends the first, its next crash begins another. Each node lost unannounced is
    # paged too, by the first node left, and its return ends that page.
    setup = scenario(tmp_path, "pair.crg", PAIR, ("pair",), tmp=tmp_path)
    alerts = tmp_path / "alerts.txt"

    def said(kinds: tuple[str, ...] = ("alert", "stranded")) -> list[str]:
        lines = alerts.read_text().splitlines() if alerts.exists() else []
        return [line for line in lines if line.split(" ", 1)[0] in kinds]

    def paged() -> list[str]:
        return said(("runtime-alert", "runtime-alert-over"))

    with crg_run(setup) as runtime:
        wait_until(lambda: at(runtime, "pair", "n1", "normal", "up"), 40, "pair up on n1")
        assert runtime.crg("crash", "n1").code == 0
        wait_until(lambda: at(runtime, "pair", "n2", "failover", "up"), 30, "pair on n2")
        wait_until(lambda: paged() == ["runtime-alert group= node=n1"], 20, "n1 lost, paged")
        [lost] = runtime.events_written("runtime-alert", 1)
        assert (lost["node"], lost["by"], lost["action"]) == ("n1", "n2", "node-lost")
        assert runtime.crg("crash", "n2").code == 0
        wait_until(lambda: "stranded group=pair node=n3" in said(), 30, "the stranded alert")
        pair = runtime.group("pair")
        assert (pair["mode"], pair["node"], pair["stranded_alerted"]) == ("down", None, True)
        table = runtime.crg("status")
        row = next(line for line in table.out.splitlines() if line.startswith("pair "))
        assert "no node left" in row and "enabled" not in row, table.out
        assert "pair: no node of its list left (n1 down, n2 down)" in table.out
        [stranded] = runtime.events_written("stranded", 1)
        assert stranded["node"] == "n3" and "no node left to run on" in stranded["reason"]

        # n2's return ends the episode in the transaction that registers it
        assert runtime.crg("join", "n2").code == 0
        wait_until(lambda: at(runtime, "pair", "n2", "failover", "up"), 30, "pair back on n2")
        assert runtime.group("pair")["stranded_alerted"] is False
        assert runtime.crg("crash", "n2").code == 0
        wait_until(lambda: said().count("stranded group=pair node=n3") == 2, 30,
                   "the second episode's alert")
        assert runtime.crg("join", "n1").code == 0
        wait_until(lambda: at(runtime, "pair", "n1", "normal", "up"), 30, "pair back on n1")
        wait_until(lambda: len(said()) >= 5, 10, "n1's last-node alert")  # == 5: below
        assert said() == ["alert group=pair node=n2", "stranded group=pair node=n3",
                          "alert group=pair node=n2", "stranded group=pair node=n3",
                          "alert group=pair node=n1"]
        # n2 lost twice (paged by n3, the first node left, each time), n1 back
        wait_until(lambda: len(paged()) >= 5, 10, "every node lost and back paged")
        assert sorted(paged()) == sorted(
            ["runtime-alert group= node=n1", "runtime-alert group= node=n2",
             "runtime-alert-over group= node=n2", "runtime-alert group= node=n2",
             "runtime-alert-over group= node=n1"])
    # Stopping the runtime drains every node: pair's service is down, but the operator who
    # stopped the cluster is not paged for it (the events file has it), and a drained node
    # that goes is not lost — nothing else is said.
    assert len(said()) == 5 and len(paged()) == 5


APART = CLUSTER + """defaults {{
  failback auto
  monitor process every 200ms
}}
group blue {{
  vip {blue}/8
  app {{ start "sleep 600" }}
  preferred n1
  possible n2, n3
}}
group green {{
  vip {green}/8
  app {{ start "sleep 600" }}
  preferred n2
  possible n3, n1
  avoid blue
}}
"""


def test_a_switchover_onto_a_group_that_avoids_it_moves_that_group_away(
        tmp_path: Path) -> None:
    # The runtime runs the spec's placement with what a group reads of the groups it
    # avoids: blue, sent to green's node by an operator, stays there (its target is in
    # force), so green moves to its next free node instead of sharing n2 with blue.
    setup = scenario(tmp_path, "apart.crg", APART, ("blue", "green"))
    with crg_run(setup) as runtime:
        wait_until(lambda: at(runtime, "blue", "n1", "normal", "up")
                   and at(runtime, "green", "n2", "normal", "up"), 40, "both at home")
        moved = runtime.crg("switchover", "blue", "n2", "--timeout", "60s")
        assert moved.code == ExitCode.OK, moved.out + moved.err
        # The command says so: green moved too (an outside tester's finding: it named
        # blue alone).
        assert "  green: failover on n3, application up (moved too: it was on n2)" \
            in moved.out.splitlines(), moved.out
        wait_until(lambda: at(runtime, "blue", "n2", "failover", "up")
                   and at(runtime, "green", "n3", "failover", "up"), 30,
                   "blue on n2, green moved on to n3")


def test_a_hangup_is_logged_and_changes_nothing(tmp_path: Path) -> None:
    # By default SIGHUP ends a process at once: crg run would leave every application
    # running, unmanaged, when its terminal closed or an operator expected a reload.
    setup = flaky(tmp_path)
    with crg_run(setup) as runtime:
        wait_until(lambda: at(runtime, "job", "n1", "normal", "up"), 40, "job up on n1")
        pid = runtime.group("job")["pid"]
        runtime.process.send_signal(signal.SIGHUP)
        wait_until(lambda: "SIGHUP ignored: crg run does not reload its configuration"
                   in runtime.log(), 10, "the hangup logged")
        assert runtime.process.poll() is None, "still running"
        job = runtime.group("job")
        assert (job["pid"], job["app"]) == (pid, "up") and psutil.pid_exists(pid)
    # crg_run then stops it with SIGTERM: exit 0, nothing left behind, the trace conforms.


SLOW = CLUSTER + """group job {{
  vip {vip}/8
  app {{
    start "sleep 600" timeout 60s
    stop signal TERM timeout 2s
  }}
  monitor exec "test -f {tmp}/ready" every 200ms
  preferred n1
  possible n2, n3
  failback manual
}}
"""


def test_a_command_whose_client_went_away_is_never_taken(tmp_path: Path) -> None:
    # job starts until the file `ready` exists: a switchover to n2 waits for it to come
    # to rest. Its client goes away meanwhile (Ctrl-C): the command is refused then, not
    # taken for nobody once job is at rest (it was, up to --timeout later).
    setup = scenario(tmp_path, "job.crg", SLOW, ("job",), tmp=tmp_path)
    with crg_run(setup) as runtime:
        wait_until(lambda: runtime.group("job").get("app") == "starting", 30, "job starting")
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
            client.connect(str(setup.run_dir / SOCKET))
            client.sendall(json.dumps({"op": "switchover", "args": ["job", "n2"],
                                       "wait": True, "timeout": 60}).encode() + b"\n")
        refused = runtime.events_written("command", 1, within_s=30)
        assert [(c["args"], c["result"]) for c in refused] == [(["job", "n2"], "refused")]
        assert "its client went away" in refused[0]["reason"]
        (tmp_path / "ready").touch()
        wait_until(lambda: runtime.group("job").get("app") == "up", 30, "job at rest")
        assert runtime.group("job")["node"] == "n1"
        assert len(runtime.events("command")) == 1
        assert "command switchover job n2 from" in runtime.log()


def test_a_runtime_killed_while_a_command_waits_is_said_so(tmp_path: Path) -> None:
    # maintenance on waits for job, still starting, to come to rest; the runtime is killed
    # meanwhile. The client must say that the runtime closed the connection unanswered
    # (exit 2), not that its answer "is not JSON".
    setup = scenario(tmp_path, "job.crg", SLOW, ("job",), tmp=tmp_path)
    where = ("--run-dir", str(setup.run_dir))
    runtime = subprocess.Popen([sys.executable, "-m", "crg", "run", str(setup.path), *where],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        listening = Runtime(setup, runtime)
        wait_until(lambda: listening.group("job").get("app") == "starting", 40,
                   "job starting")
        client = subprocess.Popen(
            [sys.executable, "-m", "crg", "maintenance", "on", "job", "--timeout", "60s",
             *where], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        socket_path = str(setup.run_dir / SOCKET)
        # The listener and the client's accepted connection: the request is with it.
        wait_until(lambda: sum(c.laddr == socket_path for c in
                               psutil.Process(runtime.pid).net_connections("unix")) >= 2,
                   30, "the runtime holds the client's connection")
        runtime.kill()
        out, err = client.communicate(timeout=30)
    finally:
        stop_runtime(runtime)
    assert client.returncode == ExitCode.BAD_INPUT, err
    assert out == ""
    assert err == (f"crg: error: the runtime at {socket_path} closed the connection before "
                   "it answered: it stopped or was killed meanwhile; whether maintenance on "
                   "was taken before is not known: crg status says where the groups are "
                   "once a runtime runs\n")


def test_every_operator_commands_mistake_says_which_command(tmp_path: Path) -> None:
    """``crg switchover wb n2`` said "switchover wb n2: unknown group 'wb'", but ``crg
    cleanup wb`` only "unknown group 'wb'" and ``crg crash n9`` "unknown node 'n9'":
    every error of an operator command now starts with the command, as typed."""
    with crg_run(quickstart(tmp_path)) as runtime:
        # every agent started (the control socket answers before they are)
        wait_until(lambda: all(g["mode"] == "normal" and g["app"] == "up"
                               for g in runtime.status().get("groups", [{"mode": "?"}])),
                   40, "every group up")
        for argv, said in (
                (("cleanup", "wb"), "unknown group 'wb'; did you mean web?"),
                (("cleanup", "web", "n9"), "unknown node 'n9'"),
                (("switchover", "wb", "n2"), "unknown group 'wb'; did you mean web?"),
                (("drain", "n9"), "unknown node 'n9'"),
                (("undrain", "n9"), "unknown node 'n9'"),
                (("offline", "wb"), "unknown group 'wb'"),
                (("online", "wb"), "unknown group 'wb'"),
                (("clear", "wb"), "unknown group 'wb'"),
                (("maintenance", "on", "wb"), "unknown group 'wb'"),
                (("crash", "n9"), "unknown node 'n9'"),
                (("join", "n9"), "unknown node 'n9'"),
                (("join", "n1"), "n1 is up; only a crashed node can join")):
            answer = runtime.crg(*argv)
            assert answer.code == ExitCode.BAD_INPUT, (argv, answer)
            assert answer.err.startswith(f"crg: error: {' '.join(argv)}: {said}"), \
                (argv, answer.err)
            assert answer.out == "" and "Traceback" not in answer.err


def test_an_answer_that_cannot_be_printed_says_what_the_runtime_did(tmp_path: Path) -> None:
    """``crg switchover api n3 > /dev/full`` said only "cannot write standard output"
    (exit 2), as if it had failed: the runtime had moved api all the same, and an
    operator who gave the command again did not know it."""
    with crg_run(quickstart(tmp_path)) as runtime:
        wait_until(lambda: all(g["mode"] == "normal" and g["app"] == "up"
                               for g in runtime.status().get("groups", [{"mode": "?"}])),
                   40, "every group up")
        with open("/dev/full", "w", encoding="utf-8") as full:
            moved = subprocess.run(
                [sys.executable, "-m", "crg", "switchover", "api", "n3", *runtime.where],
                stdout=full, stderr=subprocess.PIPE, text=True, timeout=90, check=False)
        assert moved.returncode == ExitCode.BAD_INPUT, moved.stderr
        assert moved.stderr.splitlines()[-1] == (
            "crg: error: cannot write standard output: No space left on device; the runtime "
            "carried out switchover api n3 all the same: do not give it again; crg status "
            "shows where the groups are")
        assert runtime.group("api")["node"] == "n3"
        # A refusal is said on standard error: a full standard output loses nothing of it.
        with open("/dev/full", "w", encoding="utf-8") as full:
            refused = subprocess.run(
                [sys.executable, "-m", "crg", "switchover", "report", "n2", *runtime.where],
                stdout=full, stderr=subprocess.PIPE, text=True, timeout=90, check=False)
        assert refused.returncode == ExitCode.REFUSED, refused.stderr
        assert refused.stderr.startswith("switchover report n2: refused: n2 is not a "
                                         "candidate of report"), refused.stderr
        assert "crg: error" not in refused.stderr
        # With no standard output at all (>&-), the refusal is said, and then that nothing
        # was changed.
        err = io.StringIO()
        with contextlib.redirect_stdout(None), contextlib.redirect_stderr(err):
            code = main(["switchover", "report", "n2", *runtime.where])
        assert code == ExitCode.BAD_INPUT
        said = err.getvalue().splitlines()
        assert len(said) == 2 and said[0].startswith("switchover report n2: refused: "), said
        assert said[1] == (
            "crg: error: cannot write standard output: it is closed; the runtime refused "
            "switchover report n2 all the same (its reason is above): nothing was changed")


def test_a_command_of_which_some_groups_were_taken_is_not_refused() -> None:
    # crg maintenance on a b, a already in maintenance: b went in, a was refused. Exit 5
    # says that nothing was changed; a script would not take b out again.
    from crg.commands._client import RESULT_CODES
    from crg.runtime.operator import Answer

    def result(*outcomes: str) -> str:
        return Answer(results=[{"command": f"c{i}", "result": r, "reason": None}
                               for i, r in enumerate(outcomes)]).result

    assert RESULT_CODES[result("refused", "done")] == ExitCode.UNFINISHED
    assert RESULT_CODES[result("done", "refused", "accepted")] == ExitCode.UNFINISHED
    assert RESULT_CODES[result("refused", "unsettled")] == ExitCode.UNFINISHED
    assert RESULT_CODES[result("refused", "refused")] == ExitCode.REFUSED
    assert RESULT_CODES[result("done", "done")] == ExitCode.OK
    assert RESULT_CODES[result()] == ExitCode.REFUSED
