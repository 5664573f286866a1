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
and says the episode is over, once the node is registered again. At least once: the mark
says whether every alert sink has been tried (``"paged"``); a mark that still says no
while the node that claimed it is gone — it died before its sinks heard of the loss, as
when two hosts of a rack go a moment apart — is claimed again by the first live node,
which says it again (a pager may hear it twice, never not at all). A node that goes away
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
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from crg.runtime.drivers.sinks import iso_time
from crg.runtime.operator_settings import settings
from crg.runtime.records import Keys
from crg.runtime.store.base import Put, Snapshot, Store, StoreError, Txn

if TYPE_CHECKING:
    from crg.runtime.machine import Machine

log = logging.getLogger("crg.runtime")

STORE_RESET = "store-reset"
"""The ``action`` of the runtime alert about a store that lost what it held."""

RETRY_S = 1.0
"""How long the watch rests after a failure nobody foresaw (a bug), before looking again."""


async def run(machine: Machine,
              after_loss: Callable[[tuple[str, ...]], None] | None = None) -> None:
    """Watch the nodes' leases for as long as the agent runs. ``after_loss``: told, when
    the store lost what it held, the other nodes that were registered before (the agent
    waits for them before it places anything: :meth:`StartGate.after_loss`)."""
    store, keys = machine.s.store, machine.s.keys
    watch = Watch()
    newest = 0
    born = 0  # create revision of the cluster's configuration record, once seen
    while True:
        revision = 0
        try:
            snap = await store.snapshot(keys.prefix)
            revision = snap.revision
            why = lost_data(newest, born, snap, keys.config())
            if why is not None:
                # The nodes it saw live were in the store that was lost: none of them
                # left the cluster, and one that is not back yet is not lost for that.
                watch.seen.clear()
                if after_loss is not None and watch.before is not None:
                    after_loss(tuple(n for n in machine.s.model.topology.nodes
                                     if n != machine.name
                                     and watch.before.get(keys.node(n)) is not None))
                await reset(machine, why, watch.before, watch.before_at)
            newest = revision
            watch.before, watch.before_at = snap, time.time()
            record = snap.get(keys.config())
            born = record.create_revision if record is not None else 0
            await look(machine, snap, watch)
        except StoreError as exc:  # the lease keeper and the lanes say so already
            log.debug("%s: node watch paused: %s", machine.name, exc)
        except Exception:  # a bug: the watch goes on, it decides nothing for the groups
            log.exception("%s: watching the nodes failed", machine.name)
            await asyncio.sleep(RETRY_S)
            continue
        with contextlib.suppress(StoreError):
            await store.wait(keys.prefix, revision, int(machine.s.heartbeat_s * 1000))


@dataclass
class Watch:
    """What one agent's watch remembers between looks."""

    seen: set[str] = field(default_factory=set)
    """The nodes it has seen live: a node never seen is starting, not lost."""
    sending: set[str] = field(default_factory=set)
    """The nodes whose loss this agent is telling its alert sinks right now."""
    before: Snapshot | None = None
    """The last snapshot read: after a loss, what operators had set is read from it."""
    before_at: float = 0.0
    """When it was read (wall clock): a reset mark older than that is an earlier loss's."""


async def look(machine: Machine, snap: Snapshot, watch: Watch) -> None:
    """One look at the nodes: alert for each node lost since it was seen live (again, if
    the node that said it first died before its sinks were tried), and end the episode
    of each lost node that is back — if this node is the first live one."""
    store, keys = machine.s.store, machine.s.keys
    nodes = machine.s.model.topology.nodes
    live = [n for n in nodes if snap.get(keys.node(n)) is not None]
    watch.seen.update(live)
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
        elif node in watch.seen and mark is None and snap.get(keys.drained(node)) is None:
            await _claim(machine, watch, node, 0, time.time(), "")
        elif mark is not None and node not in watch.sending:
            said = _mark(mark.value)
            by = said.get("by")
            if said.get("paged", True) is False and (by not in live or by == machine.name):
                since = said.get("since")
                await _claim(machine, watch, node, mark.mod_revision,
                             since if isinstance(since, (int, float)) else time.time(),
                             f" (said again: {by}, which said it first, went before its "
                             "alert sinks had heard it)" if by != machine.name else
                             " (said again: this agent restarted before its alert sinks "
                             "had heard it)")


async def _claim(machine: Machine, watch: Watch, node: str, revision: int, since: float,
                 again: str) -> None:
    """Take ``lost/<node>`` (absent: ``revision`` 0) and say the loss; once every sink has
    been tried, mark it paged."""
    store, key = machine.s.store, machine.s.keys.lost(node)
    value = {"since": since, "by": machine.name, "paged": False}
    if not await store.commit(Txn({key: revision}, (Put(key, json.dumps(value)),))):
        return  # another node took it meanwhile: it says it
    watch.sending.add(node)

    def sent() -> None:
        # Part of the delivery: a stop that lets the page finish lets its mark say so
        # (else the next first live node says the loss again: at least once, not twice).
        machine.spawn(_paged(machine, watch, node, value), delivery=True)

    machine.node_alert(node, f"{node} left the cluster: its lease ran out without its "
                       "being drained (a crash, a hung host, a network cut or a store that "
                       "stalled); its groups move to their next nodes (its agent's restart "
                       f"brings it back; crg join {node} in the embedded runtime){again}",
                       sent=sent)


async def _paged(machine: Machine, watch: Watch, node: str, value: dict[str, Any]) -> None:
    """Mark the loss of ``node`` told to every sink, if the mark is still this agent's."""
    store, key = machine.s.store, machine.s.keys.lost(node)
    try:
        mark = (await store.snapshot(key)).get(key)
        if mark is not None and _mark(mark.value) == value:
            await store.commit(Txn({key: mark.mod_revision},
                                   (Put(key, json.dumps({**value, "paged": True})),)))
    except StoreError as exc:  # the next coordinator may say it again: at least once
        log.warning("%s: could not record that %s's loss was told: %s", machine.name,
                    node, exc)
    finally:
        watch.sending.discard(node)


def _mark(value: str) -> dict[str, Any]:
    """A ``lost/<node>`` mark read back; a spoilt one as a mark already paged (saying a
    loss again on a value nobody can read would page on every look)."""
    try:
        mark = json.loads(value)
    except ValueError:
        return {}
    return mark if isinstance(mark, dict) else {}


def lost_data(newest: int, born: int, snap: Snapshot, config_key: str) -> str | None:
    """Why ``snap`` shows a store that lost what it held since the last look (None: it
    did not): its revision went back below ``newest``, which etcd's never does while it
    keeps its data; or the cluster's configuration record, created at revision ``born``
    and never deleted, is gone or was created again — a store started empty that took
    more writes than the old one had before this agent looked again."""
    if snap.revision < newest:
        return f"its revision went back from {newest} to {snap.revision}"
    if not born:
        return None
    record = snap.get(config_key)
    if record is None:
        return (f"the cluster's configuration record, there since revision {born}, is "
                "gone")
    if record.create_revision != born:
        return (f"the cluster's configuration record, there since revision {born}, was "
                f"created again at revision {record.create_revision}")
    return None


MARK_SLACK_S = 30.0
"""How far another node's clock may lag this one's for its reset mark to count as this
loss's: a mark older than that was restored with an older backup, an earlier loss's."""


async def reset(machine: Machine, why: str, before: Snapshot | None = None,
                before_at: float = 0.0) -> None:
    """The store lost what it held (see :func:`lost_data`): it was started again on an
    empty data directory, or restored from an older backup, and what it held is gone —
    operators' drains, maintenance, offline modes, switchover targets, failure records.
    The agents act on the store as it is; the operator is told, once: by the node that
    claims the ``reset`` mark in the new store first (a mark the next loss takes with
    it, or replaces when a restored backup brought back an earlier loss's: older than
    ``before_at``, when this node last read the store before the loss), with the commands
    that would set again what the snapshot ``before`` the loss held
    (:mod:`crg.runtime.operator_settings`: not given again by the agents)."""
    key = machine.s.keys.reset()
    found = (settings(machine.s.model, machine.s.keys, before) if before is not None
             else None)
    lost = (found.said() if found is not None else "what they were is not known here")
    # crg status reads the mark too: the loss is said there for as long as it is this store
    value = json.dumps({"since": time.time(), "by": machine.name, "why": why, "lost": lost})
    # A mark there already is this loss's, written by the node that saw it first — or an
    # earlier loss's, restored with the backup the store was restored from: older than
    # this node's last look at the store before the loss, it is replaced, and this loss
    # is said (it was not, and the operator was told about the wrong episode).
    entry = (await machine.s.store.snapshot(key)).get(key)
    since = _mark(entry.value).get("since") if entry is not None else None
    if isinstance(since, int | float) and since >= before_at - MARK_SLACK_S:
        return
    if not await machine.s.store.commit(Txn({key: entry.mod_revision if entry else 0},
                                            (Put(key, value),))):
        return
    machine.runtime_alert(
        None, STORE_RESET, f"the store lost what it held ({why}: etcd started again on an "
        "empty data directory, or restored from an older backup?); what operators had "
        "set — drained nodes, maintenance, offline modes, switchover targets — and the "
        "failure records are forgotten, and the agents act on the store as it is now: "
        f"check crg status and give again the commands still wanted ({lost}), then "
        "crg cleanup --store-reset", once=False, failed=False)


def reset_mark(snap: Snapshot, keys: Keys) -> dict[str, Any] | None:
    """The mark :func:`reset` left in ``snap``'s store (what ``crg status`` says): when,
    who saw the loss, why, and what operators had set before it; None if this store never
    lost anything, or its mark cannot be read (it is a note, not a state)."""
    entry = snap.get(keys.reset())
    mark = _mark(entry.value) if entry is not None else {}
    if not isinstance(mark.get("since"), int | float):
        return None
    return {"since": mark["since"], "by": str(mark.get("by", "")),
            "why": str(mark.get("why", "")), "lost": str(mark.get("lost", ""))}


async def forget_reset(store: Store, keys: Keys) -> dict[str, Any] | None:
    """Remove the mark :func:`reset` left (``crg cleanup --store-reset``, once operators
    have given again what the loss took): the mark it removed (empty if it could not be
    read), or None if there was none.
    Removed only as it was read, so that the mark of a loss seen meanwhile is not taken
    with it unread (StoreError if it kept changing)."""
    key = keys.reset()
    for _ in range(3):
        snap = await store.snapshot(key)
        entry = snap.get(key)
        mark = reset_mark(snap, keys)
        if entry is None:
            return None
        if await store.delete_if(key, entry.mod_revision):
            return mark if mark is not None else {}  # unreadable: it said nothing anyway
    raise StoreError("the store's reset mark kept changing while it was being removed")


def _since(value: str) -> str:
    try:
        return iso_time(float(_mark(value)["since"]))
    except (ValueError, KeyError, TypeError):
        return "an unknown time"
