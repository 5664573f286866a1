"""What operators had set, read from a snapshot of the store, as the commands that set it.

A store that loses what it held (etcd started again on an empty data directory, restored
from an older backup) takes with it every drain, maintenance, offline mode and switchover
target an operator gave, and the failure records. The agents cannot tell an operator's
wish from a stale one, so they do not give those commands again by themselves (someone
who emptied the store on purpose wanted a clean slate); but the page about the loss names
each of them, from the last snapshot an agent read before it, so that the operator can.
"""

from __future__ import annotations

from dataclasses import dataclass

from crg.runtime.records import SHUTDOWN_MARK, Keys, RecordError, encode
from crg.runtime.store.base import Snapshot
from crg.spec import Model


@dataclass(frozen=True, slots=True)
class Settings:
    commands: tuple[str, ...]
    """``crg drain n2``, ``crg maintenance on db``...: what would set it all again."""
    bans: tuple[str, ...]
    """``web on n1``: the nodes a group had spent its restart budget on."""

    def said(self) -> str:
        """For the page: what was set before the loss, or that nothing was."""
        parts = [("before it, operators had given: " + "; ".join(self.commands))
                 if self.commands else "operators had set nothing before it"]
        if self.bans:
            parts.append("bans forgotten: " + ", ".join(self.bans))
        return "; ".join(parts)


def settings(model: Model, keys: Keys, snap: Snapshot) -> Settings | None:
    """The operators' settings in ``snap`` (None if a record there cannot be read)."""
    try:
        state = encode(model, keys, snap)
    except RecordError:
        return None
    nodes = model.topology.nodes
    commands = []
    for name in nodes:
        mark = snap.get(keys.drained(name))
        # A node's own drain to stop is no operator's: it takes it back when it starts.
        if mark is not None and mark.value != SHUTDOWN_MARK:
            commands.append(f"crg drain {name}")
    bans = []
    for g, topo in enumerate(model.groups):
        v = model.group_vars(state, g)
        if v.maintenance:
            commands.append(f"crg maintenance on {topo.name}")
        if v.offline:
            commands.append(f"crg offline {topo.name}")
        if v.target:
            commands.append(f"crg switchover {topo.name} {nodes[v.target - 1]}")
        banned = [nodes[n] for n in range(len(nodes)) if (v.ban >> n) & 1]
        if banned:
            bans.append(f"{topo.name} on {', '.join(banned)}")
    return Settings(tuple(commands), tuple(bans))
