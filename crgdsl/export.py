"""The validated configuration as plain data (``crg show --format json``), for tools.

The shape is documented in README.md and described by ``crg/schemas/config.schema.json``;
``version`` changes when a field changes meaning or disappears (new fields may be added).
Times are integers in milliseconds, lists keep the file's order except ``faults`` (a set,
sorted), and every default is filled in, so a reader never needs crg's default values.
"""

from __future__ import annotations

from typing import Any

from crg.dsl.diagnostics import Diagnostic
from crg.dsl.model import App, Command, Config, Group, Monitor, Sink
from crg.dsl.redact import redact

FORMAT_VERSION = 1

_UNITS = (("h", 3_600_000), ("m", 60_000), ("s", 1000), ("ms", 1))


def duration_text(ms: int) -> str:
    """``90000`` -> ``1m30s``: the shortest spelling the language reads back."""
    if ms <= 0:
        return f"{ms}ms"
    parts = []
    for unit, size in _UNITS:
        count, ms = divmod(ms, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts)


def config_to_dict(config: Config) -> dict[str, Any]:
    cluster = config.cluster
    return {
        "version": FORMAT_VERSION,
        "cluster": {
            "name": cluster.name,
            "nodes": list(cluster.nodes),
            "lease_ms": cluster.lease_ms,
            "heartbeat_ms": cluster.heartbeat_ms,
            "store_timeout_ms": cluster.store_timeout_ms,
            "fence_margin_ms": cluster.fence_margin_ms,
            "max_down": cluster.max_down,
            "faults": sorted(fault.value for fault in cluster.faults),
        },
        "groups": [group_to_dict(group) for group in config.groups],
        "warnings": [diagnostic_to_dict(w, brief=True) for w in config.warnings],
    }


def group_to_dict(group: Group) -> dict[str, Any]:
    return {
        "name": group.name,
        "kind": group.kind.value,
        "vip": {"address": group.vip.address, "prefix": group.vip.prefix,
                "device": group.vip.device},
        "app": _app(group.app),
        "monitors": [_monitor(m) for m in group.monitors],
        "preferred": group.preferred,
        "possible": list(group.possible),
        "candidates": list(group.candidates),
        "failback": group.failback.value,
        "restarts": group.restarts,
        "restart_window_ms": group.restart_window_ms,
        "notify": list(group.notify),
        "avoid": list(group.avoid),
        "alerts": [_sink(s) for s in group.alerts],
        "hooks": [_sink(s) for s in group.hooks],
        "fencing": group.fencing.value,
        "line": group.span.line,
    }


def diagnostic_to_dict(diagnostic: Diagnostic, *, brief: bool = False) -> dict[str, Any]:
    """A diagnostic for JSON output; ``brief`` leaves out what the warnings list of
    :func:`config_to_dict` does not need (severity, end of span)."""
    span = diagnostic.span
    data: dict[str, Any] = {"line": span.line, "column": span.column,
                            "message": redact(diagnostic.message), "code": diagnostic.code,
                            "hint": None if diagnostic.hint is None else redact(diagnostic.hint)}
    if brief:
        return data
    return {"severity": diagnostic.severity.value, **data, "end_line": span.end_line,
            "end_column": span.end_column}


def _command(command: Command | None) -> dict[str, Any] | None:
    if command is None:
        return None
    return {"command": command.text, "argv": list(command.argv),
            "timeout_ms": command.timeout_ms}


def _app(app: App) -> dict[str, Any]:
    stop = app.stop
    return {
        "start": _command(app.start),
        "stop": {"command": stop.command.text if stop.command else None,
                 "argv": list(stop.command.argv) if stop.command else None,
                 "signal": stop.signal, "timeout_ms": stop.timeout_ms},
        "status": _command(app.status),
        "env": dict(app.env),
        "shell": app.shell,
        "dir": app.directory,
    }


def _monitor(monitor: Monitor) -> dict[str, Any]:
    return {"kind": monitor.kind.value, "target": monitor.target,
            "interval_ms": monitor.interval_ms, "timeout_ms": monitor.timeout_ms,
            "fails": monitor.fails, "line": monitor.span.line}


def _sink(sink: Sink) -> dict[str, Any]:
    return {"kind": sink.kind.value, "target": sink.target}
