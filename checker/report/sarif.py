"""``crg check --format sarif``: SARIF 2.1.0 for code-review tools.

One run for all files. Each property is a rule; each violation is a result at the
statement of the group concerned (:mod:`crg.checker.report.locate`), with the
counterexample as a code flow whose steps point at the groups they touch. Invalid
configurations are results of the rule ``config``, at each error; the language's warnings
are results of level warning of the rule ``config-warning``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import PurePath
from typing import Any

from crg import __version__
from crg.checker.report.locate import span_of
from crg.checker.report.steps import step_views
from crg.checker.result import PROPERTIES, CheckReport, Violation
from crg.dsl import Config, ConfigError
from crg.dsl.diagnostics import Diagnostic
from crg.dsl.redact import redact
from crg.dsl.source import Span
from crg.spec import STATE_INVARIANTS
from crg.spec.present.words import count

SCHEMA_URI = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
_STATEMENTS = {inv.name: " ".join(inv.statement.split()) for inv in STATE_INVARIANTS}
_EXTRA = {
    "halt-order": "The halt method runs in the exact reverse order of the run method.",
    "vip-held/liveness": "Under weak fairness of the cluster service, every run without "
                         "further events settles (no livelock, no flapping).",
}


def rules() -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for prop in PROPERTIES:
        text = _EXTRA.get(prop.ident) or _STATEMENTS.get(prop.name, prop.label)
        out.append({"id": prop.ident, "name": prop.label,
                    "shortDescription": {"text": text},
                    "defaultConfiguration": {"level": "error"}})
    out.append({"id": "config", "name": "configuration",
                "shortDescription": {"text": "The configuration is invalid."},
                "defaultConfiguration": {"level": "error"}})
    out.append({"id": "config-warning", "name": "configuration warning",
                "shortDescription": {"text": "The configuration is valid, but a statement is "
                                             "likely not what was meant."},
                "defaultConfiguration": {"level": "warning"}})
    return out


def _warnings(path: str, warnings: Sequence[Diagnostic], rule_ids: list[str]
              ) -> list[dict[str, Any]]:
    """The language's warnings (no standby, fencing not explored...), as crg check's text
    prints them: a review tool that showed errors only hid what the text says first."""
    return [{"ruleId": "config-warning", "ruleIndex": rule_ids.index("config-warning"),
             "level": "warning", "message": {"text": redact(d.message)},
             "locations": [_location(path, d.span)],
             "properties": {"code": d.code}} for d in warnings]


def to_sarif(entries: list[tuple[str, Config | None, CheckReport | None, Exception | None,
                                 list[Violation]]],
             exit_code: int) -> dict[str, Any]:
    """``entries``: per file, its path, config (if valid), the explicit engine's report (if
    it ran), problem (if any) and the symbolic engine's counterexamples. A property both
    engines refute is one result with a code flow from each."""
    rule_ids = [r["id"] for r in rules()]
    results: list[dict[str, Any]] = []
    for path, config, report, problem, symbolic in entries:
        if isinstance(problem, ConfigError):
            for d in problem.errors:
                results.append({
                    "ruleId": "config", "ruleIndex": rule_ids.index("config"),
                    "level": "error", "message": {"text": redact(d.message)},
                    "locations": [_location(path, d.span)]})
            results += _warnings(path, problem.warnings, rule_ids)
        elif problem is not None:
            results.append({"ruleId": "config", "ruleIndex": rule_ids.index("config"),
                            "level": "error", "message": {"text": redact(str(problem))},
                            "locations": [_location(path, None)]})
        if config is None:
            continue
        results += _warnings(path, config.warnings, rule_ids)
        by_prop: dict[str, list[tuple[str, Violation]]] = {}
        for engine, found in (("explicit", report.violations if report else []),
                              ("symbolic", symbolic)):
            for v in found:
                by_prop.setdefault(v.prop.ident, []).append((engine, v))
        for ident in sorted(by_prop, key=rule_ids.index):
            results.append(_result(path, config, by_prop[ident], rule_ids))
    return {
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "crg", "version": __version__, "rules": rules()}},
            "invocations": [{"executionSuccessful": exit_code in (0, 1, 4),
                             "exitCode": exit_code}],
            "results": results,
        }],
    }


def _result(path: str, config: Config, found: list[tuple[str, Violation]],
            rule_ids: list[str]) -> dict[str, Any]:
    v = found[0][1]
    where = f" in group {v.group}" if v.group else ""
    engines = " and ".join(e for e, _ in found)
    message = (f"{v.prop.label} violated{where} after "
               f"{count(v.failures, 'environment event')} "
               f"({count(v.trace.length, 'step')}; found by the {engines} engine"
               f"{'s' if len(found) > 1 else ''}): {v.detail}")
    result: dict[str, Any] = {
        "ruleId": v.prop.ident,
        "ruleIndex": rule_ids.index(v.prop.ident),
        "level": "error",
        "message": {"text": message},
        "locations": [_location(path, span_of(config, v))],
        "properties": {"engines": [e for e, _ in found]},
    }
    flows = [_flow(path, config, e, x) for e, x in found]
    flows = [f for f in flows if f is not None]
    if flows:
        result["codeFlows"] = flows
    return result


def _flow(path: str, config: Config, engine: str, v: Violation) -> dict[str, Any] | None:
    flow = []
    for step in step_views(v.trace):
        group = (v.trace.model.groups[step.action.group].name
                 if step.action.group >= 0 else None)
        span = config.group(group).span if group is not None else config.cluster.span
        text = step.description + (" (back to the loop's start)" if step.closes_loop else "")
        if step.changes:
            text += ": " + "; ".join(step.changes)
        flow.append({"location": {**_location(path, span), "message": {"text": text}}})
    if not flow:
        return None
    return {"message": {"text": f"the {engine} engine's counterexample"},
            "threadFlows": [{"locations": flow}]}


def _location(path: str, span: Span | None) -> dict[str, Any]:
    physical: dict[str, Any] = {"artifactLocation": {"uri": PurePath(path).as_posix()}}
    if span is not None and span.line > 0:
        physical["region"] = {"startLine": span.line, "startColumn": span.column,
                              "endLine": span.end_line, "endColumn": span.end_column}
    return {"physicalLocation": physical}
