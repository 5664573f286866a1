"""What one node's HTTP endpoint answers.

``GET /health``: 200 while this node's agent runs and its lease is valid (renewed in
time, not cut off from the store); 503 otherwise — starting, crashed, cut off, or its
lease overdue. ``GET /groups/NAME``: 200 on the node that holds NAME with its
application up (the spec's mode ``normal`` or ``failover`` here), 503 on every other
node, 404 for a group the configuration does not have; the body is the group's status
as ``crg status --json`` gives it (with the runtime's observations: bans until when, the
last fault...; not the suspects), plus ``serving``, ``reason`` and ``node_asked``.
``GET /metrics``: the Prometheus text exposition of :class:`~crg.runtime.endpoint.metrics.Metrics`.

An agent that waits for the other nodes at a cold start (``crg run --start-wait``:
:class:`~crg.runtime.start_gate.StartGate`) is healthy: ``/health`` stays 200 and says
so in its body (``waiting``: the nodes it waits for and the seconds of the wait left, as
``crg status --json``; its ``reason`` says why). ``/health`` is the health of the
*agent* — it runs, renews its lease, answers commands — and a wait is part of its
normal start, bounded by the option; a 503 would have a liveness probe or a supervisor
restart the agent, which starts its wait over, and a load balancer that checks the
agent would take a node out that does just what it was told to. Whether a group is
served is ``/groups/NAME``'s question: 503 on every node while the wait keeps the
group on none, its ``reason`` saying that the agent waits.

Answers come from the agent's own last view of the store when it is recent (its lanes
read the store at least every heartbeat), else from a fresh read, else — the store does
not answer — from that last view: a node whose lease is still valid keeps its groups
while the store is away (it fences itself once cut off, and then answers 503). A view
older than a lease no longer says where anything runs — every lease it saw has run out
since, and every node cut off with it has fenced itself —, so it is not passed on: the
cluster's gauges are withdrawn (``crg_group_app_up`` says 0: not known to be up, so that
a store out of reach of every node pages as a group not served), ``/groups/NAME`` says
that where the group runs is unknown, and ``crg_view_age_seconds`` how old the view is.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from crg.dsl.redact import redact_data
from crg.runtime.commit import Services
from crg.runtime.endpoint.metrics import CONTENT_TYPE, Metrics
from crg.runtime.endpoint.server import Response
from crg.runtime.observations import Observations
from crg.runtime.records import RecordError, encode
from crg.runtime.status import NOTHING_SEEN, status_of, too_old
from crg.runtime.store.base import Snapshot, StoreError
from crg.spec import State

if TYPE_CHECKING:
    from crg.runtime.agent import Agent

FRESH_HEARTBEATS = 2
"""A view of the store read within this many heartbeats is recent enough to answer from."""


def _nothing_seen(snap: Snapshot) -> Observations:
    return NOTHING_SEEN


class NodeEndpoint:
    def __init__(self, services: Services, node: str, agent: Callable[[], Agent | None],
                 metrics: Metrics, *, mode: str, absent: str, config_sha256: str,
                 observe: Callable[[Snapshot], Observations] = _nothing_seen) -> None:
        """``agent()``: this node's agent now (None: not running); ``absent``: what a
        node without an agent is (``starting``, or ``down`` once crashed); ``observe``:
        the runtime's observations of a snapshot, the same ``crg status`` shows (failure
        records, bans until when...), less the suspects (see
        :func:`crg.runtime.observations.recorded`)."""
        self.s = services
        self.observe = observe
        self.node = node
        self.agent = agent
        self.metrics = metrics
        self.mode = mode
        self.absent = absent
        self.config_sha256 = config_sha256
        self.groups = {g.name for g in services.config.groups}
        self.address: str | None = None
        """``HOST:PORT`` once it listens (``crg status`` shows it)."""

    async def handle(self, path: str) -> Response:
        if path == "/metrics":
            return await self.scrape()
        if path in ("/health", "/health/"):
            ok, body = self.health()
            return _json(200 if ok else 503, body)
        if path.startswith("/groups/"):
            return await self.group(path.removeprefix("/groups/").rstrip("/"))
        return _json(404, {"error": f"no such resource {path!r}; try /health, /metrics or "
                                    "/groups/NAME"})

    # -- /health -------------------------------------------------------------------------

    def health(self) -> tuple[bool, dict[str, Any]]:
        body: dict[str, Any] = {"node": self.node, "config_sha256": self.config_sha256}
        agent = self.agent()
        if agent is None:
            return False, {**body, "status": self.absent,
                           "reason": f"{self.node}'s agent is not running ({self.absent})"}
        keeper = agent.keeper
        silent = time.monotonic() - keeper.renewed_at
        body["lease_renewed_s_ago"] = round(silent, 3)
        if (waiting := agent.gate.waiting()) is not None:
            body["waiting"] = waiting
        if not agent.started:
            return False, {**body, "status": "starting",
                           "reason": f"{self.node}'s agent is starting"}
        if not agent.running:
            return False, {**body, "status": "stopped", "reason": "the agent's tasks ended"}
        if keeper.cut:
            return False, {**body, "status": "cut",
                           "reason": "cut off from the store: its groups are fenced"}
        if keeper.cut_when_silent and silent >= keeper.cut_after_s:
            return False, {**body, "status": "overdue",
                           "reason": f"its lease was last renewed {silent:.1f} s ago"}
        reason = "running, lease valid"
        if (held := agent.gate.holding()) is not None:
            reason += f"; {held}"  # healthy all the same: see the module's docstring
        return True, {**body, "status": "running", "reason": reason}

    # -- /groups/NAME --------------------------------------------------------------------

    async def group(self, name: str) -> Response:
        if name not in self.groups:
            return _json(404, {"error": f"no group {name!r} in cluster "
                                        f"{self.s.config.cluster.name}",
                               "groups": sorted(self.groups)})
        ok, health = self.health()
        try:
            read = await self.read()
        except RecordError as exc:  # nothing to go by: not serving, and why
            return _json(503, {"group": name, "serving": False, "node": self.node,
                               "reason": f"the store holds a record this node cannot "
                                         f"read: {exc}"})
        if read is None:
            return _json(503, {"group": name, "serving": False, "node": self.node,
                               "reason": "the store cannot be read and this node has no "
                                         "view of it yet"})
        snap, state, age = read
        if self.stale(age):
            return _json(503, {"group": name, "serving": False, "node_asked": self.node,
                               "view_age_s": round(age, 3), "revision": snap.revision,
                               "reason": f"where {name} runs is unknown here: "
                                         f"{self.node} cannot read the store, and its last "
                                         f"view of it is {age:.0f} s old, older than a "
                                         f"lease ({self.s.ttl_ms / 1000:g} s)"})
        agents = {self.node: agent} if (agent := self.agent()) is not None else {}
        status = status_of(self.s.config, self.s.model, state, snap.revision,
                           mode=self.mode, address=None, agents=agents,
                           seen=self.observe(snap))
        entry = next(g for g in status["groups"] if g["group"] == name)
        serving = (ok and entry["node"] == self.node and entry["app"] == "up"
                   and entry["mode"] in ("normal", "failover"))
        if serving:
            reason = f"{name} runs here in {entry['mode']} mode"
        elif not ok:
            reason = health["reason"]
        elif entry["node"] is None and agent is not None \
                and (held := agent.gate.holding()) is not None:
            reason = f"{name} runs on no node yet: {held}"
        elif entry["node"] != self.node:
            reason = f"{name} runs on {entry['node'] or 'no node'}, not here"
        else:
            reason = f"{name} is here in {entry['mode']} mode, application {entry['app']}"
        return _json(200 if serving else 503, {**entry, "serving": serving,
                                               "node_asked": self.node, "reason": reason,
                                               "revision": snap.revision,
                                               "view_age_s": round(age, 3)})

    # -- /metrics ------------------------------------------------------------------------

    async def scrape(self) -> Response:
        ok, _ = self.health()
        agent = self.agent()
        troubles = [group for group, _ in agent.machine.troubles] if agent else []
        waiting = agent.gate.waiting() if agent else None
        try:
            read = await self.read()
            snap, state, age = read if read is not None else (None, None, None)
            self.metrics.observe(state, snap, running=agent is not None, lease_valid=ok,
                                 config_sha256=self.config_sha256, troubles=troubles,
                                 waiting=waiting, view_age_s=age,
                                 stale=age is not None and self.stale(age))
        except RecordError:  # the group gauges keep their last values; the lanes alert
            self.metrics.observe(None, None, running=agent is not None, lease_valid=ok,
                                 config_sha256=self.config_sha256, troubles=troubles,
                                 waiting=waiting)
        return Response(200, self.metrics.exposition(), CONTENT_TYPE)

    # -- reading -------------------------------------------------------------------------

    def stale(self, age_s: float) -> bool:
        """Whether a view this old no longer says where anything runs (see the module's
        docstring)."""
        return too_old(age_s, self.s.ttl_ms / 1000)

    async def read(self) -> tuple[Snapshot, State, float] | None:
        """The view to answer from, its state, and its age in seconds (0: read now)."""
        agent = self.agent()
        view = agent.keeper.view if agent is not None else None
        view_age = time.monotonic() - agent.keeper.view_at if agent is not None else 0.0
        fresh = (agent is not None and view is not None
                 and view_age < FRESH_HEARTBEATS * self.s.heartbeat_s)
        snap, age = (view, view_age) if fresh else (None, 0.0)
        if snap is None and not (agent is not None and agent.keeper.cut):
            try:
                snap = await self.s.store.snapshot(self.s.keys.prefix)
            except StoreError:
                snap = None
        if snap is None:
            snap, age = view, view_age
        if snap is None:
            return None
        if agent is None:
            return snap, encode(self.s.model, self.s.keys, snap), age
        return snap, encode(self.s.model, self.s.keys, snap, me=agent.index,
                            my_facts=agent.machine.holdings.facts,
                            me_cut=agent.keeper.cut), age


def _json(status: int, body: dict[str, Any]) -> Response:
    # Every answer with the URLs' secrets hidden, as the control socket's: the endpoint
    # is served to the network, without authentication.
    return Response(status, (json.dumps(redact_data(body), sort_keys=True) + "\n").encode())
