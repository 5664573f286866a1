"""``crg check --format sarif``: SARIF 2.1.0 for code-review tools.

One run for all files. Each property is a rule; each violation is a result at the
statement of the group concerned (:mod:`crg.checker.report.locate`), with the
counterexample as a code flow whose steps point at the groups they touch. Invalid
configurations are results of the rule ``config``, at each diagnostic.
"""

from __future__ import annotations

from pathlib import PurePath
from typing import Any

from crg import __version__
from crg.checker.report.locate import span_of
from crg.checker.report.steps import step_views
from crg.checker.result import PROPERTIES, CheckReport, Violation
from crg.dsl import Config, ConfigError
from crg.dsl.source import Span
from crg.spec import STATE_INVARIANTS

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
    return out


def to_sarif(entries: list[tuple[str, Config | None, CheckReport | None, Exception | None]],
             exit_code: int) -> dict[str, Any]:
    """``entries``: per file, its path, config (if valid), check report (if checked) and
    problem (if any)."""
    rule_ids = [r["id"] for r in rules()]
    results: list[dict[str, Any]] = []
    for path, config, report, problem in entries:
        if isinstance(problem, ConfigError):
            for d in problem.errors:
                results.append({
                    "ruleId": "config", "ruleIndex": rule_ids.index("config"),
                    "level": "error", "message": {"text": d.message},
                    "locations": [_location(path, d.span)]})
        elif problem is not None:
            results.append({"ruleId": "config", "ruleIndex": rule_ids.index("config"),
                            "level": "error", "message": {"text": str(problem)},
                            "locations": [_location(path, None)]})
        if config is None or report is None:
            continue
        for v in report.violations:
            results.append(_result(path, config, v, rule_ids))
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


def _result(path: str, config: Config, v: Violation, rule_ids: list[str]) -> dict[str, Any]:
    where = f" in group {v.group}" if v.group else ""
    message = (f"{v.prop.label} violated{where} after {v.failures} "
               f"environment event{'s' if v.failures != 1 else ''} "
               f"({v.trace.length} steps): {v.detail}")
    flow = []
    for step in step_views(v.trace):
        group = (v.trace.model.groups[step.action.group].name
                 if step.action.group >= 0 else None)
        span = config.group(group).span if group is not None else config.cluster.span
        text = step.description + (" (back to the loop's start)" if step.closes_loop else "")
        if step.changes:
            text += ": " + "; ".join(step.changes)
        flow.append({"location": {**_location(path, span), "message": {"text": text}}})
    result: dict[str, Any] = {
        "ruleId": v.prop.ident,
        "ruleIndex": rule_ids.index(v.prop.ident),
        "level": "error",
        "message": {"text": message},
        "locations": [_location(path, span_of(config, v))],
    }
    if flow:
        result["codeFlows"] = [{"threadFlows": [{"locations": flow}]}]
    return result


def _location(path: str, span: Span | None) -> dict[str, Any]:
    physical: dict[str, Any] = {"artifactLocation": {"uri": PurePath(path).as_posix()}}
    if span is not None and span.line > 0:
        physical["region"] = {"startLine": span.line, "startColumn": span.column,
                              "endLine": span.end_line, "endColumn": span.end_column}
    return {"physicalLocation": physical}
