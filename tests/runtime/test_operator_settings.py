"""The commands a store-loss page names, read from the last snapshot before the loss."""

from __future__ import annotations

import asyncio

from crg.dsl import parse
from crg.runtime.operator_settings import Settings, settings
from crg.runtime.records import SHUTDOWN_MARK, Keys
from crg.runtime.store.memory import MemoryStore
from crg.spec import Model, Topology

CONFIG = """cluster c {
  nodes n1 n2 n3
}
group web {
  vip 10.0.0.1/24
  app { start "/bin/true" }
  monitor process
  preferred n1
  possible n2
}
"""


def test_an_operators_drain_is_named_and_a_nodes_own_stop_is_not() -> None:
    model = Model(Topology.from_config(parse(CONFIG, "c.crg")))
    keys, store = Keys("c"), MemoryStore()

    async def snap() -> Settings | None:
        await store.put(keys.drained("n2"), "1")  # crg drain n2
        await store.put(keys.drained("n3"), SHUTDOWN_MARK)  # n3's agent stopped
        return settings(model, keys, await store.snapshot(keys.prefix))

    found = asyncio.run(snap())
    assert found == Settings(("crg drain n2",), ())
    assert found.said() == "before it, operators had given: crg drain n2"


def test_nothing_set_and_bans_forgotten_are_said() -> None:
    assert Settings((), ()).said() == "operators had set nothing before it"
    assert (Settings(("crg offline web",), ("web on n1, n2",)).said()
            == "before it, operators had given: crg offline web; bans forgotten: web on n1, n2")
