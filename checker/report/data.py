"""The check as plain data: ``crg check --format json`` puts this under each file's
``check`` key. Stable field names; times in seconds (floats), counts as integers."""

from __future__ import annotations

from typing import Any

from crg.checker.report.advice import advice
from crg.checker.report.steps import settled_events, simulate_command, step_views
from crg.checker.result import CheckReport, Property, PropertyResult, Verdict, Violation
from crg.dsl import Config
from crg.spec.present.modes import action_dict


def report_to_dict(path: str, report: CheckReport,
                   itf_files: dict[str, str] | None = None,
                   config: Config | None = None) -> dict[str, Any]:
    itf_files = itf_files or {}
    return {
        "engine": "explicit",
        "states": report.states,
        "seconds": round(report.seconds, 3),
        "options": dict(report.options),
        "components": [
            {"groups": list(c.groups), "states": c.states, "edges": c.edges,
             "seconds": round(c.seconds, 3), "layers": c.layers, "complete": c.complete,
             "reused_from": list(c.reused_from) if c.reused_from else None,
             "symmetry": c.symmetry or None, "reduced": c.reduced, "limit": c.limit or None,
             "predicted": c.predicted or None}
            for c in report.components],
        "properties": [_result(path, r, itf_files, config) for r in report.results.values()],
    }


def combined_to_dict(path: str, results: dict[Property, PropertyResult],
                     itf_files: dict[str, str] | None = None,
                     config: Config | None = None) -> list[dict[str, Any]]:
    """Every property as the check decided it, whichever engine did (what the text
    report's table and traces show), with ``engine`` naming who decided."""
    itf_files = itf_files or {}
    return [{**_result(path, r, itf_files, config),
             "engine": r.engine if r.verdict is not Verdict.UNKNOWN else None}
            for r in results.values()]


def _result(path: str, r: PropertyResult, itf_files: dict[str, str],
            config: Config | None) -> dict[str, Any]:
    return {
        "name": r.prop.name,
        "kind": "liveness" if r.prop.liveness else "safety",
        "verdict": r.verdict.value,
        "states": r.states,
        "depth": r.depth,
        "seconds": round(r.seconds, 3),
        "reason": r.reason or None,
        "violation": (None if r.violation is None
                      else violation_to_dict(path, r.violation, itf_files.get(r.prop.ident),
                                             config)),
    }


def violation_to_dict(path: str, v: Violation, itf: str | None = None,
                      config: Config | None = None) -> dict[str, Any]:
    model = v.trace.model
    return {
        "group": v.group,
        "kind": v.kind,
        "detail": v.detail,
        "hint": advice(config, v) if config is not None else None,
        "failures": v.failures,
        "length": v.trace.length,
        "events": [action_dict(model, a) for a in v.trace.events],
        "steps": [{"index": s.index, "action": action_dict(model, s.action),
                   "description": s.description, "event": s.event,
                   "changes": list(s.changes), "closes_loop": s.closes_loop}
                  for s in step_views(v.trace)],
        "loop": v.trace.loop,
        "simulate": simulate_command(path, v.trace),
        "simulate_exact": settled_events(v.trace),
        "itf": itf,
    }
