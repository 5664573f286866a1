"""``crg run --node`` end to end on the namespace LAN: one agent per node namespace, a real
etcd, real VIPs (Linux driver), real application servers, a client in its own namespace.

The cluster (tests/integration/hosts.py): ``web`` (failover, n1 then n2, n3, manual
failback), ``db`` (an instance on n1, offline mode on n2, automatic failback) and
``report`` (IPv6, n3 then n1). Every scenario runs on a fresh test bed with the VIP
sampler watching all three VIPs every 20 ms: any wait fails the test as soon as a VIP has
had two holders. After each: the services answer again from the client namespace, the
events and alerts the failure calls for were emitted exactly once (the agents' ``--events``
files), and every node's trace passes ``crg conform``.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from etcd_server import etcd_available
from hosts import VIPS, ClientLoad, Hosts, config_text, probe, until
from netbed import NetBed, pids_in, unavailable_reason
from prometheus_client.parser import text_string_to_metric_families
from sampler import Sampler

from crg.runtime.machine import STORE_CUT

pytestmark = [pytest.mark.root, pytest.mark.timeout(150)]

SETTLED = {"web": ("n1", "normal", "up"), "db": ("n1", "normal", "up"),
           "report": ("n3", "normal", "up")}
AFTER_N1 = {"web": ("n2", "failover", "up"), "db": ("n2", "offline", "down"),
            "report": ("n3", "normal", "up")}
"""Where the groups go when n1 is gone: web fails over, db's VIP is held offline on its
last node, report stays (but has lost its standby)."""
OBSERVE_S = 0.5
"""After the expected events came, how long no further one may come."""
MOVE_S = 15.0
"""Bound on a takeover: the lease (2 s) runs out, then claim, VIP, start, monitors."""


@dataclass
class Cluster:
    bed: NetBed
    hosts: Hosts
    sampler: Sampler

    def placement(self, node: str = "n2") -> dict[str, tuple[str | None, str, str]] | None:
        return self.hosts.placement(node)

    def wait_placement(self, want: dict[str, tuple[str | None, str, str]], what: str,
                       node: str = "n2", timeout_s: float = MOVE_S) -> float:
        return until(lambda: self.placement(node) == want, timeout_s, what,
                     sampler=self.sampler, hosts=self.hosts)

    def wait_serving(self, groups: tuple[str, ...] = ("web", "db", "report"),
                     timeout_s: float = MOVE_S) -> float:
        return until(lambda: all(probe(self.bed, g) == "200" for g in groups), timeout_s,
                     f"{', '.join(groups)} answering from the client",
                     sampler=self.sampler, hosts=self.hosts)

    def holders(self, group: str) -> frozenset[str]:
        return self.sampler.holders(VIPS[group])


@contextlib.contextmanager
def cluster(tmp_path: Path, etcd_members: int = 1, lease: str = "2s",
            http: bool = False, text: str | None = None) -> Iterator[Cluster]:
    """A running, settled cluster (``http``: each agent with its HTTP endpoint; ``text``:
    another configuration than the scenarios' own, settling as it does); torn down (every
    namespace and process) however the test ends."""
    reason = unavailable_reason() or (None if etcd_available() else
                                      "needs Debian's etcd-server (/usr/bin/etcd)")
    if reason is not None:
        pytest.skip(reason)
    bed = NetBed(tmp_path, etcd_members=etcd_members)
    sampler: Sampler | None = None
    try:
        bed.create().start_etcd()
        hosts = Hosts(bed, tmp_path, lease=lease, http=http, text=text)
        sampler = Sampler({n: bed.ns(n) for n in bed.nodes}, tuple(VIPS.values())).start()
        hosts.start_all()
        c = Cluster(bed, hosts, sampler)
        c.wait_placement(SETTLED, "the groups settled on their preferred nodes", "n1", 40)
        # Every agent past its start-up, so that a scenario never races one.
        for node in c.bed.nodes:
            until(lambda node=node: (c.hosts.status(node) or {}).get("agent") == "running",
                  20, f"{node}'s agent running", sampler=c.sampler, hosts=c.hosts)
        c.wait_serving()
        yield c
        sampler.assert_never_double()
    finally:
        if sampler is not None:
            sampler.stop()
        bed.destroy()


# -- what the agents said ------------------------------------------------------------


def service_events(events: list[dict[str, Any]]) -> dict[str, list[tuple[str, str]]]:
    """group → [(service-up|service-down, sending node)] in the group's own order (its
    event numbers); each number must occur once across all the nodes' files."""
    by_group: dict[str, dict[int, tuple[str, str]]] = {}
    for e in events:
        if e["event"] in ("service-up", "service-down"):
            seen = by_group.setdefault(e["group"], {})
            assert e["seq"] not in seen, f"{e['group']} event {e['seq']} emitted twice"
            seen[e["seq"]] = (e["event"].removeprefix("service-"), e["node"])
    return {g: [seen[s] for s in sorted(seen)] for g, seen in by_group.items()}


def counted(events: list[dict[str, Any]], kind: str) -> Counter[tuple[str, str]]:
    return Counter((e["group"], e["node"]) for e in events if e["event"] == kind)


def lost_nodes(events: list[dict[str, Any]]) -> Counter[tuple[str, str]]:
    """(runtime-alert | runtime-alert-over, node) of the pages of nodes lost unannounced."""
    return Counter((e["event"], e["node"]) for e in events if e.get("action") == "node-lost")


def check_events(c: Cluster, mark: dict[str, int],
                 service: dict[str, list[tuple[str, str]]],
                 alerts: dict[tuple[str, str], int],
                 faults: dict[tuple[str, str], int] | None = None,
                 lost: tuple[str, ...] = (), back: tuple[str, ...] = ()) -> None:
    """The service events, alerts and faults since ``mark`` are exactly these, and the
    nodes paged as ``lost`` and as ``back`` (once each, whichever host said it): waited
    for (bounded, the last step may still be on its way), then looked at again after an
    observation window in which nothing more may come. No other runtime alert but that
    of a node in ``lost`` cut off from the store, from that node."""
    def now() -> tuple[object, ...]:
        events = c.hosts.events(mark)
        return (service_events(events), counted(events, "alert"), counted(events, "fault"),
                lost_nodes(events))

    pages = Counter([("runtime-alert", n) for n in lost]
                    + [("runtime-alert-over", n) for n in back])
    want = (service, Counter(alerts), Counter(faults or {}), pages)
    with contextlib.suppress(AssertionError):
        until(lambda: now() == want, 5.0, "the events", sampler=c.sampler)
    time.sleep(OBSERVE_S)
    events = c.hosts.events(mark)
    assert now() == want, events
    # A node cut off from the store says so itself (it may be the only one able to).
    assert not [e for e in events if e["event"] == "runtime-alert"
                and e.get("action") != "node-lost"
                and not (e.get("action") == STORE_CUT and e["node"] in lost)], events


def check_conform(hosts: Hosts) -> None:
    result = hosts.conform()
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count(": conforms") == len(hosts.traces), result.stdout


def vip_gone_before_taken(sampler: Sampler, vip: str, old: str, new: str,
                          since: float) -> tuple[float, float]:
    """(when ``old`` stopped holding ``vip``, when ``new`` started, both after ``since``):
    the handover order."""
    # The sampler polls on its own thread: on a loaded machine it may not have recorded
    # the new holder yet when the cluster already serves there.
    until(lambda: any(new in s.holders[vip] for s in sampler.changes if s.at >= since), 10.0,
          f"the sampler saw {new} hold {vip}")
    after = [s for s in sampler.changes if s.at >= since]
    gone = next(s.at for s in after if old not in s.holders[vip])
    taken = next(s.at for s in after if new in s.holders[vip])
    assert gone <= taken, f"{new} took {vip} before {old} let go"
    return gone, taken


def claimed_at(hosts: Hosts, node: str, group: str, after: float) -> float:
    """When (time.time()) ``node`` claimed ``group`` after ``after``, as its trace says: the
    claim is committed before the VIP is added, so no address of it can be older. Read
    off the trace, not the sampler, whose thread may not sample for a second on a loaded
    machine and then sees the old holder go and the new one come at once."""
    found: list[float] = []

    def recorded() -> bool:
        for trace in hosts.traces:
            with contextlib.suppress(FileNotFoundError):
                for line in trace.read_text().splitlines()[1:]:
                    step = json.loads(line)
                    if (step.get("action"), step.get("group"), step.get("node")) == (
                            "claim", group, node):
                        at = datetime.strptime(step["time"], "%Y-%m-%dT%H:%M:%S.%fZ")
                        stamp = at.replace(tzinfo=UTC).timestamp()
                        if stamp >= after:
                            found.append(stamp)
        return bool(found)

    until(recorded, 10.0, f"{node}'s trace records its claim of {group}")
    return min(found)


# -- scenarios -----------------------------------------------------------------------


def test_application_crash_is_restarted_in_place(tmp_path: Path) -> None:
    with cluster(tmp_path) as c:
        status = c.hosts.status("n1")
        assert status is not None
        (web,) = [g for g in status["groups"] if g["group"] == "web"]
        mark = c.hosts.mark()
        os.killpg(web["pid"], signal.SIGKILL)
        # The restart budget (2 within 1m) keeps web on n1: halted and run again there.
        until(lambda: c.hosts.mark() != mark and c.placement() == SETTLED, MOVE_S,
              "web restarted on n1", sampler=c.sampler, hosts=c.hosts)
        c.wait_serving()
        assert c.holders("web") == {"n1"}
        check_events(c, mark, {"web": [("down", "n1"), ("up", "n1")]}, {},
                     {("web", "n1"): 1})
    check_conform(c.hosts)


def test_node_crash_moves_web_and_holds_db_offline(tmp_path: Path) -> None:
    with cluster(tmp_path) as c:
        # What-if from a live host first: the spec, from the store's state, predicts it.
        what_if = c.hosts.crg("simulate", "--live", "--fail", "n1", "--format", "json",
                              node="n2")
        assert what_if.returncode == 0, what_if.stdout + what_if.stderr
        final = json.loads(what_if.stdout)["final"]["placement"]
        assert {g: (p["node"], p["mode"], p["app"]) for g, p in final.items()} == AFTER_N1
        mark = c.hosts.mark()
        crashed = time.monotonic()
        c.bed.crash("n1")
        c.wait_placement(AFTER_N1, "n2 took web, and db in offline mode")
        moved = c.wait_serving(("web", "report"))
        assert moved - crashed < MOVE_S
        # Offline mode: db's VIP answers at once, with a refusal.
        assert probe(c.bed, "db") == "refused"
        assert c.holders("web") == c.holders("db") == {"n2"}
        check_events(c, mark,
                     {"web": [("down", "n2"), ("up", "n2")], "db": [("down", "n2")]},
                     {("db", "n2"): 1, ("report", "n3"): 1}, lost=("n1",))
    check_conform(c.hosts)


def test_agent_sigkill_the_watchdog_lets_go_before_the_lease_ends(tmp_path: Path) -> None:
    with cluster(tmp_path) as c:
        mark = c.hosts.mark()
        killed, killed_wall = time.monotonic(), time.time()
        c.hosts.kill("n1")
        # The fencing watchdog sees its agent's pipe close: it kills n1's applications
        # and removes its VIPs at once, long before the lease (2 s) can run out.
        gone = until(lambda: not c.holders("web") and not c.holders("db"), 1.0,
                     "n1's VIPs removed by its fencing watchdog", sampler=c.sampler,
                     period_s=0.005)
        gone_wall = time.time() - (time.monotonic() - gone)
        assert gone - killed < 1.0
        until(lambda: not pids_in(c.bed.ns("n1")), 2.0, "nothing left running on n1",
              sampler=c.sampler)
        c.wait_placement(AFTER_N1, "n2 took web, and db in offline mode")
        c.wait_serving(("web", "report"))
        for group in ("web", "db"):
            vip_gone_before_taken(c.sampler, VIPS[group], "n1", "n2", killed)
            # n2 waits for n1's lease to run out (2 s after its last renewal), well after
            # the watchdog removed n1's addresses (within 1 s of the kill).
            taken = claimed_at(c.hosts, "n2", group, killed_wall)
            assert taken - gone_wall > 0.5, f"{group} taken {taken - gone_wall:.2f} s after"
        # The agent comes back (a service manager restarts it): db fails back to n1,
        # web stays on n2 (manual failback).
        c.hosts.start("n1")
        c.wait_placement({**AFTER_N1, "db": ("n1", "normal", "up")},
                         "db back on n1 after the agent's restart")
        c.wait_serving()
        check_events(c, mark,
                     {"web": [("down", "n2"), ("up", "n2")],
                      "db": [("down", "n2"), ("up", "n1")]},
                     {("db", "n2"): 1, ("report", "n3"): 1}, lost=("n1",), back=("n1",))
    check_conform(c.hosts)


def test_partitioned_node_fences_itself_then_heals(tmp_path: Path) -> None:
    with cluster(tmp_path) as c:
        mark = c.hosts.mark()
        cut = time.monotonic()
        c.bed.cut("n1")
        # n1 runs on, cut off: it must let go before its lease (2 s) can run out.
        gone = until(lambda: not c.holders("web") and not c.holders("db"), 2.0,
                     "n1 fenced itself", sampler=c.sampler, period_s=0.01)
        assert gone - cut < 2.0
        c.wait_placement(AFTER_N1, "n2 took web, and db in offline mode")
        c.wait_serving(("web", "report"))
        assert probe(c.bed, "db") == "refused"
        for group in ("web", "db"):
            vip_gone_before_taken(c.sampler, VIPS[group], "n1", "n2", cut)
        fenced = [e for e in c.hosts.events(mark) if e["event"] == "fence"]
        assert {e["group"] for e in fenced} == {"web", "db"}, fenced
        # Healed: n1's lease ran out meanwhile, so it registers again; db fails back.
        c.bed.heal("n1")
        c.wait_placement({**AFTER_N1, "db": ("n1", "normal", "up")}, "db back on n1")
        c.wait_serving()
        check_events(c, mark,
                     {"web": [("down", "n2"), ("up", "n2")],
                      "db": [("down", "n2"), ("up", "n1")]},
                     {("db", "n2"): 1, ("report", "n3"): 1}, lost=("n1",), back=("n1",))
    check_conform(c.hosts)
    kinds = [line for t in c.hosts.traces if "-n1-" in t.name for line in t.read_text()
             .splitlines()]
    for kind in ('"fence"', '"expire"', '"heal"'):
        assert any(kind in line for line in kinds), f"no {kind} step in n1's trace"


def test_etcd_leader_death_moves_nothing(tmp_path: Path) -> None:
    # The lease must outlast an election: lease - fence-margin - heartbeat (3.25 s here)
    # against up to 2 x etcd's election timeout (1 s, etcd's default). With a 2 s lease
    # every node fences itself during the election (README, "Running on several hosts").
    with cluster(tmp_path, etcd_members=3, lease="4s") as c:
        etcd = c.bed.etcd
        assert etcd is not None
        leader = etcd.leader()
        assert leader is not None
        mark = c.hosts.mark()
        changes = len(c.sampler.changes)
        with ClientLoad(c.bed, "web") as load:
            etcd.kill(leader)
            until(lambda: (new := etcd.leader()) is not None and new is not leader, 10,
                  "a new etcd leader", sampler=c.sampler)
            time.sleep(4.0)  # a lease's worth: nobody may have fenced or taken over
        assert c.placement() == SETTLED
        assert len(c.sampler.changes) == changes, "a VIP moved"
        failed = [o for _, o in load.outcomes if o != "200"]
        assert load.outcomes and not failed, f"{len(failed)} requests failed: {failed[:5]}"
        c.wait_serving()
        events = c.hosts.events(mark)
        assert not [e for e in events if e["event"] not in ("received",)], events
    check_conform(c.hosts)


def test_switchover_under_client_load(tmp_path: Path) -> None:
    with cluster(tmp_path) as c:
        mark = c.hosts.mark()
        with ClientLoad(c.bed, "web") as load:
            time.sleep(0.3)
            answer = c.hosts.crg("switchover", "web", "n2", node="n1")
            assert answer.returncode == 0, answer.stderr
            c.wait_placement({**SETTLED, "web": ("n2", "failover", "up")}, "web on n2")
            c.wait_serving(("web",))
            time.sleep(0.3)
        outcomes = [o for _, o in load.outcomes]
        assert outcomes[0] == "200" and outcomes[-1] == "200"
        outage = load.longest_outage()
        assert outage < 5.0, f"web did not answer for {outage:.2f} s"
        check_events(c, mark, {"web": [("down", "n1"), ("up", "n2")]}, {})
        # Stopping one agent drains only its own node: report moves to n1, in order, and
        # n3 is left with nothing running.
        mark = c.hosts.mark()
        assert c.hosts.stop(("n3",)) == {"n3": 0}
        assert not pids_in(c.bed.ns("n3"))
        c.wait_placement({"web": ("n2", "failover", "up"), "db": ("n1", "normal", "up"),
                          "report": ("n1", "failover", "up")}, "report on n1")
        c.wait_serving()
        check_events(c, mark,
                     {"report": [("down", "n3"), ("up", "n1")]}, {("report", "n1"): 1})
    check_conform(c.hosts)


def test_a_switchover_onto_a_group_that_avoids_it_moves_that_group_away(
        tmp_path: Path) -> None:
    # report avoids web: web switched over to report's node n3, report (failback auto)
    # moves to its free standby n1, as the spec's placement says, with real VIPs and etcd;
    # crg clear withdraws web's target and web (failback manual) stays.
    plain = config_text("itest")
    text = plain.replace("  possible n1\n  failback auto\n",
                         "  possible n1\n  failback auto\n  avoid web\n")
    assert text != plain
    with cluster(tmp_path, text=text) as c:
        mark = c.hosts.mark()
        answer = c.hosts.crg("switchover", "web", "n3", node="n1")
        assert answer.returncode == 0, answer.stderr
        apart = {"web": ("n3", "failover", "up"), "db": ("n1", "normal", "up"),
                 "report": ("n1", "failover", "up")}
        c.wait_placement(apart, "web on n3, report moved away to n1")
        c.wait_serving()
        check_events(c, mark, {"web": [("down", "n1"), ("up", "n3")],
                               "report": [("down", "n3"), ("up", "n1")]}, {})
        assert c.hosts.status("n2")["groups"][0]["target"] == "n3"
        cleared = c.hosts.crg("clear", "web", node="n2")
        assert cleared.returncode == 0, cleared.stderr
        assert "clear web: done" in cleared.stdout
        assert c.placement() == apart, "failback manual: nothing moves"
        assert c.hosts.status("n2")["groups"][0]["target"] is None
    check_conform(c.hosts)


def test_maintenance_holds_a_failure_on_its_host_until_it_ends(tmp_path: Path) -> None:
    """Given on one host, a maintenance holds on another: web's application killed on n1
    is reported and held — nothing restarts, nothing moves, the VIP stays — until the
    maintenance ends; then the monitors still say so, and n1 restarts it."""
    with cluster(tmp_path) as c:
        def web(node: str = "n1") -> dict[str, Any]:
            status = c.hosts.status(node) or {"groups": []}
            return next((g for g in status["groups"] if g["group"] == "web"), {})

        on = c.hosts.crg("maintenance", "on", "web", node="n2")
        assert on.returncode == 0, on.stdout + on.stderr
        assert "maintenance on web: done" in on.stdout
        until(lambda: bool(web().get("maintenance")), 10, "n1 sees web in maintenance",
              sampler=c.sampler, hosts=c.hosts)
        first = web()["pid"]
        assert isinstance(first, int)
        os.killpg(first, signal.SIGKILL)
        until(lambda: web().get("app") == "failed", 15, "the failure reported and held",
              sampler=c.sampler, hosts=c.hosts)
        assert web()["reported"]["node"] == "n1" and web()["node"] == "n1"
        assert web("n2")["maintenance"] and web("n2")["node"] == "n1"
        assert web()["pid"] is None and web()["restarts"]["used"] == 0, "nothing restarted"
        off = c.hosts.crg("maintenance", "off", "web", node="n1")
        assert off.returncode == 0, off.stdout + off.stderr
        assert "web: normal on n1, application up" in off.stdout
        until(lambda: web().get("pid") not in (None, first), 10, "n1 restarted web",
              sampler=c.sampler, hosts=c.hosts)
        assert web()["restarts"]["used"] == 1
        c.wait_serving(("web",))
        # The restart used is cleared from a third host (one cleanup, on n1, its owner).
        cleaned = c.hosts.crg("cleanup", "web", node="n3")
        assert cleaned.returncode == 0, cleaned.stdout + cleaned.stderr
        assert "cleanup web n1: done" in cleaned.stdout
        until(lambda: web().get("restarts", {}).get("used") == 0, 10, "n1 sees it cleared",
              sampler=c.sampler, hosts=c.hosts)
        assert c.placement() == SETTLED
    check_conform(c.hosts)


# -- the HTTP endpoints ------------------------------------------------------------------


def metric(c: Cluster, at: str, name: str, **labels: str) -> float | None:
    """One sample of ``at``'s /metrics, parsed by prometheus_client as a scraper would."""
    answer = c.hosts.endpoint(at, "/metrics")
    if answer is None or answer[0] != 200:
        return None
    for family in text_string_to_metric_families(answer[1]):
        for sample in family.samples:
            if sample.name == name and sample.labels == labels:
                return float(sample.value)
    return None


def group_codes(c: Cluster, group: str) -> dict[str, int | None]:
    """``/groups/GROUP``'s status on each node, from the client (None: no answer)."""
    return {n: (a[0] if (a := c.hosts.endpoint(n, f"/groups/{group}")) else None)
            for n in c.bed.nodes}


def test_http_endpoints_for_load_balancers_and_prometheus(tmp_path: Path) -> None:
    """Each agent with --http on its own address: /metrics has the group gauges;
    /groups/web answers 200 on exactly the node serving web, through a partition (the
    cut-off node's /health goes 503 while its lease is lost) and a crash."""
    with cluster(tmp_path, http=True) as c:
        for node in c.bed.nodes:
            answer = c.hosts.endpoint(node, "/health")
            assert answer is not None and answer[0] == 200, (node, answer)
        assert metric(c, "n2", "crg_group_mode", group="web", mode="normal") == 1
        assert metric(c, "n2", "crg_group_mode", group="web", mode="failover") == 0
        assert metric(c, "n3", "crg_group_holder", group="web", node="n1") == 1
        assert metric(c, "n3", "crg_group_app_up", group="report") == 1
        assert metric(c, "n1", "crg_lease_renew_seconds_count") > 0  # type: ignore[operator]
        assert group_codes(c, "web") == {"n1": 200, "n2": 503, "n3": 503}
        assert group_codes(c, "db") == {"n1": 200, "n2": 503, "n3": 503}
        assert (c.hosts.endpoint("n1", "/groups/nope") or (0, ""))[0] == 404

        # n1 is cut off: its lease is lost, it fences itself and says so on /health
        # (asked from inside n1: the client cannot reach it now); n2 serves web.
        c.bed.cut("n1")
        until(lambda: (c.hosts.endpoint("n1", "/health", via="n1") or (0, ""))[0] == 503,
              5, "n1's /health 503 while cut off", sampler=c.sampler, hosts=c.hosts)
        c.wait_placement(AFTER_N1, "n2 took web, and db in offline mode")
        until(lambda: group_codes(c, "web") == {"n1": None, "n2": 200, "n3": 503}, 10,
              "/groups/web 200 on n2 only", sampler=c.sampler, hosts=c.hosts)
        assert group_codes(c, "db")["n2"] == 503, "offline mode serves nobody"
        assert (c.hosts.endpoint("n1", "/groups/web", via="n1") or (0, ""))[0] == 503
        assert metric(c, "n2", "crg_group_failovers_total", group="web") == 1
        c.bed.heal("n1")
        until(lambda: (c.hosts.endpoint("n1", "/health") or (0, ""))[0] == 200, 20,
              "n1 healthy again", sampler=c.sampler, hosts=c.hosts)

        # n2 crashes: web goes back to n1, the first of its list; n3 still says no.
        c.wait_placement({**AFTER_N1, "db": ("n1", "normal", "up")}, "db back on n1",
                         node="n3")
        c.bed.crash("n2")
        c.wait_placement(SETTLED, "web back on n1 after n2 crashed", node="n3")
        until(lambda: group_codes(c, "web") == {"n1": 200, "n2": None, "n3": 503}, 10,
              "/groups/web 200 on n1 only", sampler=c.sampler, hosts=c.hosts)
        assert metric(c, "n3", "crg_node_status", node="n2", status="down") == 1
