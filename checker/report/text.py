"""``crg check`` for people: the verdict table, then each violation step by step."""

from __future__ import annotations

from crg.checker.report.locate import span_of
from crg.checker.report.steps import settled_events, simulate_command, step_views
from crg.checker.result import CheckReport, Verdict, Violation
from crg.dsl import Config
from crg.output import Output, count

_VERDICT_STYLE = {Verdict.HOLDS: "green", Verdict.VIOLATED: "bold red",
                  Verdict.BOUNDED: "yellow", Verdict.UNKNOWN: "yellow"}


def print_check(out: Output, path: str, config: Config, report: CheckReport,
                itf_paths: dict[str, str]) -> None:
    parts = len(report.components)
    states = f"{report.states:,} state{'' if report.states == 1 else 's'}"
    out.print(f"{path}: {states} explored in "
              f"{_seconds(report.seconds)} ({count(parts, 'component')})")
    out.table(("property", "verdict", "states", "depth", "time"),
              [(r.prop.label, r.verdict.value, f"{r.states:,}", str(r.depth),
                _seconds(r.seconds)) for r in report.results.values()])
    if any(r.verdict is Verdict.UNKNOWN for r in report.results.values()):
        out.print("  unknown: the search stopped after the first violation "
                  "(--keep-going explores everything)")
    if any(r.verdict is Verdict.BOUNDED for r in report.results.values()):
        out.print("  bounded: no violation within --max-depth environment events")
    for v in report.violations:
        out.print()
        print_violation(out, path, config, v, itf_paths.get(v.prop.ident))


def print_violation(out: Output, path: str, config: Config, v: Violation,
                    itf_path: str | None) -> None:
    span = span_of(config, v)
    where = f" in group {v.group}" if v.group else ""
    location = f"{path}:{span.line}" if span.line else path
    out.print(f"{location}: {v.prop.label} violated{where}", style="bold red")
    out.print(f"  {v.detail}")
    kind = "a lasso" if v.trace.loop is not None else "shortest trace"
    out.print(f"  {kind}: {count(v.failures, 'environment event')}, "
              f"{count(v.trace.length, 'step')}")
    for step in step_views(v.trace):
        if v.trace.loop is not None and step.index == v.trace.loop + 1:
            out.print(f"  loop from step {v.trace.loop}, forever:", style="bold")
        mark = "event" if step.event else "     "
        suffix = f"  (back to step {v.trace.loop})" if step.closes_loop else ""
        out.print(f"  {step.index:3}. {mark} {step.description}{suffix}",
                  style="bold" if step.event else None)
        for change in step.changes:
            out.print(f"              {change}", style="dim")
    if v.trace.events:
        exact = "" if settled_events(v.trace) else " (settles between events: nearest scenario)"
        out.print(f"  replay: {simulate_command(path, v.trace)}{exact}")
    if itf_path:
        out.print(f"  trace: {itf_path}")


def _seconds(value: float) -> str:
    return f"{value:.2f}s" if value < 10 else f"{value:.1f}s"
