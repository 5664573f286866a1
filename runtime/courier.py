"""Delivering service events to the groups that subscribe to them (``notify``).

A group's *service up/down* lives in the store (``events/<group>/<seq>``) until every
subscribing group has received it (:mod:`crg.runtime.notices` keeps it). Each receiving
group has its own queue there: the events of its sources after its acknowledgements
(``acks/<receiver>/<source>``), at most :data:`~crg.runtime.notices.QUEUE_LIMIT` per
source. The node that owns a receiving group runs that group's ``hook`` sinks for each
event, in the order the events were sent, acknowledging each; a new owner carries on
where the last one stopped (at least once: an owner that crashes between a hook and its
acknowledgement makes the next owner run it again, and a hook that fails is tried again,
:mod:`crg.runtime.hooks`).

Every receiving group has a delivery task of its own, so a slow hook, or one that never
returns until its time limit kills it, delays only its own group's events. Nothing is
lost in silence: a receiver that finds events of a source missing before the first one
it has (a sender had to drop them: its queue was full) says so in the log and in a
``runtime-alert``, and the ``received`` event of the next one names the gap.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from crg.runtime.hooks import run_hooks
from crg.runtime.records import (
    RecordError,
    read_ack,
    read_event,
    read_owner,
    stored_events,
    unreadable,
)
from crg.runtime.store.base import Snapshot, StoreError

if TYPE_CHECKING:
    from crg.runtime.machine import Machine

log = logging.getLogger("crg.runtime")

RETRY_S = 1.0
"""How long delivery rests after a failure that a new look at the store would repeat."""

GAP = "receive-events"
"""The runtime alert's ``action`` for events a receiver will never get."""


@dataclass(frozen=True)
class Pending:
    """One event to deliver: ``seq`` of ``source`` to ``receiver``, sent at ``revision``;
    ``after`` is the last one of ``source`` the receiver acknowledged."""

    revision: int
    receiver: str
    source: str
    seq: int
    after: int
    event: dict[str, Any]

    @property
    def missed(self) -> tuple[int, int] | None:
        """The events of ``source`` before this one that the receiver will never get."""
        return (self.after + 1, self.seq - 1) if self.seq > self.after + 1 else None


def pending(agent: Machine, snap: Snapshot, receiver: str) -> list[Pending]:
    """What ``receiver`` has not received yet, in the order it was sent (the store
    revisions of the events)."""
    keys, model = agent.s.keys, agent.s.model
    out = []
    for source in model.groups:
        if receiver not in source.subscribers:
            continue
        done = read_ack(snap, keys, receiver, source.name)
        for seq, key, entry in stored_events(snap, keys, source.name):
            if seq > done:
                out.append(Pending(entry.mod_revision, receiver, source.name, seq, done,
                                   read_event(key, entry)))
    out.sort(key=lambda p: (p.revision, p.source, p.seq))
    # Within a source, ``after`` is the event before (the first one follows the ack).
    ordered = []
    last: dict[str, int] = {}
    for item in out:
        ordered.append(replace(item, after=last.get(item.source, item.after)))
        last[item.source] = item.seq
    return ordered


def owned_receivers(agent: Machine, snap: Snapshot) -> list[str]:
    """The receiving groups this node owns (it delivers their events)."""
    keys, model = agent.s.keys, agent.s.model
    receivers = {r for source in model.groups for r in source.subscribers}
    return [g.name for g in model.groups if g.name in receivers
            and (owner := read_owner(snap, keys, g.name)) is not None
            and owner.node == agent.name]


async def run(agent: Machine) -> None:
    """Keep one delivery task running for every owned receiver with events to get."""
    store, keys = agent.s.store, agent.s.keys
    workers: dict[str, asyncio.Task[None]] = {}
    revision = 0
    paused = False  # said once per outage: the lease keeper and the lanes say it too
    try:
        while True:
            try:
                snap = await store.snapshot(keys.prefix)
                revision = snap.revision
                if paused:
                    paused = False
                    log.info("%s: event delivery resumes", agent.name)
                for receiver in owned_receivers(agent, snap):
                    worker = workers.get(receiver)
                    if (worker is None or worker.done()) and pending(agent, snap, receiver):
                        workers[receiver] = asyncio.create_task(
                            _deliver_all(agent, receiver), name=f"{agent.name}-to-{receiver}")
                agent.trouble_over(None, "deliver-events")
            except StoreError as exc:
                if not paused:
                    paused = True
                    log.warning("%s: event delivery paused: %s", agent.name, exc)
            except RecordError as exc:  # spoilt by another writer: its key says enough
                agent.runtime_alert(None, "deliver-events", unreadable(exc))
                await asyncio.sleep(RETRY_S)
                continue
            except Exception as exc:  # a bug: delivery must go on (nothing is acknowledged)
                log.exception("%s: event delivery failed", agent.name)
                agent.runtime_alert(None, "deliver-events", f"{type(exc).__name__}: {exc}")
            with contextlib.suppress(StoreError):
                await store.wait(keys.prefix, revision, int(agent.s.heartbeat_s * 1000))
    finally:
        for worker in workers.values():  # they die with the agent (a crash, a halt)
            worker.cancel()


async def _deliver_all(agent: Machine, receiver: str) -> None:
    """Deliver ``receiver``'s events in order while this node owns it."""
    store, keys = agent.s.store, agent.s.keys
    while True:
        try:
            snap = await store.snapshot(keys.prefix)
            owner = read_owner(snap, keys, receiver)
            if owner is None or owner.node != agent.name:
                return  # its new owner carries on from the acknowledgements
            queue = pending(agent, snap, receiver)
            if not queue:
                return
            for item in queue:
                if not await _deliver_one(agent, item):
                    break  # no longer ours, or the store changed under us: look again
        except StoreError as exc:
            log.warning("%s: delivering %s's events paused: %s", agent.name, receiver, exc)
            await asyncio.sleep(agent.s.heartbeat_s)
        except RecordError as exc:
            agent.runtime_alert(receiver, "deliver-events", unreadable(exc))
            await asyncio.sleep(RETRY_S)
        except Exception as exc:  # a bug: tell, then try again (nothing was acknowledged)
            log.exception("%s: delivering %s's events failed", agent.name, receiver)
            agent.runtime_alert(receiver, "deliver-events", f"{type(exc).__name__}: {exc}")
            await asyncio.sleep(RETRY_S)


async def _deliver_one(agent: Machine, item: Pending) -> bool:
    """Run the receiver's hooks for one event and acknowledge it; False when the
    event is no longer stored (its sender dropped it), or the acknowledgement found the
    store changed (someone else delivered meanwhile)."""
    store, keys = agent.s.store, agent.s.keys
    receiver, source = item.receiver, item.source
    key = keys.event(source, item.seq)
    if (await store.snapshot(key)).get(key) is None:
        # Dropped by its sender since the queue was read (it was full): the sender told
        # it dropped, so it is not delivered — the next look at the store finds the gap
        # and tells it. While its hooks run it stays stored: the sender keeps each
        # receiver's next event (crg.runtime.notices.retention).
        return False
    missed = item.missed
    if missed is not None:
        first, last = missed
        gone = f"{first}" if first == last else f"{first} to {last}"
        reason = (f"{receiver} will never receive {source}'s service event(s) {gone}: they "
                  "were dropped before it could (its queue was full); the next is "
                  f"{item.seq}")
        agent.runtime_alert(receiver, f"{GAP} {source}", reason, failed=False)
    event = item.event
    fields = {"event": event["event"], "cluster": event.get("cluster"),
              "group": receiver, "node": agent.name,
              "source_group": source, "source_node": event.get("node"),
              "vip": event.get("vip"), "reason": event.get("reason"),
              "time": event.get("time"), "seq": item.seq}

    async def still_ours() -> bool:
        owner = read_owner(await store.snapshot(keys.owner(receiver)), keys, receiver)
        return (owner is not None and owner.node == agent.name
                and (await store.snapshot(key)).get(key) is not None)

    results = await run_hooks(agent, receiver, fields, still_ours)
    if results is None:
        return False  # its new owner carries on, or the gap is told
    ack = keys.ack(receiver, source)
    entry = (await store.snapshot(ack)).get(ack)
    if (int(entry.value) if entry is not None else 0) >= item.seq:
        return False  # another owner got there first
    if not await store.compare_and_set(ack, str(item.seq),
                                       entry.mod_revision if entry else 0):
        return False
    record: dict[str, Any] = {"event": "received", "group": receiver, "node": agent.name,
                              "source_group": source, "source_event": event["event"],
                              "seq": item.seq, "hooks": results}
    if missed is not None:
        record["missed"] = list(missed)
    else:
        agent.trouble_over(receiver, f"{GAP} {source}")
    agent.s.events.emit(record)
    return True
