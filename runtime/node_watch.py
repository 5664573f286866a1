"""Telling the operator that a node left the cluster unannounced.

A node whose lease ran out without its being taken out of service — a crash, a host that
hung or lost its network — is a failure the runtime cannot repair: the spec's rules move
its groups, but nothing brings the node back, and until a group reaches its last node no
alert of the spec's says a word. So the loss reaches the alert sinks of the groups that
may run on that node, as a runtime alert about it (action ``node-lost``), once per
episode, and its return ends the episode (``runtime-alert-over``).

Who says it: the first node of the configuration whose lease is valid (as the spec's
cluster coordinator sends what no host can), and only after claiming ``lost/<node>`` in
the store by a transaction that expects it absent, so that a coordinator that changes
meanwhile (the first node lost too) does not say it twice; the same node clears the mark,
and says the episode is over, once the node is registered again. A node that goes away
drained is not lost: it was out of service already (an operator's ``crg drain``, or its
own clean stop, which drains it first). A node this agent never saw live is not lost
either: at a cold start the hosts come up one by one.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from typing import TYPE_CHECKING

from crg.runtime.drivers.sinks import iso_time
from crg.runtime.store.base import Put, Snapshot, StoreError, Txn

if TYPE_CHECKING:
    from crg.runtime.machine import Machine

log = logging.getLogger("crg.runtime")

RETRY_S = 1.0
"""How long the watch rests after a failure nobody foresaw (a bug), before looking again."""


async def run(machine: Machine) -> None:
    """Watch the nodes' leases for as long as the agent runs."""
    store, keys = machine.s.store, machine.s.keys
    seen: set[str] = set()
    while True:
        revision = 0
        try:
            snap = await store.snapshot(keys.prefix)
            revision = snap.revision
            await look(machine, snap, seen)
        except StoreError as exc:  # the lease keeper and the lanes say so already
            log.debug("%s: node watch paused: %s", machine.name, exc)
        except Exception:  # a bug: the watch goes on, it decides nothing for the groups
            log.exception("%s: watching the nodes failed", machine.name)
            await asyncio.sleep(RETRY_S)
            continue
        with contextlib.suppress(StoreError):
            await store.wait(keys.prefix, revision, int(machine.s.heartbeat_s * 1000))


async def look(machine: Machine, snap: Snapshot, seen: set[str]) -> None:
    """One look at the nodes: alert for each node lost since it was ``seen`` live, and
    end the episode of each lost node that is back — if this node is the first live one."""
    store, keys = machine.s.store, machine.s.keys
    nodes = machine.s.model.topology.nodes
    live = [n for n in nodes if snap.get(keys.node(n)) is not None]
    seen.update(live)
    if not live or live[0] != machine.name:
        return
    for node in nodes:
        key = keys.lost(node)
        mark = snap.get(key)
        if node in live:
            if mark is not None and await store.commit(Txn({key: mark.mod_revision},
                                                           deletes=(key,))):
                machine.node_alert(node, f"{node} is back (lost since {_since(mark.value)})",
                                   over=True)
        elif node in seen and mark is None and snap.get(keys.drained(node)) is None:
            value = json.dumps({"since": time.time(), "by": machine.name})
            if await store.commit(Txn({key: 0}, (Put(key, value),))):
                machine.node_alert(node, f"{node} left the cluster: its lease ran out "
                                   "without its being drained (a crash, a hung host or a "
                                   "network cut); its groups move to their next nodes "
                                   f"(crg join {node} or its host's restart brings it back)")


def _since(value: str) -> str:
    try:
        since = json.loads(value)["since"]
        return iso_time(float(since))
    except (ValueError, KeyError, TypeError):
        return "an unknown time"
