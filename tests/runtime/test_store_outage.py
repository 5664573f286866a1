"""The store out of reach of every host at once (etcd stopped, or frozen): nobody can
record that a node was lost, so what each host says of itself is all the operator
hears. Found on a real etcd (stopped for half a minute while three agents ran): every
node fenced itself, every service was down, and not one alert reached a sink."""

from __future__ import annotations

import json
import logging
import random
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from partition_store import Hosts, partitionable_hosts
from runtime_helpers import SLEEPER, TWO_NODES, eventually, free_vip, run

from crg.dsl import parse
from crg.runtime.host import HostRuntime
from crg.runtime.machine import STORE_CUT
from crg.runtime.node_watch import STORE_RESET
from crg.runtime.operator import CLEANUP_STORE_RESET, CommandError
from crg.runtime.records import SHUTDOWN_MARK
from crg.runtime.status import notes, store_reset_line, title
from crg.runtime.store.base import StoreUnavailable, Txn
from crg.runtime.store.memory import MemoryStore

pytestmark = pytest.mark.timeout(60)

RECORD = ("alert command \"sh -c 'echo $CRG_EVENT action=$CRG_ACTION node=$CRG_NODE >> "
          "{alerts}'\"")
RECORD_REASON = ("alert command \"sh -c 'echo $CRG_EVENT action=$CRG_ACTION node=$CRG_NODE "
                 "reason=$CRG_REASON >> {alerts}'\"")


def _hosts(tmp: Path, *, reason: bool = False) -> tuple[Hosts, Path]:
    """Two hosts of one group ``job`` (preferred n1) on one partitionable memory store,
    and the file their alert sink records to (each alert's reason too, with ``reason``)."""
    alerts = tmp / "alerts.txt"
    vip = free_vip(random.Random(uuid.uuid4().int))
    record = RECORD_REASON if reason else RECORD
    text = TWO_NODES.format(name=f"outage{uuid.uuid4().hex[:8]}", vip=vip, app=SLEEPER,
                            restarts=1, window="1m", alert=record.format(alerts=alerts))
    return partitionable_hosts(parse(text, "outage.crg"), tmp), alerts


async def _n1_runs_job(hosts: Hosts, layer: str) -> HostRuntime:
    """n1, once it holds ``layer`` of job (``app``, or ``mon`` for the whole stack)."""
    n1 = hosts.hosts["n1"]
    assert n1.agent is not None
    agent = n1.agent
    await eventually(lambda: layer in agent.machine.holdings.facts.get("job", {}), 10,
                     "job runs on n1")
    return n1


def _said(alerts: Path) -> list[str]:
    return alerts.read_text().splitlines() if alerts.exists() else []


def test_a_node_cut_off_from_the_store_pages_once_and_says_when_it_is_back(
        tmp_path: Path) -> None:
    hosts, alerts = _hosts(tmp_path)

    def store_alerts(event: str) -> list[str]:
        return [line for line in _said(alerts)
                if line.startswith(f"{event} ") and f"action={STORE_CUT} " in line]

    async def body() -> None:
        for host in hosts.hosts.values():
            await host.start()
        try:
            n1 = (await _n1_runs_job(hosts, "app")).agent
            assert n1 is not None
            for view in hosts.views.values():  # etcd stops: nobody reaches it
                view.cut = True
            await eventually(lambda: len(store_alerts("runtime-alert")) == 2, 10,
                             "each node paged that it is cut off and fences itself")
            assert sorted(store_alerts("runtime-alert")) == [
                f"runtime-alert action={STORE_CUT} node=n1",
                f"runtime-alert action={STORE_CUT} node=n2"]
            for view in hosts.views.values():
                view.cut = False
            await eventually(lambda: len(store_alerts("runtime-alert-over")) == 2, 15,
                             "each node said its episode is over")
            await eventually(lambda: any(
                "app" in h.agent.machine.holdings.facts.get("job", {})  # type: ignore[union-attr]
                for h in hosts.hosts.values()), 10, "job runs again (failback manual: where "
                "the first node back took it)")
            # One episode each: paged once, resolved once.
            assert len(store_alerts("runtime-alert")) == 2, _said(alerts)
            assert ("", STORE_CUT) not in n1.machine.troubles
            # A blip that heals before its lease could run out (a store that answers
            # again at once, a process back from a short stall) is over before a page
            # could be acted on: none.
            hosts.views["n1"].cut = True
            await eventually(lambda: n1.keeper.cut, 5, "n1 cut off again")
            hosts.views["n1"].cut = False
            await eventually(lambda: not n1.keeper.cut, 5, "n1 back at once")
            await eventually(lambda: not n1.machine.background, 10, "its planned page ended")
            assert len(store_alerts("runtime-alert")) == 2, _said(alerts)
        finally:
            for view in hosts.views.values():
                view.cut = False  # a failed assertion must not also leave the hosts cut
            await hosts.stop()

    run(body(), 50)


def test_a_node_cut_off_says_so_once_and_each_fence_step_in_one_line(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """An outside tester's log on a real etcd: `store unavailable` two or three times
    within half a second (once per lane), and `fence of db removed monitors` followed by
    `fence db`, three times per group. Once per node and outage; one line per step,
    saying what it removed."""
    rng = random.Random(uuid.uuid4().int)
    vips = (free_vip(rng), free_vip(rng))
    text = TWO_NODES.format(name=f"outage{uuid.uuid4().hex[:8]}", vip=vips[0], app=SLEEPER,
                            restarts=1, window="1m", alert="")
    text += text[text.index("group job"):].replace("group job", "group job2").replace(
        vips[0], vips[1])
    hosts = partitionable_hosts(parse(text, "outage.crg"), tmp_path)

    def said(start: str) -> list[str]:
        return [r.getMessage() for r in caplog.records
                if r.levelno >= logging.INFO and r.getMessage().startswith(start)]

    async def body() -> None:
        for host in hosts.hosts.values():
            await host.start()
        try:
            n1 = hosts.hosts["n1"].agent
            assert n1 is not None
            await eventually(lambda: all("mon" in n1.machine.holdings.get(g)
                                         for g in ("job", "job2")), 15, "both run on n1")
            with caplog.at_level(logging.INFO, logger="crg.runtime"):
                hosts.views["n1"].cut = True
                await eventually(lambda: not any(n1.machine.holdings.get(g)
                                                 for g in ("job", "job2")), 10,
                                 "n1 fenced both groups")
                assert len(said("n1: store unavailable")) == 1, said("n1: store unavailable")
                assert said("n1: fence of") == []
                for group, vip in zip(("job", "job2"), vips, strict=True):
                    assert [d for d in n1.decisions if d.startswith(f"n1: fence {group} ")] \
                        == [f"n1: fence {group} (removed monitors)",
                            f"n1: fence {group} (removed application)",
                            f"n1: fence {group} (removed vip {vip})"], n1.decisions
        finally:
            hosts.views["n1"].cut = False
            await hosts.stop()

    run(body(), 50)


def test_status_while_the_store_is_out_of_reach_says_it_answers_from_its_last_view(
        tmp_path: Path) -> None:
    hosts, _ = _hosts(tmp_path)

    async def body() -> None:
        for host in hosts.hosts.values():
            await host.start()
        try:
            n1 = await _n1_runs_job(hosts, "app")
            assert n1.agent is not None
            before = await n1.status()
            assert "store" not in before
            hosts.views["n1"].cut = True
            # Not cut off yet: the store does not answer, the agent still has its view.
            try:
                now = await n1.status()
            except CommandError as exc:  # an error reads as a runtime that does not answer
                raise AssertionError(f"status refused while the agent runs: {exc}") from None
            assert now["store"]["answered"] is False
            assert "partitioned away" in now["store"]["reason"]
            assert "cannot read the store" in title(now)
            assert any("last view" in line for line in notes(now))
            # Cut off (it fences itself): still the last view, and still said so.
            await eventually(lambda: n1.agent.keeper.cut, 5, "n1 cut off")
            cut = await n1.status()
            assert cut["store"]["answered"] is False
            assert cut["nodes"]["n1"] == "cut"
            assert "cannot read the store" in title(cut)
            # The view ages: the agent's cycles act on it again, and each had made it
            # "0 s old" (an outside tester saw 0.0 s six seconds into an etcd outage).
            age = cut["store"]["view_age_s"]

            async def older() -> bool:
                return bool((await n1.status())["store"]["view_age_s"] >= age + 1)

            await eventually(older, 10, "the view shown 1 s older")
            # Older than a lease: every node cut off has fenced itself by then, so the
            # view says nothing of where anything runs (it showed the groups up).
            lease_s = n1.config.cluster.lease_ms / 1000

            async def beyond_a_lease() -> bool:
                return bool((await n1.status())["store"]["view_age_s"] > lease_s)

            await eventually(beyond_a_lease, lease_s + 10, "the view older than a lease")
            stale = await n1.status()
            assert [(g["mode"], g["app"], g["stale"]) for g in stale["groups"]] == \
                [("unknown", "unknown", True)] * len(stale["groups"]), stale["groups"]
            assert stale["nodes"] == {n: "cut" if n == "n1" else "unknown"
                                      for n in stale["nodes"]}, stale["nodes"]
            assert any("older than a lease" in line for line in notes(stale))
            hosts.views["n1"].cut = False
            await eventually(lambda: not n1.agent.keeper.cut, 10, "n1 back in contact")
            assert "store" not in await n1.status()
        finally:
            for view in hosts.views.values():
                view.cut = False  # a failed assertion must not also leave the hosts cut
            await hosts.stop()

    run(body(), 50)


COMMANDS = (("drain", ["n2"]), ("switchover", ["job", "n2"]), ("cleanup", ["job"]),
            ("maintenance-on", ["job"]), ("maintenance-off", []))
"""One of each kind: a node event, a group event, a cleanup of every node (which reads the
store to find them), maintenance on every group (--all, which reads it too)."""


def test_operator_commands_while_the_store_is_out_of_reach_are_refused_with_why(
        tmp_path: Path) -> None:
    """Found on a real etcd (SIGSTOPped): `crg drain n3` said the runtime "closed the
    connection before it answered: it stopped or was killed meanwhile" (exit 2), while it
    ran on — the store's error escaped the command and the log showed a traceback; and
    once the node was cut off, `crg switchover` was refused with a reason read off its
    stale view (`web is not at rest`), not the one that holds (it cannot reach the
    store)."""
    hosts, _ = _hosts(tmp_path)

    async def ask(op: str, args: list[str]) -> dict[str, object]:
        request = {"op": op, "args": args, "wait": True, "timeout": 2, "all": not args}
        try:
            return await hosts.hosts["n1"].command(request)
        except Exception as exc:  # the control socket closes on the client: "it stopped"
            raise AssertionError(f"{op} {args}: {type(exc).__name__}: {exc}") from None

    async def body() -> None:
        for host in hosts.hosts.values():
            await host.start()
        try:
            n1 = await _n1_runs_job(hosts, "app")
            assert n1.agent is not None
            hosts.views["n1"].cut = True  # not cut off yet: the store just does not answer
            for op, args in COMMANDS:
                answer = await ask(op, args)
                assert answer["result"] == "refused", (op, answer)
                assert "cannot read the store" in str(answer["message"]), (op, answer)
                assert "partitioned away" in str(answer["message"]), (op, answer)
            # crg simulate --live asks for the state: an error that says why, too.
            with pytest.raises(CommandError, match="cannot read the store"):
                await n1.command({"op": "state"})
            await eventually(lambda: n1.agent.keeper.cut, 5, "n1 cut off")
            for op, args in COMMANDS:
                answer = await ask(op, args)
                assert answer["result"] == "refused", (op, answer)
                assert "cut off from the store" in str(answer["message"]), (op, answer)
            with pytest.raises(CommandError, match="cut off from the store"):
                await n1.command({"op": "state"})  # no stale state for simulate --live
            hosts.views["n1"].cut = False
            await eventually(lambda: not n1.agent.keeper.cut, 10, "n1 back in contact")
            await eventually(lambda: any(
                "mon" in h.agent.machine.holdings.facts.get("job", {})  # type: ignore[union-attr]
                for h in hosts.hosts.values()), 10, "job runs again")
            answer = await ask("maintenance-on", ["job"])
            assert answer["result"] == "done", answer
        finally:
            for view in hosts.views.values():
                view.cut = False
            await hosts.stop()

    run(body(), 50)


def test_a_store_that_lost_its_data_is_paged_once(tmp_path: Path) -> None:
    """Found on a real etcd restarted with an empty data directory while the agents ran:
    an operator's `crg drain n3` and `crg maintenance on web` were forgotten without a
    word — n3 took its group back, web was managed again — and the only pages said that
    n2 and n3 "left the cluster: their lease ran out" (and were back), which is not what
    happened. The agents cannot bring back what the store lost, but the operator must
    hear that it was lost: once, from whichever node saw it first — with the commands
    that had set what was lost, so that they can be given again."""
    hosts, alerts = _hosts(tmp_path, reason=True)

    def said(action: str) -> list[str]:
        return [line for line in _said(alerts) if f"action={action} " in line]

    async def body() -> None:
        for host in hosts.hosts.values():
            await host.start()
        try:
            n1 = (await _n1_runs_job(hosts, "mon")).agent
            assert n1 is not None
            for op, args in (("drain", ["n2"]), ("offline", ["job"])):
                answer = await hosts.hosts["n1"].command(
                    {"op": op, "args": args, "wait": True, "timeout": 10})
                assert answer["result"] == "done", answer
            shared = hosts.views["n1"].shared
            for i in range(300):  # a store that has lived a while: a revision far ahead
                await shared.put(f"/elsewhere/{i}", "x")
            fresh = MemoryStore()  # etcd started again on an empty data directory
            for view in hosts.views.values():
                view.shared = fresh
            await eventually(lambda: len(said(STORE_RESET)) == 1, 15,
                             "the store's loss paged")
            keys = hosts.hosts["n1"].services.keys

            async def runs_again() -> bool:
                # Both registered in the new store first: until then n1's holdings may
                # still be those from before the loss (it has not fenced yet).
                snap = await fresh.snapshot(keys.prefix)
                return all(snap.get(keys.node(n)) is not None for n in hosts.hosts) and any(
                    "mon" in h.agent.machine.holdings.facts.get("job", {})  # type: ignore[union-attr]
                    for h in hosts.hosts.values())

            await eventually(runs_again, 15, "both nodes registered again, job runs again")
            # Nobody left the cluster: the nodes were in the store that was lost.
            assert said("node-lost") == [], _said(alerts)
            [page] = said(STORE_RESET)
            assert ("before it, operators had given: crg drain n2; crg offline job)"
                    in page), page
            # And crg status says it, on either node, for as long as this is the store.
            for host in hosts.hosts.values():
                line = store_reset_line(await host.status())
                assert line is not None and line.endswith(
                    "before it, operators had given: crg drain n2; crg offline job — crg "
                    "cleanup --store-reset once dealt with"), line
            # Until an operator who has given them again clears it (crg cleanup
            # --store-reset), on either node; then it is gone from both, and a second
            # clear is refused: there is nothing left to clear.
            cleared = await hosts.hosts["n2"].command({"op": CLEANUP_STORE_RESET})
            assert cleared["result"] == "done", cleared
            assert cleared["message"].startswith("cleanup --store-reset: cleared the note "
                                                 "that the store lost what it held on ")
            for host in hosts.hosts.values():
                assert store_reset_line(await host.status()) is None
            # The page's episode ends there (an outside tester's pager kept the incident
            # open for ever): told to the sink that got it, by the node that cleared it,
            # and the command is recorded with its outcome, as every command.
            await eventually(lambda: len(said(STORE_RESET)) == 2, 15, "the page's end told")
            assert said(STORE_RESET)[1].startswith("runtime-alert-over "), _said(alerts)
            told = [r for r in hosts.logs["n2"].records
                    if r["event"] == "runtime-alert-over" and r["action"] == STORE_RESET]
            assert len(told) == 1 and told[0]["by"] == "n2", told
            assert told[0]["node"] in hosts.hosts and told[0]["since"], told
            assert [(r["event"], r["result"]) for r in hosts.logs["n2"].records
                    if r.get("command") == CLEANUP_STORE_RESET] == [
                        ("command", "accepted"), ("command-outcome", "done")]
            again = await hosts.hosts["n1"].command({"op": CLEANUP_STORE_RESET})
            assert again["result"] == "refused", again
            assert "nothing to clear" in again["message"], again
        finally:
            await hosts.stop()

    run(body(), 50)


def test_a_backup_that_brings_back_an_earlier_loss_s_mark_is_paged_as_a_new_loss(
        tmp_path: Path) -> None:
    """Found restoring etcd from a backup taken while the note of an earlier loss was
    still there: the restored mark kept every node from claiming this loss's, so nothing
    was paged, and crg status told of the earlier episode and its commands, not the
    switchover this one lost."""
    hosts, alerts = _hosts(tmp_path, reason=True)

    async def body() -> None:
        for host in hosts.hosts.values():
            await host.start()
        try:
            await _n1_runs_job(hosts, "mon")
            answer = await hosts.hosts["n1"].command(
                {"op": "offline", "args": ["job"], "wait": True, "timeout": 10})
            assert answer["result"] == "done", answer
            shared = hosts.views["n1"].shared
            for i in range(300):  # a store that has lived a while: a revision far ahead
                await shared.put(f"/elsewhere/{i}", "x")
            keys = hosts.hosts["n1"].services.keys
            restored = MemoryStore()  # the backup, an hour old, with the earlier loss's note
            await restored.put(keys.reset(), json.dumps({
                "since": time.time() - 3600, "by": "n2", "why": "an earlier loss",
                "lost": "before it, operators had given: crg drain n2"}))
            for view in hosts.views.values():
                view.shared = restored
            await eventually(lambda: any(f"action={STORE_RESET} " in line
                                         for line in _said(alerts)), 15,
                             "this loss paged")
            await eventually(lambda: _equal(hosts.hosts["n2"].status(),
                                            lambda s: "crg offline job" in str(
                                                store_reset_line(s))), 15,
                             "crg status tells of this loss")
            paged = [line for line in _said(alerts) if f"action={STORE_RESET} " in line]
            assert len(paged) == 1 and "crg offline job" in paged[0], paged
        finally:
            await hosts.stop()

    run(body(), 50)


async def _equal(status: Awaitable[dict[str, Any]],
                 holds: Callable[[dict[str, Any]], bool]) -> bool:
    return holds(await status)


def test_a_host_stopped_while_cut_off_drains_once_back_in_contact(tmp_path: Path) -> None:
    """A stop that begins while the node is cut off from the store cannot record its drain
    then — as after the store lost its data, when every node is cut off from the moment it
    finds its lease gone until it has registered again. Found beside test_hosts (about 1
    run in 6 of the store-reset scenario): the drain was tried once, refused, and never
    again; back in contact, n1 started its group again and kept it until the stop's
    deadline killed it."""
    hosts, alerts = _hosts(tmp_path)

    async def body() -> None:
        for host in hosts.hosts.values():
            await host.start()
        stopped = False
        try:
            n1 = (await _n1_runs_job(hosts, "mon")).agent
            assert n1 is not None
            # Cut off at once (as its fencing watchdog does), not after a lease's wait: the
            # stop below begins before the node is back in contact.
            n1.keeper.watchdog_fenced("cut off by the test")
            assert n1.keeper.cut
            stopped = True
            await hosts.stop()  # n1 first: its groups halt in order all the same
            keys, shared = hosts.hosts["n1"].services.keys, hosts.views["n1"].shared
            drained = (await shared.snapshot(keys.drained("n1"))).get(keys.drained("n1"))
            assert drained is not None and drained.value == SHUTDOWN_MARK, drained
            assert [line for line in _said(alerts) if "action=node-lost " in line] == []
        finally:
            if not stopped:
                await hosts.stop()

    run(body(), 50)


def test_a_command_whose_write_went_unanswered_says_it_may_have_been_taken(
        tmp_path: Path) -> None:
    """etcd stops answering while a command's transaction is on its way: the write may
    have landed or not, and the agent cannot look. The answer must say so — neither
    "refused: nothing was changed" nor an error that reads as a runtime that stopped."""
    hosts, _ = _hosts(tmp_path)
    view = hosts.views["n1"]
    commit = view.commit
    group_key = hosts.hosts["n1"].services.keys.group("job")

    async def lost_on_the_way(txn: Txn) -> int:
        # The command's write only: on a loaded machine another of n1's writes (a lane's,
        # its node watch's) could come first, and cutting the store then made the command
        # refused for want of a look, before it wrote anything.
        if not any(put.key == group_key and json.loads(put.value).get("maintenance") is True
                   for put in txn.puts):
            return await commit(txn)
        view.cut = True  # from now on nothing answers, not even the look that follows
        raise StoreUnavailable("the answer to this write was lost (test)")

    async def body() -> None:
        for host in hosts.hosts.values():
            await host.start()
        try:
            n1 = await _n1_runs_job(hosts, "mon")
            assert n1.agent is not None
            view.commit = lost_on_the_way  # type: ignore[method-assign]
            request = {"op": "maintenance-on", "args": ["job"], "wait": True, "timeout": 2}
            try:
                answer = await n1.command(request)
            except Exception as exc:
                raise AssertionError(f"{type(exc).__name__}: {exc}") from None
            assert answer["result"] == "unsettled", answer
            assert "may or may not have been taken" in str(answer["message"]), answer
        finally:
            view.commit = commit  # type: ignore[method-assign]
            view.cut = False
            await hosts.stop()

    run(body(), 50)


def test_a_store_that_lost_its_data_and_took_more_writes_since_is_paged_too(
        tmp_path: Path) -> None:
    """etcd restored from an older backup that had lived longer, or an empty one that
    took many writes before an agent looked again: its revision is ahead of the lost
    store's, not behind, and the revision alone missed the loss. The configuration
    record, created again, gives it away."""
    hosts, alerts = _hosts(tmp_path)

    async def body() -> None:
        for host in hosts.hosts.values():
            await host.start()
        try:
            await _n1_runs_job(hosts, "mon")
            shared = hosts.views["n1"].shared
            old = (await shared.snapshot("/")).revision
            fresh = MemoryStore()
            for i in range(old + 300):  # far ahead of the store that was lost
                await fresh.put(f"/elsewhere/{i}", "x")
            for view in hosts.views.values():
                view.shared = fresh
            reset = [line for line in _said(alerts) if f"action={STORE_RESET} " in line]
            await eventually(lambda: len([line for line in _said(alerts)
                                          if f"action={STORE_RESET} " in line]) == 1,
                             15, "the store's loss paged")
            assert reset == []  # (not before the store was replaced)
            await eventually(lambda: any(
                "mon" in h.agent.machine.holdings.facts.get("job", {})  # type: ignore[union-attr]
                for h in hosts.hosts.values()), 15, "job runs again")
            said = _said(alerts)
            assert [line for line in said if "action=node-lost " in line] == [], said
            assert len([line for line in said if f"action={STORE_RESET} " in line]) == 1
        finally:
            await hosts.stop()

    run(body(), 50)
