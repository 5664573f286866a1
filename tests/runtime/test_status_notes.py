"""The lines under ``crg status``'s table (runtime/status.py ``notes``): what a group has
more to say, in words — read off the status document, so tested on documents."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from crg.runtime.node_watch import reset_mark
from crg.runtime.records import Keys
from crg.runtime.status import nodes_line, notes, store_reset_line
from crg.runtime.store.memory import MemoryStore

AT = time.mktime((2026, 12, 2, 12, 3, 4, 0, 0, -1))


def group(**fields: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {"group": "web", "node": "n1", "target": None, "banned": [],
                             "restarts": {"used": 0, "budget": 2, "window_ends": None},
                             "last_fault": None, "reported": None, "maintenance": False}
    entry.update(fields)
    return entry


def test_a_group_with_nothing_to_say_has_no_line() -> None:
    assert notes({"groups": [group()]}) == []


def test_restarts_used_bans_and_the_last_fault() -> None:
    web = group(restarts={"used": 1, "budget": 2, "window_ends": AT},
                banned=[{"node": "n2", "until": AT}], target="n2",
                last_fault={"time": AT - 60, "node": "n2", "reason": "it exited"})
    assert notes({"groups": [web]}) == [
        "web: switchover to n2 pending; banned on n2 until 12:03:04 (crg cleanup web clears "
        "it); 1 of 2 restarts used, forgiven at 12:03:04; last fault at 12:02:04 on n2: it "
        "exited"]


def test_bans_on_several_nodes_say_they_end_together() -> None:
    # one restart window per group: a tester read one end time for bans set 12 s apart
    # as a slip of the display
    web = group(banned=[{"node": "n1", "until": AT}, {"node": "n2", "until": AT}])
    assert notes({"groups": [web]}) == [
        "web: banned on n1, n2 until 12:03:04, all at once, the restart window of its last "
        "fault (crg cleanup web clears it)"]


def test_a_budget_of_one_restart_reads_as_one() -> None:
    web = group(restarts={"used": 1, "budget": 1, "window_ends": None},
                last_fault={"time": AT, "node": None, "reason": None})
    assert notes({"groups": [web]}) == ["web: 1 of 1 restart used; last fault at 12:03:04"]


def test_a_switchover_in_force_says_how_to_withdraw_it() -> None:
    assert notes({"groups": [group(node="n2", target="n2")]}) == [
        "web: kept on n2 by a switchover (crg clear web withdraws it)"]


def test_a_group_with_no_node_left_says_what_each_of_its_nodes_is() -> None:
    web = group(node=None, mode="down", candidates=["n1", "n2", "n3"])
    status = {"groups": [web], "nodes": {"n1": "down", "n2": "up", "n3": "lost"},
              "drained": ["n2"], "mode": "embedded"}
    assert notes(status) == [
        "web: no node of its list left (n1 down, n2 drained, n3 lost): its service is down "
        "until one is back (its agent started again — crg join in the embedded runtime — "
        "or crg undrain)"]
    # one agent per host: there is no crg join to give
    assert notes({**status, "mode": "node"}) == [
        "web: no node of its list left (n1 down, n2 drained, n3 lost): its service is down "
        "until one is back (its agent started again, or crg undrain)"]


def test_a_runtime_alert_in_force_is_said_where_it_is() -> None:
    # A step that keeps failing leaves the group where it is: status says why, for as
    # long as it fails; a node's own trouble gets a line of its own.
    web = group(troubles=[{"node": "n2", "action": "acquire-vip", "since": AT,
                           "reason": "cannot add 10.0.0.1/24: Operation not permitted"}])
    node = {"node": "n1", "action": "kill-strays", "since": AT,
            "reason": "killed the 1 process group(s) it started, but ..."}
    assert notes({"groups": [web], "troubles": [node]}) == [
        "web: acquire-vip failing on n2 since 12:03:04: cannot add 10.0.0.1/24: Operation "
        "not permitted",
        "n1: kill-strays failing since 12:03:04: killed the 1 process group(s) it started, "
        "but ..."]


def test_a_drained_node_that_is_down_says_both() -> None:
    # SPEC.md section 2: drained combines with down, cut and lost; "nodes" names one.
    status = {"nodes": {"n1": "down", "n2": "drained", "n3": "cut", "n4": "up"},
              "drained": ["n1", "n2", "n3"]}
    assert nodes_line(status) == ("nodes: n1 down and drained, n2 drained, n3 cut and "
                                  "drained, n4 up")


def test_why_a_group_is_offline() -> None:
    # An operator's offline mode and an instance group's standby both read `offline` in
    # the table; only the note says which, and what ends it.
    by_operator = group(mode="offline", offline_by="operator", preferred="n1")
    assert notes({"groups": [by_operator]}) == [
        "web: offline by an operator: its application stays stopped (crg online web ends it)"]
    standby = group(node="n1", mode="offline", offline_by="standby", preferred="n3")
    assert notes({"groups": [standby], "nodes": {"n1": "up", "n3": "down"}}) == [
        "web: an instance group, offline away from n3, the one node where its application "
        "may run, until n3 is back"]


def test_an_instance_away_from_a_home_that_is_up_says_what_keeps_it_away() -> None:
    # "offline until n3 is back" was said whatever kept it away, n3 up and running: a
    # switchover, a spent budget, a drain, or failback manual (it stays away for good).
    away = {"node": "n1", "mode": "offline", "offline_by": "standby", "preferred": "n3"}
    up = {"n1": "up", "n3": "up"}
    head = "web: an instance group, offline away from n3, the one node where its " \
           "application may run"
    assert notes({"groups": [group(**away, target="n1")], "nodes": up}) == [
        f"{head}; kept on n1 by a switchover (crg clear web withdraws it)"]
    banned = group(**away, banned=[{"node": "n3", "until": AT}])
    assert notes({"groups": [banned], "nodes": up}) == [
        f"{head}: its restart budget is spent there; banned on n3 until 12:03:04 (crg "
        "cleanup web clears it)"]
    drained = {"groups": [group(**away)], "nodes": {"n1": "up", "n3": "drained"},
               "drained": ["n3"]}
    assert notes(drained) == [f"{head}, until n3 is undrained"]
    assert notes({"groups": [group(**away)], "nodes": up}) == [
        f"{head}: n3 is back, but web fails back only when moved (crg switchover web n3)"]


def test_an_offline_taken_in_maintenance_waits_for_its_end() -> None:
    # crg offline during a maintenance is recorded and acted on when it ends: meanwhile
    # the application still runs, so the note must not say that it stays stopped.
    waiting = group(mode="moving", app="up", maintenance=True, offline_by="operator",
                    preferred="n1")
    assert notes({"groups": [waiting]}) == [
        "web: in maintenance: the cluster service takes no action for it; offline by an "
        "operator once the maintenance ends: its application runs until then (crg online "
        "web takes it back)"]
    stopped = group(mode="offline", app="down", maintenance=True, offline_by="operator",
                    preferred="n1")
    assert notes({"groups": [stopped]}) == [
        "web: in maintenance: the cluster service takes no action for it; offline by an "
        "operator: its application stays stopped (crg online web ends it)"]


def test_a_failure_held_in_maintenance_says_it_is_not_checked_again() -> None:
    # The monitors report a failure once and stop; in maintenance nothing checks again
    # until it ends, so "app failed" may be over by then (an operator at work fixed it):
    # the note must not suggest that the monitors are still watching.
    held = group(maintenance=True, app="failed",
                 reported={"node": "n1", "reason": "monitor exec x failed 1 time",
                           "since": AT})
    assert notes({"groups": [held]}) == [
        "web: in maintenance: the cluster service takes no action for it; failure reported "
        "on n1 at 12:03:04: monitor exec x failed 1 time (not checked again until the "
        "maintenance ends; it counts then if the monitors still say so)"]


def test_a_store_that_lost_what_it_held_is_one_line_with_what_was_set() -> None:
    since = time.mktime((2026, 12, 4, 11, 2, 3, 0, 0, -1))
    status = {"store_reset": {"since": since, "by": "n2", "why": "its revision went back",
                              "lost": "before it, operators had given: crg drain n3"}}
    assert store_reset_line(status) == (
        "store lost what it held on 2026-12-04 at 11:02:03 (seen by n2: its revision went "
        "back); before it, operators had given: crg drain n3 — crg cleanup --store-reset "
        "once dealt with")
    assert store_reset_line({}) is None


def test_a_reset_mark_that_cannot_be_read_is_no_note() -> None:
    keys, store = Keys("c"), MemoryStore()

    async def read(value: str) -> dict[str, Any] | None:
        await store.put(keys.reset(), value)
        return reset_mark(await store.snapshot(keys.prefix), keys)

    assert asyncio.run(read("not json")) is None
    assert asyncio.run(read('{"by": "n1"}')) is None  # no time: not a mark crg wrote
    assert asyncio.run(read('{"since": 5, "by": "n1", "why": "w"}')) == {
        "since": 5, "by": "n1", "why": "w", "lost": ""}


def test_a_budget_spent_on_its_node_is_said_once_with_the_ban() -> None:
    """Blocked on n1: the fault that spent the budget there banned n1 and set the count
    back to 0; the status says spent (runtime/status.py ``failures``), not "0 of 1"."""
    web = group(restarts={"used": 1, "budget": 1, "window_ends": AT, "spent": True},
                banned=[{"node": "n1", "until": AT}], mode="blocked",
                last_fault={"time": AT - 60, "node": "n1", "reason": "it exited"})
    assert notes({"groups": [web]}) == [
        "web: banned on n1 until 12:03:04 (its restart budget is spent there; crg cleanup "
        "web clears it); last fault at 12:02:04 on n1: it exited"]


def test_an_application_that_failed_in_maintenance_is_not_said_to_run() -> None:
    web = group(maintenance=True, offline_by="operator", app="failed")
    assert notes({"groups": [web]}) == [
        "web: in maintenance: the cluster service takes no action for it; offline by an "
        "operator once the maintenance ends: its application failed meanwhile and is not "
        "restarted (crg online web takes it back)"]
