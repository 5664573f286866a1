"""What the runtime knows beyond the spec's state, for ``crg status``: a group's failure
record (restarts used and when the window ends, bans and until when, the last fault and
its reason), a failure the monitors reported that is not applied yet, and the nodes that
stopped renewing their lease — *suspect*: the spec still counts them up until the lease
runs out, but whatever they host may be dead already (README, "Operating a cluster").
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from crg.dsl.model import Cluster, Group
from crg.runtime.records import Keys, Troubles, read_group, read_held, read_troubles
from crg.runtime.store.base import Snapshot, Store, StoreError

if TYPE_CHECKING:
    from crg.runtime.agent import Agent


@dataclass(frozen=True)
class Reported:
    node: str
    reason: str
    since: float
    """Wall-clock time the failure was seen."""


@dataclass(frozen=True)
class Observations:
    records: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    """Group -> its group record (``fault_time``, ``fault_node``, ``fault_reason``...)."""
    reported: Mapping[str, Reported] = field(default_factory=dict)
    """Group -> a failure its monitors reported that the spec has not been told of (held
    while the group is in maintenance, or not yet applied)."""
    suspects: Mapping[str, float] = field(default_factory=dict)
    """Node -> seconds until its lease runs out, for live nodes that stopped renewing."""
    troubles: Mapping[str, Troubles] = field(default_factory=dict)
    """Node -> the runtime alerts in force there, as it wrote them in the store
    (:mod:`crg.runtime.node_news`), for the nodes whose agents do not run here."""
    window_ends: Mapping[str, float] = field(default_factory=dict)
    """Group -> when its restart window ends by this host's clock, as the lanes here will
    decide it (the record's ``fault_time`` plus the window when no lane here has read it)."""


def recorded(snap: Snapshot, keys: Keys, groups: Sequence[Group],
             agents: Iterable[Agent]) -> Observations:
    """What ``snap`` and the ``agents`` here tell beyond the spec's state: failure records,
    failures reported, when restart windows end. Not the suspects: those take a call to
    the store per node, which ``crg status`` makes (:func:`suspects`) and the HTTP
    endpoint does not — load balancers poll it, and it answers from its last view while
    the store is away."""
    agents = list(agents)
    found = records(snap, keys, (g.name for g in groups))
    # A failure held on another host is read from the store; the agents here know their
    # own first (a failure just reported, not yet held or applied).
    told = {**held(snap, keys, (g.name for g in groups)), **reported(agents)}
    here = {agent.name for agent in agents}
    elsewhere = {key.rsplit("/", 1)[1] for key in snap.under(keys.troubles(""))}
    troubles = {node: read_troubles(snap, keys, node) for node in sorted(elsewhere - here)}
    return Observations(found, told, troubles=troubles,
                        window_ends=window_ends(agents, found, groups))


def held(snap: Snapshot, keys: Keys, groups: Iterable[str]) -> dict[str, Reported]:
    """The failures held during a maintenance, as their nodes wrote them in the store
    (:mod:`crg.runtime.node_news`)."""
    out = {}
    for group in groups:
        found = read_held(snap, keys, group)
        if found is not None:
            out[group] = Reported(*found)
    return out


def records(snap: Snapshot, keys: Keys, groups: Iterable[str]) -> dict[str, dict[str, Any]]:
    return {group: read_group(snap, keys, group) for group in groups}


def reported(agents: Iterable[Agent]) -> dict[str, Reported]:
    out = {}
    for agent in agents:
        machine = agent.machine
        for group, (_, reason) in machine.faults.items():
            out[group] = Reported(agent.name, reason, machine.fault_seen.get(group, 0.0))
    return out


def window_ends(agents: Iterable[Agent], records: Mapping[str, Mapping[str, Any]],
                groups: Iterable[Group]) -> dict[str, float]:
    """Group -> the earliest end of its restart window among the lanes here (see
    :meth:`crg.runtime.agent.Lane.window_ends`), for groups with a fault recorded."""
    windows = {g.name: g.restart_window_ms / 1000 for g in groups}
    out: dict[str, float] = {}
    for agent in agents:
        for group, lane in agent.lanes.items():
            since = records.get(group, {}).get("fault_time")
            if isinstance(since, int | float) and group in windows:
                ends = lane.window_ends(float(since), windows[group])
                out[group] = min(out.get(group, ends), ends)
    return out


async def suspects(store: Store, snap: Snapshot, keys: Keys, nodes: Iterable[str],
                   cluster: Cluster, *, dead: Iterable[str] = ()) -> dict[str, float]:
    """Live nodes whose lease has not been renewed for longer than a heartbeat and a
    store timeout (an agent renews every heartbeat, each renewal within a store timeout),
    or which this process knows are ``dead`` (the embedded runtime's crashed agents), each
    with the seconds until its lease runs out. A lease the store cannot tell about is not
    suspected."""
    ttl_s = cluster.lease_ms / 1000
    silent_s = (cluster.heartbeat_ms + cluster.store_timeout_ms) / 1000
    out = {}
    dead = set(dead)
    for node in nodes:
        entry = snap.get(keys.node(node))
        if entry is None or not entry.lease:
            continue  # down already: the spec says so
        left: float | None = None
        with contextlib.suppress(StoreError):
            left = await store.lease_left(entry.lease)
        if left is None:
            if node in dead:
                out[node] = ttl_s
            continue
        if node in dead or ttl_s - left > silent_s + store.lease_resolution_s:
            out[node] = round(max(left, 0.0), 1)
    return out
