"""One configuration across hosts (runtime/fingerprint.py, runtime/agreement.py): what
counts as the same configuration, registering against the store, a second agent with
another configuration refused (naming the difference), two agents racing to register,
and a running agent's alert when a live node runs something else."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest
from runtime_helpers import quickstart, run

from crg.dsl import Config, parse
from crg.runtime.address.loopback import LoopbackDriver
from crg.runtime.agreement import (
    ConfigConflict,
    ConfigWatch,
    live_configs,
    node_record,
    register,
    rolling,
    running_config,
)
from crg.runtime.drivers.sinks import EventLog
from crg.runtime.fingerprint import fingerprint, first_difference, short
from crg.runtime.host import HostRuntime
from crg.runtime.operator import CommandError
from crg.runtime.records import Keys
from crg.runtime.status import config_line
from crg.runtime.store.base import Snapshot
from crg.runtime.store.memory import MemoryStore

pytestmark = pytest.mark.timeout(60)

QUICKSTART = Path(__file__).resolve().parents[2] / "examples" / "quickstart.crg"


def test_what_counts_as_the_same_configuration() -> None:
    text = QUICKSTART.read_text()
    base, _ = fingerprint(parse(text, "a.crg"))
    # Comments, layout, the file's name, the order of group blocks, a default spelt out:
    same = ["# a comment\n" + text.replace("\n", "\n\n"),
            text.replace("  possible n2, n3", "  possible n2 n3"),
            text.replace("group report {", "group zz_tmp {", 1).replace(
                "group zz_tmp {", "group report {"),
            _reordered(text),
            text.replace("  failback auto\n", "  failback auto\n  kind failover\n", 1)]
    for variant in same:
        assert fingerprint(parse(variant, "b.crg"))[0] == base, variant[:200]
    # Anything the runtime or the checker would do differently:
    different = [text.replace("every 500ms", "every 600ms", 1),
                 text.replace("lease 2s", "lease 3s"),
                 text.replace("possible n2, n3", "possible n3, n2", 1),
                 text.replace("cluster quickstart", "cluster other")]
    for variant in different:
        assert fingerprint(parse(variant, "c.crg"))[0] != base, variant[:200]


def _reordered(text: str) -> str:
    """The quickstart with its first group block moved to the end."""
    start = text.index("group web {")
    end = text.index("group api {")
    return text[:start] + text[end:] + "\n" + text[start:end]


def test_the_first_difference_is_named() -> None:
    text = QUICKSTART.read_text()
    _, mine = fingerprint(parse(text.replace("every 500ms", "every 600ms", 1), "a.crg"))
    _, theirs = fingerprint(parse(text, "b.crg"))
    assert first_difference(mine, theirs) == (
        "group web: monitors[0].interval_ms is 600 here, 500 in the running cluster")
    # Without report, the others' default `notify all` lose it first (in name order).
    _, fewer = fingerprint(parse(text[:text.index("group report {")], "c.crg"))
    assert first_difference(fewer, theirs) == (
        'group api: notify[0] is "web" here, "report" in the running cluster')
    lonely = {**theirs, "groups": [g for g in theirs["groups"] if g["name"] != "report"]}
    assert first_difference(lonely, theirs) == (
        "group report: defined in the running cluster, not here")
    assert first_difference(theirs, lonely, "there") == "group report: defined here, not there"
    _, slower = fingerprint(parse(text.replace("lease 2s", "lease 4s"), "d.crg"))
    assert first_difference(slower, theirs).startswith(
        "the cluster block: lease_ms is 4000 here, 2000")


def _config(text: str) -> tuple[str, dict[str, object]]:
    sha, form = fingerprint(parse(text, "x.crg"))
    return sha, form


def test_register_refuses_a_configuration_that_differs_from_the_live_nodes() -> None:
    text = QUICKSTART.read_text()
    ours, form = _config(text)
    theirs, other = _config(text.replace("restarts 2 within 1m", "restarts 3 within 1m"))
    keys = Keys("quickstart")

    async def body() -> None:
        store = MemoryStore()
        assert await register(store, keys, "n1", await store.grant(60_000), ours, form)
        assert await register(store, keys, "n2", await store.grant(60_000), ours, form)
        snap = await store.snapshot(keys.prefix)
        assert live_configs(snap, keys) == {"n1": ours, "n2": ours}
        assert running_config(snap, keys) == (ours, form)
        # n1 again while its key lives (an earlier run of it): not registered, wait.
        assert await register(store, keys, "n1", await store.grant(60_000), ours, form) \
            is None
        lease = await store.grant(60_000)
        with pytest.raises(ConfigConflict) as refused:
            await register(store, keys, "n3", lease, theirs, other)
        message = str(refused.value)
        assert f"sha256 {short(theirs)}" in message and f"sha256 {short(ours)}" in message
        assert "run by n1, n2" in message
        assert "restarts is 3 here, 2 in the running cluster (n1, n2)" in message, message
        after = await store.snapshot(keys.prefix)
        assert keys.node("n3") not in after.entries, "nothing half-applied"
        assert running_config(after, keys) == (ours, form)

    run(body())


def test_with_no_live_node_the_first_agent_sets_the_configuration() -> None:
    text = QUICKSTART.read_text()
    old, old_form = _config(text)
    new, new_form = _config(text.replace("lease 2s", "lease 3s"))
    keys = Keys("quickstart")

    async def body() -> None:
        store = MemoryStore()
        lease = await store.grant(60_000)
        assert await register(store, keys, "n1", lease, old, old_form)
        await store.revoke(lease)  # the whole cluster stops
        assert await register(store, keys, "n2", await store.grant(60_000), new, new_form)
        snap = await store.snapshot(keys.prefix)
        assert running_config(snap, keys) == (new, new_form)
        with pytest.raises(ConfigConflict, match="lease_ms is 2000 here, 3000"):
            await register(store, keys, "n1", await store.grant(60_000), old, old_form)

    run(body())


class BarrierStore(MemoryStore):
    """Every snapshot waits until ``parties`` callers have taken theirs: two agents that
    read the store at the same moment, before either writes."""

    def __init__(self, parties: int) -> None:
        super().__init__()
        self.parties = parties
        self.arrived = 0
        self.all_in = asyncio.Event()

    async def snapshot(self, prefix: str) -> Snapshot:
        snap = await super().snapshot(prefix)
        if not self.all_in.is_set():
            self.arrived += 1
            if self.arrived >= self.parties:
                self.all_in.set()
            await self.all_in.wait()
        return snap


def test_two_agents_registering_at_once_with_different_configurations() -> None:
    text = QUICKSTART.read_text()
    a, a_form = _config(text)
    b, b_form = _config(text.replace("lease 2s", "lease 3s"))
    keys = Keys("quickstart")

    async def body() -> None:
        store = BarrierStore(2)
        results = await asyncio.gather(
            register(store, keys, "n1", await store.grant(60_000), a, a_form),
            register(store, keys, "n2", await store.grant(60_000), b, b_form),
            return_exceptions=True)
        won = [r for r in results if not isinstance(r, BaseException)]
        lost = [r for r in results if isinstance(r, ConfigConflict)]
        assert len(won) == 1 and len(lost) == 1, results
        snap = await store.snapshot(keys.prefix)
        assert len(live_configs(snap, keys)) == 1, "exactly one of them got in"
        winner = next(iter(live_configs(snap, keys).values()))
        assert running_config(snap, keys) == ((a, a_form) if winner == a else (b, b_form))

    run(body())


def test_a_running_agent_alerts_once_while_a_live_node_runs_another_configuration() -> None:
    text = QUICKSTART.read_text()
    ours, form = _config(text)
    theirs, their_form = _config(text.replace("lease 2s", "lease 3s"))
    keys = Keys("quickstart")
    alerts: list[str] = []
    overs: list[bool] = []

    async def body() -> None:
        store = MemoryStore()
        watch = ConfigWatch(keys, "n1", ours, form, alerts.append, lambda: overs.append(True))
        assert await register(store, keys, "n1", await store.grant(60_000), ours, form)
        watch.check(await store.snapshot(keys.prefix))
        assert alerts == []
        # n3 registered while n1 was not looking (say, cut off), with another file.
        lease = await store.grant(60_000)
        await store.create(keys.node("n3"), node_record(theirs, their_form), lease)
        for _ in range(3):
            watch.check(await store.snapshot(keys.prefix))
        assert len(alerts) == 1 and "run by n3" in alerts[0], alerts
        await store.revoke(lease)
        watch.check(await store.snapshot(keys.prefix))
        assert overs == [True] and len(alerts) == 1

    run(body())


def test_a_host_with_another_configuration_refuses_to_start(tmp_path: Path) -> None:
    setup = quickstart(tmp_path)
    changed = parse(setup.path.read_text().replace("lease 1s", "lease 2s", 1), "b.crg")
    store = MemoryStore()

    def host(node: str, config: Config) -> HostRuntime:
        return HostRuntime(config, node, store=store, address=LoopbackDriver(),
                           run_dir=tmp_path / node, events=EventLog())

    async def body() -> None:
        first = host("n1", setup.config)
        await first.start()
        try:
            second = host("n2", changed)
            with pytest.raises(CommandError) as refused:
                await second.start()
            message = str(refused.value)
            assert "the cluster block: lease_ms is 2000 here, 1000 in the running " \
                   "cluster (n1)" in message, message
            assert second.agent is None
            snap = await store.snapshot(Keys(setup.name).prefix)
            assert live_configs(snap, Keys(setup.name)) == {"n1": first.config_sha256}
            assert len(snap.under(Keys(setup.name).prefix + "node/")) == 1
            status = await first.status()
            assert status["config_sha256"] == first.config_sha256
            assert status["node_configs"] == {"n1": first.config_sha256}
        finally:
            assert await first.shutdown()

    run(body())


def test_a_rolling_change_may_mix_what_the_spec_does_not_read(
        caplog: pytest.LogCaptureFixture) -> None:
    """Applications, monitors, alerts and hooks may differ between hosts for a while (the
    operator changes them one host after another, one change at a time); anything else
    may not, at any moment."""
    text = QUICKSTART.read_text()
    ours, form = _config(text)
    keys = Keys("quickstart")
    monitors = text.replace("every 500ms", "every 600ms", 1)
    alert = text.replace("alert log", 'alert command "/usr/bin/logger crg"', 1)
    clashing = [text.replace("lease 2s", "lease 3s"),
                text.replace("restarts 2 within 1m", "restarts 3 within 1m")]
    alerts: list[str] = []

    async def body() -> None:
        store = MemoryStore()
        watch = ConfigWatch(keys, "n1", ours, form, alerts.append, lambda: None)
        assert await register(store, keys, "n1", await store.grant(60_000), ours, form)
        sha, other = _config(monitors)
        assert sha != ours
        with caplog.at_level(logging.INFO, logger="crg.runtime"):
            assert await register(store, keys, "n2", await store.grant(60_000), sha, other)
        snap = await store.snapshot(keys.prefix)
        assert rolling(snap, keys, "n1", ours, form) == {"n2": sha}
        watch.check(snap)
        assert alerts == []  # nothing to page
        # n2 joined it: said once in its log (an outside tester saw "joins a rolling
        # change" followed at once by the same sentence, from register and the watch)
        with caplog.at_level(logging.INFO, logger="crg.runtime"):
            ConfigWatch(keys, "n2", sha, other, alerts.append, lambda: None).check(snap)
        assert [r.getMessage() for r in caplog.records if "rolling change" in r.getMessage()] \
            == [f"n2: joins a rolling change of the configuration: it runs sha256 "
                f"{short(sha)}, n1 runs {short(ours)} (the same but for applications, "
                "monitors, alerts or hooks)"], caplog.text
        # A third revision while the first change is under way: refused, naming both
        third, changed = _config(alert)
        with pytest.raises(ConfigConflict) as refused:
            await register(store, keys, "n3", await store.grant(60_000), third, changed)
        assert str(refused.value) == (
            f"n3's configuration (sha256 {short(third)}) would be a third revision in a "
            f"rolling change under way: n1 runs {short(ours)}, n2 runs {short(sha)} (the "
            "same but for applications, monitors, alerts or hooks). Roll out one change at "
            "a time: give this host the file one of them runs, and change it again once "
            "every host runs one revision")
        # either of the two is fine
        assert await register(store, keys, "n3", await store.grant(60_000), sha, other)
        # Refused, naming what differs, though the store holds the form of the last
        # node that joined (n3's, the new revision) and two revisions run (an outside
        # tester's finding: "the running cluster's configuration is not in the store to
        # compare")
        for variant, differs in zip(clashing, ("the cluster block: lease_ms is 3000 here, "
                                               "2000 in the running cluster (n1, n2, n3)",
                                               "group api: restarts is 3 here, 2 in the "
                                               "running cluster (n1, n2, n3)"), strict=True):
            sha, other = _config(variant)
            with pytest.raises(ConfigConflict) as refused:
                await register(store, keys, "n9", await store.grant(60_000), sha, other)
            assert f"first difference: {differs}." in str(refused.value), refused.value

    run(body())


def test_crg_status_shows_the_fingerprints() -> None:
    sha, other = "a" * 64, "b" * 64
    status = {"config_sha256": sha, "node_configs": {"n1": sha, "n2": sha}}
    assert config_line(status) == "config aaaaaaaaaaaa"
    status["node_configs"] = {"n1": sha, "n2": other, "n3": None}
    status["http"] = {"n1": "10.0.0.1:9100"}
    assert config_line(status) == ("config aaaaaaaaaaaa; DIFFERENT on n2 (bbbbbbbbbbbb), "
                                   "n3 (not published); http n1 10.0.0.1:9100")
    # n2 with the same core as this node's (n1): a rolling change, not a conflict
    status.update(node="n1", node_cores={"n1": "c" * 64, "n2": "c" * 64, "n3": None})
    assert config_line(status) == ("config aaaaaaaaaaaa; rolling change: n2 runs "
                                   "bbbbbbbbbbbb; DIFFERENT on n3 (not published); http n1 "
                                   "10.0.0.1:9100")
    assert config_line({}) is None
