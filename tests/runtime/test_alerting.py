"""Runtime alerts reach the operator's alert sinks, not only the events file (README,
"Alerts"): about a group, its sinks; about a node as a whole, the sinks of the groups
that may run there, a shared sink once."""

from __future__ import annotations

import asyncio
import errno
import json
import random
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from cli_runtime import crg_run
from runtime_helpers import (
    CLUSTERS,
    FAST_CLUSTER,
    RECORD_ALERT,
    SLEEPER,
    FlakyDriver,
    Setup,
    StubbornDriver,
    eventually,
    free_vip,
    placement,
    run,
    running,
    two_nodes,
    wait_until,
    written,
)

from crg.dsl import parse
from crg.dsl.model import Sink, SinkKind
from crg.runtime import alerting
from crg.runtime.address.loopback import LoopbackDriver
from crg.runtime.drivers import process, sinks
from crg.runtime.drivers.sinks import EventLog
from crg.runtime.embedded import EmbeddedCluster
from crg.runtime.machine import NO_NODE_LEFT
from crg.runtime.status import notes

pytestmark = pytest.mark.timeout(90)

SHARED = """cluster c {
  nodes n1 n2 n3
}
group a {
  vip 10.0.0.1/8
  app { start "a" }
  monitor process every 1s
  preferred n1
  possible n2
  alert log
  alert command "page {group}"
}
group b {
  vip 10.0.0.2/8
  app { start "b" }
  monitor process every 1s
  preferred n2
  possible n1
  alert command "page {group}"
  alert webhook "https://pager.example/b"
}
group c {
  vip 10.0.0.3/8
  app { start "c" }
  monitor process every 1s
  preferred n3
  possible n2
  alert log
}
"""


def test_a_node_alert_goes_to_the_sinks_of_the_groups_that_may_run_there_once_each() -> None:
    groups = {g.name: g for g in parse(SHARED, "shared.crg").groups}
    about_n1 = [(sink.kind.value, sink.target, by)
                for sink, by in alerting.sinks_for(groups, None, "n1")]
    # c cannot run on n1; a and b share the command sink: it is paged once.
    assert about_n1 == [("log", None, "a"), ("command", "page {group}", "a"),
                        ("webhook", "https://pager.example/b", "b")]
    about_b = [(sink.kind.value, by) for sink, by in alerting.sinks_for(groups, "b", "n1")]
    assert about_b == [("command", "b"), ("webhook", "b")], "a group's alert: its own sinks"


def alert_lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


def test_a_step_that_keeps_failing_pages_the_group_once_per_episode(tmp_path: Path) -> None:
    """acquire-vip fails once, release-vip twice (one episode): the group's alert command
    hears of each episode once, as a runtime-alert, and of its end, as a
    runtime-alert-over, and each delivery is recorded; its ``log`` sink is left out (the
    log has the runtime alert already)."""
    setup = two_nodes(tmp_path, SLEEPER, alert=RECORD_ALERT + "\n  alert log")
    paged = ["runtime-alert group=job node=n1", "runtime-alert-over group=job node=n1"] * 2

    async def body() -> None:
        async with running(setup, FlakyDriver()) as cluster:
            await eventually(lambda: placement(cluster, "job") == ("n1", "normal", "up"), 15,
                             "job up on n1 after a failed acquire-vip")
            await cluster.operate("switchover", ("job", "n2"))
            await eventually(lambda: placement(cluster, "job") == ("n2", "failover", "up"),
                             15, "job up on n2 after two failed release-vip")
            await eventually(lambda: len(alert_lines(setup.alerts)) >= len(paged), 15,
                             "both episodes paged, and their ends")
            delivered = [(r["alert"], r["group"], r["sink"]) for r in written(cluster)
                         if r["event"] == "alert-delivered"]
            assert sorted(delivered) == sorted([("runtime-alert", "job", "command"),
                                                ("runtime-alert-over", "job", "command")] * 2)
            over = [r for r in written(cluster) if r["event"] == "runtime-alert-over"]
            assert [r["action"] for r in over] == ["acquire-vip", "release-vip"]
            assert "works again (it failed: cannot delete" in over[1]["reason"]

    run(body())
    assert sorted(alert_lines(setup.alerts)) == sorted(paged)


async def _crash_n1_blind(cluster: EmbeddedCluster, monkeypatch: pytest.MonkeyPatch) -> str:
    """Once job runs on n1, crash n1 while the process table cannot be read (out of
    descriptors: made real in test_supervision; here it fails as it does then)."""
    await eventually(lambda: placement(cluster, "job") == ("n1", "normal", "up"), 15,
                     "job up on n1")

    def short_of_descriptors() -> list[object]:
        raise process.ProcessTableUnreadable(
            errno.EMFILE, "cannot read the process table: Too many open files", "/proc")

    with monkeypatch.context() as patch:
        patch.setattr(process, "marked", short_of_descriptors)
        return await cluster.crash("n1")


def test_a_crash_that_cannot_look_for_escaped_processes_pages_the_node_groups(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Out of descriptors at the moment of a crash, the processes that left their group
    cannot be looked for: what was started is killed all the same, and the operator is
    paged with where to look (the runtime cannot repair it, so it must not only log it).
    The shortage itself is made real in test_supervision; here the process table fails
    as it does then."""
    setup = two_nodes(tmp_path, SLEEPER)

    async def body() -> None:
        async with running(setup) as cluster:
            said = await _crash_n1_blind(cluster, monkeypatch)
            assert "1 process group(s) killed" in said
            await eventually(lambda: alert_lines(setup.alerts) != [], 15, "the page")
            kill = [r for r in written(cluster)
                    if r["event"] == "runtime-alert" and r["action"] == "kill-strays"]
            assert len(kill) == 1 and kill[0]["group"] is None and kill[0]["node"] == "n1"
            assert "could not look for processes that escaped them (cannot read the " \
                   "process table: Too many open files)" in kill[0]["reason"]
            assert f"CRG_RUN_DIR={setup.run_dir.resolve()} and CRG_RUN_NODE=n1" \
                in kill[0]["reason"]
            await eventually(lambda: placement(cluster, "job") == ("n2", "failover", "up"),
                             20, "job failed over to n2")

    run(body())
    # The page, n1's loss (paged by n2), and the last-node alert of job, now on n2 with
    # nowhere else to go.
    assert sorted(alert_lines(setup.alerts)) == [
        "alert group=job node=n2", "runtime-alert group= node=n1",
        "runtime-alert group= node=n1"]


def test_the_page_of_a_crash_is_not_cut_off_by_a_shutdown_right_after(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The crash's own page (processes it could not look for) is sent by the crashed
    node's machine, which is no agent's any more: a shutdown right after waited only for
    the running agents' alerts, and cut that one off."""
    slow = ("alert command \"sh -c 'if [ $CRG_ACTION = kill-strays ]; then sleep 2; fi; "
            "echo $CRG_EVENT $CRG_ACTION node=$CRG_NODE >> {alerts}'\"")
    setup = two_nodes(tmp_path, SLEEPER, alert=slow)

    async def body() -> None:
        async with running(setup) as cluster:
            await _crash_n1_blind(cluster, monkeypatch)
            assert alert_lines(setup.alerts) == []  # still on its way: shut down now

    run(body())
    assert "runtime-alert kill-strays node=n1" in alert_lines(setup.alerts), \
        alert_lines(setup.alerts)


def test_crg_status_says_which_step_keeps_failing_until_it_works(tmp_path: Path) -> None:
    setup = two_nodes(tmp_path, SLEEPER)
    driver = StubbornDriver()

    async def troubles(cluster: EmbeddedCluster) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = (await cluster.status())["groups"][0]["troubles"]
        return found

    async def body() -> None:
        async with running(setup, driver) as cluster:
            async def failing() -> bool:
                return bool(await troubles(cluster))

            await eventually(failing, 15, "the failing step in crg status")
            found = await troubles(cluster)
            assert [(t["node"], t["action"]) for t in found] == [("n1", "acquire-vip")]
            assert "Operation not permitted" in found[0]["reason"]
            assert "job: acquire-vip failing on n1 since " in "\n".join(
                notes(await cluster.status()))
            driver.failing = False
            await eventually(lambda: placement(cluster, "job") == ("n1", "normal", "up"), 15,
                             "job up on n1 once the address can be added")
            assert await troubles(cluster) == []

    run(body())


def test_a_failing_alert_sink_is_a_trouble_told_to_the_other_sinks_until_it_works(
        tmp_path: Path) -> None:
    """A pager that hears nothing must not look like a cluster with nothing to say: an
    alert sink whose delivery fails is a runtime alert about that sink on the node (told
    to the other sinks once, shown by crg status) until a delivery to it works — one
    episode, though both the group's alert and the node's loss failed there."""
    flag = tmp_path / "pager-up"
    failing = f"alert command \"sh -c 'test -e {flag}'\""
    setup = two_nodes(tmp_path, SLEEPER, alert=RECORD_ALERT + "\n  " + failing)
    sink = f"alert sink command sh -c 'test -e {flag}'"

    async def troubles(cluster: EmbeddedCluster) -> list[tuple[str, str]]:
        status = await cluster.status()
        assert status["groups"][0]["troubles"] == [], "the sink's, not the group's"
        return [(t["node"], t["action"]) for t in status["troubles"]]

    async def body() -> None:
        async with running(setup) as cluster:
            await eventually(lambda: placement(cluster, "job") == ("n1", "normal", "up"), 15,
                             "job up on n1")
            await cluster.crash("n2")  # job on its last node: the last-node alert

            async def failing() -> bool:
                return await troubles(cluster) == [("n1", sink)]

            await eventually(failing, 15, "the failing sink in crg status")
            assert f"n1: {sink} failing since " in "\n".join(
                notes(await cluster.status()))
            flag.touch()
            await cluster.join("n2")
            await eventually(lambda: placement(cluster, "job") == ("n1", "normal", "up"), 15,
                             "job back to normal with n2 back")
            await cluster.crash("n2")  # a new episode: this time the sink takes it

            async def works() -> bool:
                return await troubles(cluster) == []

            await eventually(works, 15, "the sink's trouble over")
            # n2's loss is paged too (a node alert, to the sinks of the groups that may run
            # there: the failing one failed it as well, the same trouble), and n2's return
            # ends that page (the events file is written by a thread: waited for)
            expected = sorted([("", "node-lost"), ("", sink)])

            def ended() -> list[tuple[str, str]]:
                return sorted((r["group"] or "", r["action"]) for r in written(cluster)
                              if r["event"] == "runtime-alert-over")

            await eventually(lambda: all(e in ended() for e in expected), 10,
                             f"the episodes {expected} over")
            # The failing sink's trouble about job may be over before the new episode's
            # last-node alert (a delivery of its own page, under way when the flag was
            # made, works): that alert is waited for, to both sinks, before the stop.
            def last_node_alerts() -> int:
                return sum(1 for r in written(cluster)
                           if r["event"] == "alert-delivered" and r["alert"] == "alert")

            await eventually(lambda: last_node_alerts() == 3, 15,
                             "the second last-node alert delivered to both sinks")
            # Exactly those: a sink that failed once more (n2's crash killed n1's sink
            # paging n2's return, CRG_NODE=n2, before crashes went by CRG_RUN_NODE) would
            # be an episode more.
            assert ended() == expected


    run(body())
    lines = alert_lines(setup.alerts)
    assert lines.count("runtime-alert group= node=n1") == 1, lines
    assert lines.count("runtime-alert-over group= node=n1") == 1, lines
    assert lines.count("alert group=job node=n1") == 2, lines


SLOW_SINK = """#!/bin/sh
# An alert sink that takes its time: it says it started, waits (bounded) for {go}, then
# says it finished; a sink killed meanwhile never says so.
echo "started $CRG_EVENT $CRG_ACTION node=$CRG_NODE pid=$$" >> {log}
i=0
while [ ! -e {go} ] && [ $i -lt 600 ]; do sleep 0.05; i=$((i+1)); done
echo "finished $CRG_EVENT $CRG_ACTION node=$CRG_NODE pid=$$" >> {log}
"""


def test_a_crash_of_one_node_never_kills_an_alert_sink_another_node_runs(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """n1 pages n2's loss and its return: the sink command runs on n1, told about n2
    (``CRG_NODE=n2``). n2 crashing again while it runs must not take it down: a crash
    kills what the crashed node's agent started, nothing of another's."""
    log_file, go = tmp_path / "sink.log", tmp_path / "go"
    script = tmp_path / "slow-sink.sh"
    script.write_text(SLOW_SINK.format(log=log_file, go=go))
    setup = two_nodes(tmp_path, SLEEPER, alert=f"alert command \"sh {script}\"")
    # The sinks wait for the test, not for their time limit.
    monkeypatch.setattr(sinks, "COMMAND_TIMEOUT_S", 60.0)

    def lines(word: str) -> list[str]:
        return [line.removeprefix(word + " ") for line in alert_lines(log_file)
                if line.startswith(word + " ")]

    async def body() -> None:
        async with running(setup) as cluster:
            try:
                await eventually(lambda: placement(cluster, "job") == ("n1", "normal", "up"),
                                 15, "job up on n1")
                await cluster.crash("n2")
                await eventually(lambda: any(s.startswith("runtime-alert node-lost node=n2")
                                             for s in lines("started")), 15,
                                 "n1's sink paging n2's loss running")
                await cluster.join("n2")
                await eventually(
                    lambda: any(s.startswith("runtime-alert-over node-lost node=n2")
                                for s in lines("started")), 15,
                    "n1's sink paging n2's return running")
                in_flight = lines("started")
                assert lines("finished") == [], "the sinks wait for the go"
                await cluster.crash("n2")  # n1's sinks about n2 are still running
            finally:
                go.touch()
            await eventually(lambda: all(s in lines("finished") for s in in_flight), 15,
                             f"n1's sinks {in_flight} finished")
            failed = [r for r in written(cluster) if r["event"] == "alert-failed"]
            assert failed == [], failed

    run(body())


class SlowWebhook:
    """A webhook on 127.0.0.1 that answers a node's loss (``runtime-alert``,
    ``node-lost``) only once the test releases it — a pager slow to take it — and every
    other alert at once; with ``status``, each time."""

    def __init__(self, status: int = 204) -> None:
        self.release = threading.Event()
        self.holding = threading.Event()
        self.answered: list[tuple[str, float]] = []
        """(what, when: monotonic) of each slow request answered."""
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                slow = body.get("event") == "runtime-alert" and body.get("action") == "node-lost"
                if slow:
                    hook.holding.set()
                    hook.release.wait(30.0)  # bounded: a test that failed lets go anyway
                    # noted as it is answered, before the answer goes out: noted after, it
                    # came later than the stop it let return (the suite failed on that)
                    hook.answered.append((f"node-lost {body['node']}", time.monotonic()))
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/page"

    def __enter__(self) -> SlowWebhook:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def slow_webhook() -> Iterator[SlowWebhook]:
    with SlowWebhook() as hook:
        yield hook


def test_an_orderly_stop_lets_an_alert_under_way_reach_its_webhook(
        tmp_path: Path, slow_webhook: SlowWebhook) -> None:
    """n2 is lost and n1 pages it; the pager is slow, and the runtime is stopped (Ctrl-C)
    meanwhile. The stop used to cancel the page with the agent's other background work:
    the webhook held a request nobody waited for, and the loss was never told. An orderly
    stop lets the alerts under way finish (bounded) before it returns."""
    setup = two_nodes(tmp_path, SLEEPER, alert=f'alert webhook "{slow_webhook.url}"')
    events = EventLog(setup.events)

    async def body() -> None:
        cluster = EmbeddedCluster(setup.config, run_dir=setup.run_dir,
                                  address=LoopbackDriver(), events=events)
        await cluster.start()
        stopping: asyncio.Task[bool] | None = None
        try:
            await eventually(lambda: placement(cluster, "job") == ("n1", "normal", "up"), 15,
                             "job up on n1")
            n1 = cluster.agents["n1"]
            await cluster.crash("n2")
            await eventually(slow_webhook.holding.is_set, 15,
                             "n1's page of n2's loss at the webhook")
            stopping = asyncio.create_task(cluster.shutdown())
            # n1's agent halted: the stop is past the point where it cancelled the page.
            await eventually(lambda: not n1.started, 15, "n1's agent halted")
            assert slow_webhook.answered == [], "the page is still at the webhook"
            slow_webhook.release.set()
            assert await stopping, "the groups halted in order"
            stopped = time.monotonic()
        finally:
            slow_webhook.release.set()
            await (stopping if stopping is not None else cluster.shutdown())
            events.close()
        # (A drain slower than the webhook's 5 s time limit would have it sent again: a
        # second request, answered too; the delivery is still one. On a loaded machine
        # the webhook may answer a request the runtime gave up after the stop returned:
        # what counts is that one was answered before.)
        assert {what for what, _ in slow_webhook.answered} == {"node-lost n2"}
        assert any(when < stopped for _, when in slow_webhook.answered), \
            "answered before the stop returned"

    run(body())
    records = [json.loads(line) for line in setup.events.read_text().splitlines()]
    told = [(r["alert"], r["node"], r["sink"]) for r in records
            if r["event"] in ("alert-delivered", "alert-failed")
            and r["alert"] == "runtime-alert"]
    assert told == [("runtime-alert", "n1", "webhook")], told
    assert any(r["event"] == "alert-delivered" and r["alert"] == "runtime-alert"
               for r in records), "the page was delivered, not failed"


def test_a_failed_delivery_about_another_node_names_both(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """n2 pages n1's loss and the pager refuses it: the warning and the event name the
    sender and the node the alert is about — it read "n2: runtime-alert of node n2 not
    delivered", as if n2 were in trouble; an alert about the sender itself reads as
    before."""
    events = EventLog()
    supervisor = process.Supervisor("c", "n2", tmp_path / "logs")

    async def body(url: str) -> None:
        sink = Sink(SinkKind.WEBHOOK, url)
        lost = {"event": "runtime-alert", "group": None, "node": "n1", "action": "node-lost",
                "reason": "n1 left the cluster", "by": "n2"}
        own = {**lost, "node": "n2", "action": "store"}
        for payload in (lost, own):
            await alerting.send(events, supervisor, "n2", sink, payload, {})

    with SlowWebhook(status=400) as refusing, caplog.at_level("WARNING", logger="crg"):
        refusing.release.set()
        run(body(refusing.url))
    said = [r.getMessage().split(": webhook")[0] for r in caplog.records
            if "not delivered" in r.getMessage()]
    assert said == ["n2: runtime-alert node-lost about node n1 not delivered",
                    "n2: runtime-alert of node n2 not delivered"], said
    failed = [(r["node"], r.get("about")) for r in events.records
              if r["event"] == "alert-failed"]
    assert failed == [("n2", "n1"), ("n2", None)], failed


class RefusingWebhook:
    """A webhook on 127.0.0.1 that answers every alert 500, and notes what it was sent."""

    def __init__(self) -> None:
        self.posted: list[dict[str, Any]] = []
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                hook.posted.append(json.loads(
                    self.rfile.read(int(self.headers["Content-Length"]))))
                self.send_response(500)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://user:secret@127.0.0.1:{self.server.server_port}/500?token=t"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_a_failing_alert_sink_is_not_paged_about_itself(tmp_path: Path) -> None:
    """The tester's pager at /500 got a runtime-alert "alert sink webhook
    http://***@.../500?***" about itself, three attempts each time: a failing sink is
    told to the *other* sinks, and its trouble's end too, never to itself."""
    webhook = RefusingWebhook()
    setup = two_nodes(tmp_path, SLEEPER,
                      alert=RECORD_ALERT + f'\n  alert webhook "{webhook.url}"')
    action = f"alert sink webhook http://***@127.0.0.1:{webhook.server.server_port}/500?***"

    async def body() -> None:
        async with running(setup) as cluster:
            await eventually(lambda: placement(cluster, "job") == ("n1", "normal", "up"), 15,
                             "job up on n1")
            await cluster.crash("n2")  # the last-node alert, and n2's loss: both fail there

            def told() -> list[str]:
                return [r["sink"] for r in written(cluster)
                        if r["event"] == "alert-delivered" and r["alert"] == "runtime-alert"
                        and r["group"] is None and r.get("about") is None]

            await eventually(lambda: told() == ["command"], 30,
                             "the failing webhook told to the command sink")
            await eventually(lambda: sum(1 for r in written(cluster)
                                         if r["event"] == "alert-failed") >= 2, 30,
                             "the last-node alert and the loss of n2 failed at the webhook")
            assert [r["action"] for r in written(cluster) if r["event"] == "runtime-alert"
                    and str(r["action"]).startswith("alert sink")] == [action], \
                "the sink as the tester saw it, once"

    try:
        run(body())
    finally:
        webhook.close()
    troubles = [r for r in webhook.posted if str(r.get("action", "")).startswith("alert sink")]
    assert troubles == [], troubles
    assert {(r["event"], r.get("action")) for r in webhook.posted} == {
        ("alert", None), ("runtime-alert", "node-lost")}, webhook.posted
    # a node's loss names its cluster as a group's alert does (one pager, many clusters)
    assert {r.get("cluster") for r in webhook.posted} == {setup.name}, webhook.posted
    lines = alert_lines(setup.alerts)
    assert lines.count("runtime-alert group= node=n1") == 1, lines


def test_a_cluster_alert_goes_to_every_group_s_sinks_once_each() -> None:
    """About no node (the embedded runtime with none left): every group's sinks, c's
    too though it never runs on n1, and the shared command once."""
    groups = {g.name: g for g in parse(SHARED, "shared.crg").groups}
    about_cluster = [(sink.kind.value, sink.target, by)
                     for sink, by in alerting.sinks_for(groups, None, None)]
    assert about_cluster == [("log", None, "a"), ("command", "page {group}", "a"),
                             ("webhook", "https://pager.example/b", "b")]
    lonely = parse(SHARED.replace("  possible n2\n  alert log\n}",
                                  "  possible n2\n  alert command \"page c\"\n}"), "x.crg")
    sinks = alerting.sinks_for({g.name: g for g in lonely.groups}, None, None)
    assert ("page c", "c") in [(sink.target, by) for sink, by in sinks]


NOBODY_LEFT = FAST_CLUSTER + """group job {{
  vip {job}/8
  app {{
{app}
    stop signal TERM timeout 2s
  }}
  monitor process every 200ms fails 2
  preferred n1
  possible n2
  alert log
  {record}
}}
group solo {{
  vip {solo}/8
  app {{
{app}
    stop signal TERM timeout 2s
  }}
  monitor process every 200ms fails 2
  preferred n1
  alert log
  {record}
  alert command "sh -c 'echo $CRG_EVENT $CRG_ACTION >> {solo_file}'"
}}
"""
"""Two groups sharing a command sink, each with a log sink; solo also pages a sink of
its own and can run on n1 only: a page about n2 as a node would never reach it."""

NO_NODE_RECORD = ("alert command \"sh -c 'echo $CRG_EVENT $CRG_ACTION node=$CRG_NODE "
                  ">> {alerts}'\"")


def test_the_embedded_runtime_pages_when_its_last_node_crashed_until_one_joins(
        tmp_path: Path) -> None:
    """``crg crash n1; crg crash n2`` within a second: no node is left to commit a spec
    alert (the stranded alert is a step some live node takes), so the runtime pages it
    itself, to every group's sinks (the shared one once; the log has it once, not again
    for each ``log`` sink), and the next ``crg join`` ends the episode; the orderly stop
    after pages nothing of it. A real ``crg run``."""
    name = f"nn{uuid.uuid4().hex[:8]}"
    CLUSTERS.append(name)
    rng = random.Random(uuid.uuid4().int)
    vips = {"job": free_vip(rng), "solo": free_vip(rng)}
    alerts, solo_file = tmp_path / "alerts.txt", tmp_path / "solo.txt"
    text = NOBODY_LEFT.format(name=name, app=SLEEPER, record=NO_NODE_RECORD.format(
        alerts=alerts), solo_file=solo_file, **vips)
    path = tmp_path / "nobody.crg"
    path.write_text(text)
    setup = Setup(path, parse(text, str(path)), name, vips, tmp_path / "hooks.txt", alerts,
                  tmp_path / "trace.jsonl", tmp_path / "events.jsonl", tmp_path / "run")

    def paged(event: str) -> bool:
        return (event in [line.split()[0] for line in of_no_node(alert_lines(alerts))]
                and event in [line.split()[0] for line in of_no_node(alert_lines(solo_file))])

    with crg_run(setup) as runtime:
        wait_until(lambda: {g["group"]: g["node"] for g in runtime.status()["groups"]}
                   == {"job": "n1", "solo": "n1"}, 30, "both groups up on n1")
        assert runtime.crg("crash", "n1").code == 0
        assert runtime.crg("crash", "n2").code == 0
        wait_until(lambda: paged("runtime-alert"), 20, "no node left paged to both sinks")
        wait_until(lambda: len(of_action(runtime.events("runtime-alert"))) == 1, 10,
                   "its event written")
        raised = of_action(runtime.events("runtime-alert"))
        assert len(raised) == 1 and raised[0]["group"] is None and raised[0]["node"] is None
        assert f"every node of cluster {name} has crashed (n1, n2)" in raised[0]["reason"]
        assert "crg join NODE" in raised[0]["reason"]
        assert of_no_node(alert_lines(alerts)) == ["runtime-alert no-node-left node="]
        # crg status says it too: no agent is left to show a trouble of its own
        assert runtime.status()["no_node_left"]["since"] > 0
        table = runtime.crg("status")
        assert "no-node-left since" in table.out and "crg join NODE" in table.out, table.out
        assert runtime.crg("join", "n1").code == 0
        wait_until(lambda: paged("runtime-alert-over"), 20, "its end paged to both sinks")
        wait_until(lambda: len(of_action(runtime.events("runtime-alert-over"))) == 1, 10,
                   "its end's event written")
        over = of_action(runtime.events("runtime-alert-over"))
        assert len(over) == 1 and over[0]["reason"] == "n1 joined: a node runs the groups " \
            "again" and over[0]["since"]
        wait_until(lambda: runtime.group("solo").get("node") == "n1", 30, "solo back on n1")
        assert runtime.status()["no_node_left"] is None
        assert "no-node-left" not in runtime.crg("status").out
    for lines in (alert_lines(alerts), alert_lines(solo_file)):
        assert [line.split()[:2] for line in of_no_node(lines)] == [
            ["runtime-alert", NO_NODE_LEFT], ["runtime-alert-over", NO_NODE_LEFT]], lines
    # The log says it once, for itself: not again through solo's and job's log sinks.
    assert len([line for line in runtime.log().splitlines()
                if f"{NO_NODE_LEFT}: every node" in line]) == 1


def test_an_orderly_stop_of_every_node_is_not_paged_as_no_node_left(tmp_path: Path) -> None:
    """SIGTERM drains and halts every node: that leaves no agent either, on purpose."""
    setup = two_nodes(tmp_path, SLEEPER, alert=NO_NODE_RECORD)
    with crg_run(setup) as runtime:
        wait_until(lambda: runtime.group("job").get("node") == "n1", 30, "job up on n1")
    assert of_action(runtime.events("runtime-alert")) == []
    assert of_no_node(alert_lines(setup.alerts)) == []


def of_no_node(lines: list[str]) -> list[str]:
    return [line for line in lines if NO_NODE_LEFT in line]


def of_action(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for e in events if e.get("action") == NO_NODE_LEFT]
