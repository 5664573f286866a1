"""``crg check --format junit``: JUnit XML for CI dashboards. One test suite per file, one
test case per property as the check decided it (``--engine auto``, whichever engine did),
or per property and engine (``both``, ``symbolic``: the symbolic engine's are named
``<property> (symbolic)``); a violation is a failure (its trace is the text), a property
the engine did not decide is skipped with the reason, an invalid file is an error. Each
of the language's warnings is a passing test case with the warning as its output (see
``_warning_cases``)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence
from typing import Any, NamedTuple

from crg.checker.report.steps import step_views
from crg.checker.result import PROPERTIES, CheckReport, Verdict, Violation
from crg.dsl import ConfigError
from crg.dsl.diagnostics import Diagnostic, render_one, visible
from crg.dsl.redact import redact
from crg.dsl.source import Source


class Entry(NamedTuple):
    """One file."""

    path: str
    report: CheckReport | None
    """The explicit engine's report."""
    problem: Exception | None
    """What stopped the check."""
    symbolic: dict[str, Any] | None
    """The symbolic engine's ``{"verdicts", "details"}``."""
    symbolic_violations: list[Violation]
    """The symbolic engine's counterexamples."""
    source: Source | None = None
    """The configuration's text, where its warnings point."""
    warnings: Sequence[Diagnostic] = ()
    """The language's warnings (of an invalid configuration too)."""


def to_junit(entries: list[Entry]) -> str:
    root = ET.Element("testsuites", name="crg check")
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    seconds = 0.0
    for path, report, problem, symbolic, symbolic_violations, source, warnings in entries:
        suite = ET.SubElement(root, "testsuite", name=path)
        counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
        if source is not None:
            _warning_cases(suite, path, source, warnings, counts)
        if problem is not None or (report is None and symbolic is None):
            case = ET.SubElement(suite, "testcase", classname=_classname(path),
                                 name="validate", time="0")
            error = ET.SubElement(case, "error", type="config",
                                  message=_problem_message(problem))
            error.text = _problem_text(problem)
            counts["tests"] += 1
            counts["errors"] += 1
        suite_seconds = 0.0
        if problem is None and report is not None:
            suite_seconds += report.seconds
            for result in report.results.values():
                case = ET.SubElement(suite, "testcase", classname=_classname(path),
                                     name=result.prop.label, time=f"{result.seconds:.3f}")
                counts["tests"] += 1
                if result.violation is not None:
                    failure = ET.SubElement(case, "failure", type=result.prop.ident,
                                            message=_failure_message(result.violation))
                    failure.text = trace_text(result.violation)
                    counts["failures"] += 1
                elif result.verdict is not Verdict.HOLDS:
                    ET.SubElement(case, "skipped", message=_skip_message(result.verdict,
                                                                         result.reason))
                    counts["skipped"] += 1
        if problem is None and symbolic is not None:
            suite_seconds += _symbolic_cases(suite, path, symbolic, symbolic_violations,
                                             counts)
        if problem is None:
            seconds += suite_seconds
            suite.set("time", f"{suite_seconds:.3f}")
        for key, value in counts.items():
            suite.set(key, str(value))
            totals[key] += value
    for key, value in totals.items():
        root.set(key, str(value))
    root.set("time", f"{seconds:.3f}")
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


def _warning_cases(suite: ET.Element, path: str, source: Source,
                   warnings: Sequence[Diagnostic], counts: dict[str, int]) -> None:
    """The language's warnings (no standby, fencing not explored...), which the text prints
    first and SARIF has as ``config-warning``: one passing test case each, named
    ``warning: <message>``, its ``<system-out>`` the warning as the text shows it.

    Why a test case and not the suite's ``<system-out>`` or ``<properties>``: GitLab's
    test report reads test cases only (a suite's output and properties are dropped), and
    Jenkins shows a suite's output only on the page of a test case that has none of its
    own. A test case is listed by both, by name, and its output is shown with it. Passing,
    as the check passes with warnings (exit 0): not a failure, nor skipped (nothing was
    left unchecked). The name holds no line number, so that a warning keeps its history in
    Jenkins when lines above it move."""
    for diagnostic in warnings:
        case = ET.SubElement(suite, "testcase", classname=_classname(path),
                             name=f"warning: {visible(redact(diagnostic.message))}",
                             time="0")
        ET.SubElement(case, "system-out").text = render_one(source, diagnostic)
        counts["tests"] += 1


def _symbolic_cases(suite: ET.Element, path: str, symbolic: dict[str, Any],
                    violations: list[Violation], counts: dict[str, int]) -> float:
    verdicts: dict[str, str] = symbolic.get("verdicts") or {}
    details: dict[str, Any] = symbolic.get("details") or {}
    invariants: dict[str, Any] = details.get("invariants") or {}
    found = {v.prop.label: v for v in violations}
    for prop in PROPERTIES:
        verdict = verdicts.get(prop.label)
        if verdict is None:
            continue
        case = ET.SubElement(suite, "testcase", classname=_classname(path),
                             name=f"{prop.label} (symbolic)", time="0")
        counts["tests"] += 1
        reason = str(invariants.get(prop.label, {}).get("reason", ""))
        if verdict == "violated":
            v = found.get(prop.label)
            failure = ET.SubElement(case, "failure", type=prop.ident,
                                    message=_failure_message(v) if v is not None
                                    else f"{prop.label} violated: {reason}")
            failure.text = trace_text(v) if v is not None else reason
            counts["failures"] += 1
        elif verdict != Verdict.HOLDS:
            ET.SubElement(case, "skipped", message=f"not decided: {reason}")
            counts["skipped"] += 1
    seconds = details.get("seconds", 0.0)
    return float(seconds) if isinstance(seconds, int | float) else 0.0


def _classname(path: str) -> str:
    return "crg.check." + path.replace("/", ".").removesuffix(".crg")


def _problem_message(problem: Exception | None) -> str:
    if isinstance(problem, ConfigError):
        return f"{len(problem.errors)} configuration error(s)"
    return redact(str(problem)) if problem is not None else "not checked"


def _problem_text(problem: Exception | None) -> str:
    """Every error of an invalid configuration as the text prints it (line, caret, hint):
    the exception's own text names the first only, and a CI page is where an operator
    reads them all."""
    if isinstance(problem, ConfigError):
        return "\n".join(render_one(problem.source, d) for d in problem.errors)
    return _problem_message(problem)


def _failure_message(v: Violation) -> str:
    where = f" in group {v.group}" if v.group else ""
    return f"{v.prop.label} violated{where}: {v.detail}"


def _skip_message(verdict: Verdict, reason: str) -> str:
    if verdict is Verdict.BOUNDED:
        return "no violation within --max-depth environment events"
    return reason or "search stopped at the first violation (use --keep-going to finish it)"


def trace_text(v: Violation) -> str:
    lines = []
    for step in step_views(v.trace):
        mark = "event" if step.event else "step"
        suffix = " (back to the loop's start)" if step.closes_loop else ""
        lines.append(f"{step.index:3}. [{mark}] {step.description}{suffix}")
        lines.extend(f"       {change}" for change in step.changes)
    return "\n".join(lines)
