"""Alerts to the operator's alert sinks: the spec's (the last-node alert and the blocked
alert, :mod:`crg.runtime.notices`) and the runtime's own (a physical step that keeps
failing, events dropped, a stop that needed SIGKILL, processes that could not be looked
for: :meth:`crg.runtime.machine.Machine.runtime_alert`).

A runtime alert about a group goes to that group's sinks; one about the node as a whole
(``group`` None) to the sinks of every group that may run on the node, each sink once:
those are the groups it concerns, and a sink several groups share is one pager. One
about the cluster (``node`` None too: the embedded runtime has no node left) goes to
every group's sinks, each once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from crg.dsl.model import Group, Sink
from crg.dsl.redact import redact
from crg.runtime.drivers.process import Supervisor
from crg.runtime.drivers.sinks import (
    COMMAND_TIMEOUT_S,
    WEBHOOK_ATTEMPTS,
    WEBHOOK_BACKOFF_S,
    WEBHOOK_TIMEOUT_S,
    EventLog,
    deliver,
)
from crg.runtime.telemetry import NO_TELEMETRY, Telemetry

log = logging.getLogger("crg.runtime")

DELIVERY_S = max(COMMAND_TIMEOUT_S, WEBHOOK_ATTEMPTS * (WEBHOOK_TIMEOUT_S + 2 * WEBHOOK_BACKOFF_S))
"""The longest one delivery takes before it gives up: how long a runtime on its way out
waits for its last alerts."""


def sinks_for(groups: Mapping[str, Group], group: str | None,
              node: str | None) -> list[tuple[Sink, str]]:
    """The alert sinks an alert about ``group`` (None: about ``node`` as a whole; both
    None: about the cluster, which every group runs on) goes to, each with the group
    whose placeholders fill it in."""
    if group is not None:
        return [(sink, group) for sink in groups[group].alerts]
    chosen: dict[Sink, str] = {}
    for name, config in groups.items():
        if node is None or node in config.candidates:
            for sink in config.alerts:
                chosen.setdefault(sink, name)
    return list(chosen.items())


def sink_name(sink: Sink, role: str = "alert") -> str:
    """``alert sink webhook https://***@hooks.example/x``: a sink as the operator wrote
    it (``role``: ``alert``, or ``hook`` for a receiving group's), its URL's secrets
    hidden (the name goes to the log and to ``crg status``)."""
    return f"{role} sink {sink.kind.value} {redact(sink.target or '')}".rstrip()


def about_itself(sink: Sink, payload: Mapping[str, Any]) -> bool:
    """Whether ``payload`` is the runtime alert (or its end) about ``sink`` failing: it
    goes to the group's other sinks, not to the one that fails."""
    return payload.get("action") == sink_name(sink)


async def send(events: EventLog, supervisor: Supervisor, node: str, sink: Sink,
               payload: Mapping[str, Any], values: Mapping[str, str],
               telemetry: Telemetry = NO_TELEMETRY,
               done: Callable[[bool, str], None] | None = None) -> None:
    """Deliver one alert to one sink and record how it went (``alert-delivered`` or
    ``alert-failed``, and the metrics; ``done(ok, detail)`` after); never raises
    (:func:`deliver` does not)."""
    fields = {k: v for k, v in payload.items() if k != "recipients"}
    ok, detail = await deliver(sink, fields, values, supervisor)
    telemetry.alert_delivery(sink.kind.value, ok)
    if not ok:
        log.warning("%s: %s not delivered: %s", node, described(payload, node), detail)
    record = {"event": "alert-delivered" if ok else "alert-failed", "alert": payload["event"],
              "group": payload.get("group"), "node": node, "sink": sink.kind.value,
              "detail": detail}
    about = _other_node(payload, node)
    if about is not None:
        record["about"] = about
    events.emit(record)
    if done is not None:
        done(ok, detail)


def described(payload: Mapping[str, Any], node: str) -> str:
    """An alert ``node`` sends, for the log: ``alert of web``, ``runtime-alert of node
    n2`` (about the sender as a whole), ``runtime-alert no-node-left about the cluster``
    (about no node), or ``runtime-alert node-lost about node n1``: one node telling of
    another (its loss) must not read as news about the sender."""
    event, group = payload["event"], payload.get("group")
    if group:
        return f"{event} of {group}"
    if "node" in payload and payload["node"] is None:
        return f"{event} {payload.get('action')} about the cluster"
    about = _other_node(payload, node)
    if about is None:
        return f"{event} of node {node}"
    action = payload.get("action")
    return f"{event}{f' {action}' if action else ''} about node {about}"


def _other_node(payload: Mapping[str, Any], node: str) -> str | None:
    """The node a node-wide alert is about when that is not ``node``, its sender."""
    about = payload.get("node")
    if payload.get("group") or not isinstance(about, str) or about == node:
        return None
    return about
