"""Delivering service events to the groups that subscribe to them (``notify``).

A group's *service up/down* lives in the store (``events/<group>/<seq>``, the last
:data:`~crg.runtime.notices.KEEP_EVENTS` kept). Each receiving group's events are
delivered to its ``hook`` sinks by the node that owns the receiving group, in order, and
acknowledged in ``acks/<receiver>/<source>``, so a new owner carries on where the last
one stopped. While a receiving group has no owner its events wait in the store; its next
owner delivers them (at least once: an owner that crashes between running a hook and
acknowledging it makes the next owner run it again).
"""

from __future__ import annotations

import contextlib
import json
import logging
from typing import TYPE_CHECKING, Any

from crg.runtime.drivers.sinks import deliver
from crg.runtime.records import read_owner
from crg.runtime.store.base import Snapshot, StoreError

if TYPE_CHECKING:
    from crg.runtime.machine import Machine

log = logging.getLogger("crg.runtime")


def pending(agent: Machine, snap: Snapshot) -> list[tuple[str, str, int, dict[str, Any]]]:
    """(receiver, source, seq, event) to deliver now from this node, in order."""
    keys, model = agent.s.keys, agent.s.model
    out = []
    for receiver in model.groups:
        owner = read_owner(snap, keys, receiver.name)
        if owner is None or owner.node != agent.name:
            continue
        for source in model.groups:
            if receiver.name not in source.subscribers:
                continue
            ack = snap.get(keys.ack(receiver.name, source.name))
            done = int(ack.value) if ack is not None else 0
            for key, entry in sorted(snap.under(keys.events(source.name)).items()):
                seq = int(key.rsplit("/", 1)[1])
                if seq > done:
                    out.append((receiver.name, source.name, seq, json.loads(entry.value)))
    return out


async def run(agent: Machine) -> None:
    store, keys = agent.s.store, agent.s.keys
    revision = 0
    while True:
        try:
            snap = await store.snapshot(keys.prefix)
            revision = snap.revision
            for receiver, source, seq, event in pending(agent, snap):
                await deliver_one(agent, receiver, source, seq, event)
                ack = keys.ack(receiver, source)
                entry = (await store.snapshot(ack)).get(ack)
                await store.compare_and_set(ack, str(seq), entry.mod_revision if entry else 0)
        except StoreError as exc:
            log.warning("%s: event delivery paused: %s", agent.name, exc)
        with contextlib.suppress(StoreError):
            await store.wait(keys.prefix, revision, int(agent.s.heartbeat_s * 1000))


async def deliver_one(agent: Machine, receiver: str, source: str, seq: int,
                      event: dict[str, Any]) -> None:
    group = agent.groups[receiver]
    fields = {"event": event["event"], "cluster": event.get("cluster"),
              "group": receiver, "node": agent.name,
              "source_group": source, "source_node": event.get("node"),
              "vip": event.get("vip"), "reason": event.get("reason"),
              "time": event.get("time"), "seq": seq}
    results = []
    for sink in group.hooks:
        ok, detail = await deliver(sink, fields, agent.values(receiver), agent.supervisor)
        if not ok:
            log.warning("%s: hook of %s for %s %s failed: %s", agent.name, receiver,
                        event["event"], source, detail)
        results.append({"sink": sink.kind.value, "ok": ok, "detail": detail})
    agent.s.events.emit({"event": "received", "group": receiver, "node": agent.name,
                         "source_group": source, "source_event": event["event"],
                         "seq": seq, "hooks": results})
