"""Who says a node is lost, and when (runtime/node_watch.py), on the in-memory store:
the first live node, once per episode however many look, never for a node nobody saw
live (a cold start) or one that went away drained, and again by the next first node when
the one that said it went before its sinks heard it; the return ends the episode. The real
thing, a crash in a running cluster paging the alert sinks, is in test_operator_scenarios
and test_alerting."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Coroutine
from types import SimpleNamespace
from typing import Any

from crg.runtime import node_watch
from crg.runtime.records import Keys
from crg.runtime.store.memory import MemoryStore

NODES = ("n1", "n2", "n3")


class Watcher:
    """What ``look`` reads of a Machine, and the alerts it raised. ``delivers``: whether
    its alert sinks are ever tried (not: the agent dies first)."""

    def __init__(self, name: str, store: MemoryStore, delivers: bool = True) -> None:
        topology = SimpleNamespace(nodes=NODES)
        self.s = SimpleNamespace(store=store, keys=Keys("c"),
                                 model=SimpleNamespace(topology=topology))
        self.name = name
        self.said: list[tuple[str, bool]] = []
        self.reasons: list[str] = []
        self.watch = node_watch.Watch()
        self.delivers = delivers
        self.tasks: list[asyncio.Task[None]] = []

    def node_alert(self, node: str, reason: str, *, over: bool = False,
                   sent: Callable[[], None] | None = None) -> None:
        self.said.append((node, over))
        self.reasons.append(reason)
        if sent is not None and self.delivers:
            sent()

    def spawn(self, work: Coroutine[Any, Any, None], *, delivery: bool = False) -> None:
        self.tasks.append(asyncio.create_task(work))

    async def look(self) -> None:
        snap = await self.s.store.snapshot(self.s.keys.prefix)
        await node_watch.look(self, snap, self.watch)  # type: ignore[arg-type]  # duck
        await asyncio.gather(*self.tasks)  # the marks of what was told


async def gone(store: MemoryStore, key: str) -> None:
    """A liveness key's end, as a lease running out deletes it."""
    entry = (await store.snapshot(key)).get(key)
    assert entry is not None and await store.delete_if(key, entry.mod_revision)


async def all_live(store: MemoryStore, *watchers: Watcher) -> None:
    """Every node registered, and seen live by each of ``watchers``."""
    for n in NODES:
        await store.put(Keys("c").node(n), "{}")
    for watcher in watchers:
        await watcher.look()


def run(body: Any) -> None:
    asyncio.run(body)


def test_the_first_live_node_says_a_node_is_lost_once_and_that_it_is_back() -> None:
    async def body() -> None:
        store, keys = MemoryStore(), Keys("c")
        n1, n2 = Watcher("n1", store), Watcher("n2", store)
        for n in ("n1", "n2"):  # n3 never started: a cold start, not a loss
            await store.put(keys.node(n), "{}")
        await n1.look()
        await n2.look()
        assert n1.said == n2.said == []
        await store.put(keys.node("n3"), "{}")
        await n1.look()
        await n2.look()
        await gone(store, keys.node("n3"))
        for _ in range(2):  # looking again says nothing more; n2 is not the first
            await n1.look()
            await n2.look()
        assert (n1.said, n2.said) == ([("n3", False)], [])
        # n1 is lost too: n2 is the first node now, and says n1's loss, not n3's again
        await gone(store, keys.node("n1"))
        await n2.look()
        assert n2.said == [("n1", False)]
        await store.put(keys.node("n3"), "{}")
        await n2.look()
        await n2.look()
        assert n2.said == [("n1", False), ("n3", True)]

    run(body())


def test_a_node_that_goes_away_drained_is_not_lost() -> None:
    async def body() -> None:
        store, keys = MemoryStore(), Keys("c")
        n1 = Watcher("n1", store)
        await all_live(store, n1)
        await store.put(keys.drained("n2"), "shutdown")
        await gone(store, keys.node("n2"))
        await n1.look()
        assert n1.said == []

    run(body())


def test_a_loss_said_by_a_node_gone_before_its_sinks_heard_it_is_said_again() -> None:
    """The claim on ``lost/n3`` and the alert were one step apart from the pager: n1 took
    the mark and died before any sink was tried, and nobody said n3's loss again."""
    async def body() -> None:
        store, keys = MemoryStore(), Keys("c")
        n1, n2 = Watcher("n1", store, delivers=False), Watcher("n2", store)
        await all_live(store, n1, n2)
        await gone(store, keys.node("n3"))
        await n1.look()
        await n2.look()  # n1 is live and may still be sending: not n2's to say
        assert (n1.said, n2.said) == ([("n3", False)], [])
        await gone(store, keys.node("n1"))
        await n2.look()
        await n2.look()
        assert sorted(n2.said) == [("n1", False), ("n3", False)]
        again = n2.reasons[n2.said.index(("n3", False))]
        assert "said again: n1, which said it first, went before" in again
        entry = (await store.snapshot(keys.lost("n3"))).get(keys.lost("n3"))
        assert entry is not None
        assert json.loads(entry.value)["by"] == "n2"
        assert json.loads(entry.value)["paged"] is True

    run(body())


def test_a_loss_told_to_the_sinks_is_not_said_again_by_the_next_first_node() -> None:
    async def body() -> None:
        store, keys = MemoryStore(), Keys("c")
        n1, n2 = Watcher("n1", store), Watcher("n2", store)
        await all_live(store, n1, n2)
        await gone(store, keys.node("n3"))
        await n1.look()
        await gone(store, keys.node("n1"))
        await n2.look()
        assert (n1.said, n2.said) == ([("n3", False)], [("n1", False)])

    run(body())


def test_a_spoilt_mark_is_not_said_again_on_every_look() -> None:
    async def body() -> None:
        store, keys = MemoryStore(), Keys("c")
        n1 = Watcher("n1", store)
        await all_live(store, n1)
        await store.put(keys.lost("n3"), "not json")
        await gone(store, keys.node("n3"))
        await n1.look()
        await n1.look()
        assert n1.said == []

    run(body())


def test_a_store_that_lost_its_data_is_told_apart_by_its_configuration_record() -> None:
    """A store started empty that took more writes than the old one had before the watch
    looked again has a revision ahead, not behind: its configuration record, created
    once and never deleted, is what gives it away — gone, or created again."""
    keys = Keys("c")

    async def body() -> None:
        old = MemoryStore()
        await old.put(keys.config(), "{}")
        seen = await old.snapshot(keys.prefix)
        born = seen.get(keys.config()).create_revision  # type: ignore[union-attr]
        await old.put(keys.config(), '{"again": 1}')  # a registration writes it again
        again = await old.snapshot(keys.prefix)
        assert node_watch.lost_data(seen.revision, born, again, keys.config()) is None
        fresh = MemoryStore()
        for i in range(seen.revision + 5):
            await fresh.put(f"/elsewhere/{i}", "x")
        empty = await fresh.snapshot(keys.prefix)
        assert empty.revision > again.revision
        assert "is gone" in str(node_watch.lost_data(again.revision, born, empty,
                                                     keys.config()))
        await fresh.put(keys.config(), "{}")
        anew = await fresh.snapshot(keys.prefix)
        assert f"created again at revision {anew.revision}" in str(
            node_watch.lost_data(again.revision, born, anew, keys.config()))
        behind = await MemoryStore().snapshot(keys.prefix)
        assert "went back" in str(node_watch.lost_data(again.revision, born, behind,
                                                       keys.config()))
        # before the record was ever seen, only the revision can tell
        assert node_watch.lost_data(again.revision, 0, empty, keys.config()) is None

    asyncio.run(body())
