"""Service events reach every subscribed group in order, or the gap is told — never a
silent loss (README, "Service events and hooks"). Each receiving group has its own
queue and its own delivery task: a hook slower than the old 16-event window loses
nothing, a hook that never returns (killed at its time limit) delays only its own group,
and a queue that overflows is reported by the sender and by the receiver, with the
missing numbers."""

from __future__ import annotations

import contextlib
import json
import random
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from runtime_helpers import (
    FAST_CLUSTER,
    Setup,
    eventually,
    free_vip,
    placement,
    run,
    running,
)

from crg.dsl import parse
from crg.runtime import hooks, notices
from crg.runtime.drivers import sinks
from crg.runtime.embedded import EmbeddedCluster

pytestmark = pytest.mark.timeout(150)

RECORD = "echo $CRG_SOURCE_GROUP $CRG_SEQ $CRG_EVENT >> {out}"
WAIT_FOR_GO = ("if [ $CRG_SEQ = 1 ]; then n=0; while [ ! -e {go} ] && [ $n -lt 1200 ]; "
               "do sleep 0.05; n=$((n+1)); done; fi; " + RECORD)
"""On the first event, wait (up to a minute) until the test says go."""
NEVER_RETURNS = RECORD + "; sleep 1000"

CONFIG = FAST_CLUSTER + """
defaults {{
  app {{
    start "python3 -c 'import time; time.sleep(600)'"
    stop signal TERM timeout 2s
  }}
  monitor process every 200ms fails 2
  notify none
}}
group src {{
  vip {vip0}/8
  preferred n1
  possible n2
  notify {receivers}
}}
{groups}
"""

RECEIVER = """
group {name} {{
  vip {vip}/8
  preferred n2
  possible n1
  hook command "sh -c '{script}'"
}}
"""


def cluster_setup(tmp: Path, hooks: dict[str, str]) -> Setup:
    """``src`` on n1 sending to one group per hook script, all on n2: one node delivers
    to all of them."""
    rng = random.Random(uuid.uuid4().int)
    name = f"dl{uuid.uuid4().hex[:8]}"
    receivers = ""
    for group, script in hooks.items():
        text = script.format(out=tmp / f"{group}.txt", go=tmp / "go")
        receivers += RECEIVER.format(name=group, vip=free_vip(rng), script=text)
    text = CONFIG.format(name=name, vip0=free_vip(rng), receivers=", ".join(hooks),
                         groups=receivers)
    path = tmp / "delivery.crg"
    path.write_text(text)
    return Setup(path, parse(text, str(path)), name, {}, tmp / "hooks.txt",
                 tmp / "alerts.txt", tmp / "trace.jsonl", tmp / "events.jsonl", tmp / "run")


def received(tmp: Path, group: str) -> list[tuple[str, int, str]]:
    path = tmp / f"{group}.txt"
    lines = path.read_text().splitlines() if path.exists() else []
    return [(source, int(seq), event) for source, seq, event in map(str.split, lines)]


def sent(cluster: EmbeddedCluster) -> list[tuple[str, int, str]]:
    return [(str(r["group"]), int(r["seq"]), str(r["event"]))
            for r in cluster.services.events.records if r["event"] in
            ("service-up", "service-down") and r["group"] == "src"]


async def all_up(cluster: EmbeddedCluster) -> None:
    for group in ("src", *[g.name for g in cluster.config.groups if g.name != "src"]):
        await eventually(lambda g=group: placement(cluster, g)[2] == "up", 30, f"{group} up")


async def flip(cluster: EmbeddedCluster, rounds: int) -> None:
    """Offline, then online again: a service-down and a service-up of ``src`` each."""
    for _ in range(rounds):
        await cluster.operate("offline", ("src",))
        await cluster.operate("online", ("src",))
    await eventually(lambda: placement(cluster, "src") == ("n1", "normal", "up"), 30,
                     "src back up")


def alerts(cluster: EmbeddedCluster, action: str) -> list[dict[str, Any]]:
    return [r for r in cluster.services.events.records
            if r["event"] == "runtime-alert" and str(r["action"]).startswith(action)]


def test_a_hook_slower_than_the_old_window_gets_every_event_in_order(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sinks, "COMMAND_TIMEOUT_S", 90.0)  # the slow hook is not killed
    setup = cluster_setup(tmp_path, {"slow": WAIT_FOR_GO, "fast": RECORD})

    async def body() -> None:
        async with running(setup) as cluster:
            await all_up(cluster)
            await flip(cluster, 12)  # 25 events of src: more than 16
            expected = sent(cluster)
            assert len(expected) == 25
            # Delivered to fast while slow's hook still hangs on the first: in parallel.
            await eventually(lambda: received(tmp_path, "fast") == expected, 20,
                             "fast got every event")
            assert received(tmp_path, "slow") == []
            (tmp_path / "go").touch()
            await eventually(lambda: received(tmp_path, "slow") == expected, 30,
                             "slow got every event, in order")
            assert alerts(cluster, "receive-events") == alerts(cluster, "drop-events") == []

    run(body(), 140)


def test_a_hook_that_never_returns_delays_only_its_own_group(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sinks, "COMMAND_TIMEOUT_S", 2.0)
    monkeypatch.setattr(hooks, "RETRY_FOR_S", 0.0)  # one try an event: killed, given up
    setup = cluster_setup(tmp_path, {"stuck": NEVER_RETURNS, "fast": RECORD})

    async def body() -> None:
        async with running(setup) as cluster:
            await all_up(cluster)
            await flip(cluster, 2)
            expected = sent(cluster)
            assert len(expected) == 5
            await eventually(lambda: received(tmp_path, "fast") == expected, 10,
                             "fast got every event")
            assert len(received(tmp_path, "stuck")) < len(expected), (
                "fast did not wait for stuck's hooks (two seconds each)")
            await eventually(lambda: received(tmp_path, "stuck") == expected, 30,
                             "stuck got every event, each killed after its time limit")
            await eventually(lambda: len([r for r in cluster.services.events.records
                                          if r["event"] == "received"
                                          and r["group"] == "stuck"]) == 5, 10,
                             "stuck acknowledged every event")
            hooks = [r["hooks"][0] for r in cluster.services.events.records
                     if r["event"] == "received" and r["group"] == "stuck"]
            assert all(not h["ok"] and "did not finish within 2 s" in h["detail"]
                       for h in hooks)

    run(body(), 140)


def test_an_overflowing_queue_is_told_by_the_sender_and_the_receiver(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sinks, "COMMAND_TIMEOUT_S", 90.0)
    monkeypatch.setattr(notices, "QUEUE_LIMIT", 4)
    setup = cluster_setup(tmp_path, {"blocked": WAIT_FOR_GO, "fast": RECORD})

    async def body() -> None:
        async with running(setup) as cluster:
            await all_up(cluster)
            await flip(cluster, 5)  # 11 events; blocked holds on to the first
            expected = sent(cluster)
            await eventually(lambda: received(tmp_path, "fast") == expected, 20,
                             "fast got every event: its queue keeps up")
            dropped = alerts(cluster, "drop-events")
            assert len(dropped) == 1, "the sender tells once per episode"
            assert dropped[0]["group"] == "blocked" and "dropped" in str(dropped[0]["reason"])
            (tmp_path / "go").touch()
            await eventually(lambda: bool(received(tmp_path, "blocked"))
                             and received(tmp_path, "blocked")[-1] == expected[-1], 30,
                             "blocked got the events that were left")
            got = [seq for _, seq, _ in received(tmp_path, "blocked")]
            assert got == sorted(got) and got[0] == 1, "in order, from the first"
            missed = [r["missed"] for r in cluster.services.events.records
                      if r["event"] == "received" and r.get("missed")]
            assert len(missed) == 1, "one gap"
            first, last = missed[0]
            assert got == [1, *range(last + 1, len(expected) + 1)] and first == 2
            told = alerts(cluster, "receive-events")
            assert len(told) == 1 and f"{first} to {last}" in str(told[0]["reason"])
            # The sender's account is the receiver's: the one under way was not dropped.
            assert dropped_by_sender(cluster, "blocked") == list(range(first, last + 1))

    run(body(), 140)


def dropped_by_sender(cluster: EmbeddedCluster, receiver: str) -> list[int]:
    """The events of ``src`` its steps said they dropped before ``receiver`` got them."""
    out: list[int] = []
    for r in cluster.services.events.records:
        if r["event"] in ("service-up", "service-down") and receiver in r.get("dropped", {}):
            first, last = r["dropped"][receiver]
            out.extend(range(first, last + 1))
    return sorted(out)


STARTED_THEN_WAIT = ("echo $CRG_SEQ >> {started}; if [ $CRG_SEQ -le 2 ]; then n=0; "
                     "while [ ! -e {go}$CRG_SEQ ] && [ $n -lt 1200 ]; do sleep 0.05; "
                     "n=$((n+1)); done; fi; " + RECORD)
"""Says each event it starts; on events 1 and 2, waits (up to a minute) for go1, go2."""


def test_events_dropped_while_a_hook_runs_are_the_ones_the_receiver_misses(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The tester's sender said "bounce's service event(s) 2 were dropped", then 3, 4...
    while the receiver's hook ran for 2 (under way) and then for 3 to 6 (read before
    they were dropped): both accounts must agree. The receiver's owner holds events 2 to
    5 in hand, stuck on 2, when the sender overflows."""
    monkeypatch.setattr(sinks, "COMMAND_TIMEOUT_S", 90.0)
    monkeypatch.setattr(notices, "QUEUE_LIMIT", 6)
    started = tmp_path / "started.txt"
    setup = cluster_setup(tmp_path, {"slow": STARTED_THEN_WAIT.replace(
        "{started}", str(started))})

    def begun() -> list[int]:
        return [int(x) for x in started.read_text().split()] if started.exists() else []

    async def body() -> None:
        async with running(setup) as cluster:
            await all_up(cluster)
            await flip(cluster, 2)  # events 1 to 5, slow stuck on 1
            assert len(sent(cluster)) == 5
            (tmp_path / "go1").touch()
            await eventually(lambda: begun() == [1, 2], 20, "slow's hook under way for 2")
            await flip(cluster, 5)  # events 6 to 15: the sender drops 3 to 9
            expected = sent(cluster)
            assert len(expected) == 15
            assert dropped_by_sender(cluster, "slow") == list(range(3, 10))
            (tmp_path / "go2").touch()
            await eventually(lambda: bool(received(tmp_path, "slow"))
                             and received(tmp_path, "slow")[-1] == expected[-1], 30,
                             "slow got the events that were left")
            got = [seq for _, seq, _ in received(tmp_path, "slow")]
            assert got == [1, 2, *range(10, 16)], "none the sender said it dropped"
            missed = [r["missed"] for r in cluster.services.events.records
                      if r["event"] == "received" and r.get("missed")]
            assert missed == [[3, 9]]
            told = alerts(cluster, "receive-events")
            assert len(told) == 1 and "3 to 9" in str(told[0]["reason"])

    run(body(), 140)


@contextlib.contextmanager
def receiver_down() -> Iterator[tuple[str, threading.Event, list[dict[str, Any]], list[int]]]:
    """A hook webhook on 127.0.0.1 that answers 503 until the test sets its event (its
    receiver restarting), then takes each event: (its URL, that event, what it took, the
    count of requests it refused)."""
    up, took, refused = threading.Event(), [], [0]

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            if up.is_set():
                took.append(body)
            else:
                refused[0] += 1
            self.send_response(204 if up.is_set() else 503)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/hook", up, took, refused
    finally:
        server.shutdown()
        server.server_close()


def test_a_failing_hook_webhook_is_tried_again_and_paged_until_it_works(
        tmp_path: Path) -> None:
    """An outside tester's hook webhook that failed was not tried again: the service
    event was acknowledged with ``ok: false``, its receiver never got it, and nobody was
    paged (a failing alert sink is). Delivery is at least once: the event waits, is tried
    again until the receiver is back, and the failing hook is one runtime alert to the
    group's alert sinks, over once it works."""
    pages = tmp_path / "pages.txt"
    with receiver_down() as (url, up, took, refused):
        setup = cluster_setup(tmp_path, {"web": RECORD})
        hook = f"hook command \"sh -c '{RECORD.format(out=tmp_path / 'web.txt')}'\""
        text = setup.path.read_text()
        assert hook in text
        text = text.replace(hook, f'hook webhook "{url}"\n  alert command "sh -c \'echo '
                            f'$CRG_EVENT $CRG_GROUP $CRG_ACTION >> {pages}\'"')
        setup.path.write_text(text)
        setup = Setup(setup.path, parse(text, str(setup.path)), setup.name, {}, setup.hooks,
                      setup.alerts, setup.trace, setup.events, setup.run_dir)
        action = f"hook sink webhook {url}"

        def paged() -> list[str]:
            return pages.read_text().splitlines() if pages.exists() else []

        async def body() -> None:
            async with running(setup) as cluster:
                await all_up(cluster)
                await eventually(lambda: f"runtime-alert web {action}" in paged(), 20,
                                 "the failing hook paged to web's alert sink")
                # Tried again (a webhook's try is 3 attempts): still one alert.
                await eventually(lambda: refused[0] >= 6, 20, "a second try")
                assert len(alerts(cluster, "hook sink")) == 1, "once per episode"
                assert not [r for r in cluster.services.events.records
                            if r["event"] == "received" and r["group"] == "web"], \
                    "nothing acknowledged while the hook fails"
                up.set()  # the receiver is back
                expected = sent(cluster)
                await eventually(lambda: [(b["source_group"], b["seq"], b["event"])
                                          for b in took] == expected, 30,
                                 "the receiver got every event, in order")
                await eventually(lambda: f"runtime-alert-over web {action}" in paged(), 20,
                                 "its end paged")
                assert len(alerts(cluster, "hook sink")) == 1
                first = next(r for r in cluster.services.events.records
                             if r["event"] == "received" and r["group"] == "web")
                assert first["hooks"][0]["ok"] is True

        run(body(), 120)
