"""A node's background work (runtime/machine.py): what a stop does to it."""

from __future__ import annotations

import gc
import warnings
from pathlib import Path

from runtime_helpers import quickstart, run

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
