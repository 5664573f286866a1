"""``crg status``'s table (runtime/status.py ``rows``, ``mode_text``): the mode column of a
group no node took yet while the agent waits at a cold start (``crg run --start-wait``)
— read off the status document, so tested on documents."""

from __future__ import annotations

from typing import Any

from crg.runtime.status import WAITING_FOR_START, mode_text, rows, title

WAITING = {"for": ["n1"], "left_s": 41.5}


def group(**fields: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {"group": "web", "node": None, "mode": "moving",
                             "address": "10.0.0.9", "vip_holder": None, "app": "down",
                             "switching": True, "maintenance": False,
                             "restarts": {"used": 0, "budget": 2}}
    entry.update(fields)
    return entry


def status(*groups: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {"cluster": "shop", "mode": "node", "node": "n2", "agent": "running",
            "groups": list(groups), **fields}


def test_a_group_on_no_node_while_the_agent_waits_reads_waiting_for_start() -> None:
    waiting = status(group(), waiting=WAITING)
    assert rows(waiting) == [["web", "-", WAITING_FOR_START, "10.0.0.9", "-", "down", "0/2",
                              "-", "-"]]
    assert WAITING_FOR_START == "waiting for start"
    # the title says for whom and how long
    assert title(waiting) == ("cluster shop (node n2, waiting for n1 to register: 41.5 s of "
                              "--start-wait left)")
    # --json keeps the spec's word: the document is not changed by reading it
    assert waiting["groups"][0]["mode"] == "moving"


def test_without_a_wait_a_group_on_no_node_is_moving_as_before() -> None:
    assert rows(status(group()))[0][2] == "moving"
    assert mode_text(status(group(), waiting=None), group()) == "moving"


def test_only_groups_on_no_node_and_moving_read_as_waiting() -> None:
    # One placed already (the wait ends at its next look), one with no candidate node
    # available (down whatever the wait), one in maintenance: each keeps its own word.
    placed = group(group="api", node="n2", mode="moving", app="starting")
    down = group(group="db", mode="down")
    kept = group(group="report", maintenance=True)
    shown = {row[0]: row[2] for row in rows(status(placed, down, kept, waiting=WAITING))}
    assert shown == {"api": "moving", "db": "down",
                     "report": f"{WAITING_FOR_START}, maintenance"}


def test_a_budget_spent_on_its_node_reads_spent() -> None:
    blocked = group(node="n1", mode="blocked", vip_holder="n1",
                    restarts={"used": 1, "budget": 1, "spent": True})
    assert rows(status(blocked))[0][6] == "1/1 spent"
