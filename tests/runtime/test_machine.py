"""A node's background work (runtime/machine.py): what a stop does to it."""

from __future__ import annotations

import asyncio
import gc
import time
import warnings
from pathlib import Path

from runtime_helpers import quickstart, run

from crg.runtime import alerting
from crg.runtime.address.null import NullDriver
from crg.runtime.commit import Services
from crg.runtime.drivers.sinks import EventLog
from crg.runtime.machine import Machine
from crg.runtime.recorder import ClusterRecorder
from crg.runtime.records import Keys
from crg.runtime.store.memory import MemoryStore
from crg.spec import Model


def _machine(tmp_path: Path) -> Machine:
    config = quickstart(tmp_path).config
    model = Model.from_config(config)
    keys = Keys(config.cluster.name)
    services = Services(config, model, keys, MemoryStore(), NullDriver(), EventLog(),
                        ClusterRecorder(model, keys, None), tmp_path / "run")
    return Machine(services, "n1", lambda group: None)


def test_work_cancelled_before_it_started_is_closed_not_left_unawaited(
        tmp_path: Path) -> None:
    """A stop that comes before a spawned page (node_watch's ``_paged``) first ran: the
    work was wrapped, the wrapper cancelled, and the work itself never awaited — Python
    said so ("coroutine '_paged' was never awaited") on the stop's way out."""
    ran: list[str] = []

    async def page() -> None:
        ran.append("page")

    async def body() -> None:
        machine = _machine(tmp_path)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            machine.spawn(page())
            await machine.halt()  # before the loop gave the new task its first step
            gc.collect()  # the warning comes when the unawaited coroutine is collected
        unawaited = [str(w.message) for w in caught if issubclass(w.category, RuntimeWarning)]
        assert unawaited == [], unawaited
        assert ran == [], "cancelled before it started: it never ran"
        assert not machine.background

    run(body())


def test_an_orderly_stop_lets_deliveries_finish_and_cancels_the_rest(tmp_path: Path) -> None:
    """``halt(keep_deliveries=True)`` then ``settle``: an alert under way is let out, and
    so is one it raises meanwhile (a failed sink is told to the others); a loop that never
    ends on its own is cancelled at once, not waited for; a delivery that outlasts the
    bound is cancelled when it is up."""
    async def body() -> None:
        machine = _machine(tmp_path)
        under_way, answer, ended = asyncio.Event(), asyncio.Event(), []

        async def forever() -> None:
            await asyncio.Event().wait()

        async def told_next() -> None:
            ended.append("told next")

        async def page() -> None:
            under_way.set()
            await answer.wait()
            ended.append("page")
            machine.spawn(told_next(), delivery=True)

        async def hangs() -> None:
            await asyncio.Event().wait()

        machine.spawn(forever())
        machine.spawn(page(), delivery=True)
        await under_way.wait()  # under way, not merely planned
        await machine.halt(keep_deliveries=True)
        assert len(machine.background) == 1, "the endless loop cancelled, the page not"
        asyncio.get_running_loop().call_soon(answer.set)
        await machine.settle(timeout_s=30.0)
        assert ended == ["page", "told next"]
        assert not machine.background

        machine.spawn(hangs(), delivery=True)
        started = time.monotonic()
        await machine.settle(timeout_s=0.3)
        assert time.monotonic() - started < 5.0, "bounded"
        assert not machine.background, "what outlasted the bound is cancelled"

    run(body())


def test_the_readme_states_the_bound_of_an_orderly_stop_s_wait_for_alerts() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    text = " ".join(readme.split())
    assert f"within {alerting.DELIVERY_S:g} s in all however many nodes it runs" in text
