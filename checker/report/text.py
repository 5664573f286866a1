"""``crg check`` for people: the verdict table, then each violation step by step.

It writes through any :class:`Printer` (the command line's ``Output`` is one), so the
checker never imports the command line."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol

from crg.checker.report.advice import advice
from crg.checker.report.locate import span_of
from crg.checker.report.steps import settled_events, simulate_command, step_views
from crg.checker.result import PropertyResult, Report, Verdict, Violation
from crg.dsl import Config
from crg.dsl.model import Fault
from crg.spec.present.words import count

_VERDICT_STYLE = {Verdict.HOLDS: "green", Verdict.VIOLATED: "bold red",
                  Verdict.BOUNDED: "yellow", Verdict.UNKNOWN: "yellow"}


class Printer(Protocol):
    def print(self, text: str = "", *, err: bool = False,
              style: str | None = None) -> None: ...

    def table(self, headers: Sequence[str], rows: Iterable[Sequence[str]]) -> None: ...


def print_check(out: Printer, path: str, config: Config, report: Report,
                itf_paths: dict[str, str]) -> None:
    explicit = report.explicit
    if explicit is not None:
        parts = len(explicit.components)
        states = f"{explicit.states:,} state{'' if explicit.states == 1 else 's'}"
        reduced = sum(1 for c in explicit.components if c.reduced)
        how = f", {reduced} with partial-order reduction" if reduced else ""
        if explicit.states == 0 and parts and all(c.limit == "auto"
                                                  for c in explicit.components):
            # "0 states explored" read as if nothing had been checked
            each = "each " if parts > 1 else ""
            out.print(f"{path}: {count(parts, 'component')}, {each}handed to the symbolic "
                      "engine")
        else:
            out.print(f"{path}: {states} explored in "
                      f"{_seconds(explicit.seconds)} ({count(parts, 'component')}{how})")
        for c in explicit.components:
            if c.limit == "auto":
                size = (f"more than {c.states:,} states" if c.states
                        # the estimate stops where the limit is passed: "at least"
                        else "beyond the search's limit, predicted from its groups alone "
                        f"(at least {c.predicted:,} states)"
                        if c.predicted
                        else f"{count(len(c.groups), 'group')} linked by avoid")
                out.print(f"  {_names(c.groups)}: {size}; handed to the symbolic engine")
        if report.symbolic is not None and report.engine == "auto":
            out.print(f"  the symbolic engine took {_seconds(report.symbolic.seconds)}")
        _assumed(out, explicit.options)
    engines = {r.engine for r in report.results.values() if r.verdict is not Verdict.UNKNOWN}
    by = bool(engines - {"explicit"}) and report.engine != "symbolic"
    headers = ("property", "verdict", "states", "depth", "time") + (("by",) if by else ())
    out.table(headers, [(r.prop.label, r.verdict.value, *_searched(r), _seconds(r.seconds))
                        + ((r.engine if r.verdict is not Verdict.UNKNOWN else "-",) if by else ())
                        for r in report.results.values()])
    reasons = dict.fromkeys(r.reason for r in report.results.values()
                            if r.verdict is Verdict.UNKNOWN and r.reason)
    for reason in reasons:
        out.print(f"  unknown: {reason}")
    if any(r.verdict is Verdict.BOUNDED for r in report.results.values()):
        out.print("  bounded: no violation within --max-depth environment events")
    for v in report.violations:
        out.print()
        print_violation(out, path, config, v, itf_paths.get(v.prop.ident))


def print_violation(out: Printer, path: str, config: Config, v: Violation,
                    itf_path: str | None) -> None:
    span = span_of(config, v)
    where = f" in group {v.group}" if v.group else ""
    location = f"{path}:{span.line}" if span.line else path
    out.print(f"{location}: {v.prop.label} violated{where}", style="bold red")
    out.print(f"  {v.detail}")
    hint = advice(config, v)
    if hint:
        out.print(f"  = hint: {hint}")
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
    # Without events too: crg simulate shows the start-up's livelock (it said nothing, and
    # the JSON gave the command)
    exact = "" if settled_events(v.trace) else " (settles between events: nearest scenario)"
    out.print(f"  replay: {simulate_command(path, v.trace)}{exact}")
    if itf_path:
        out.print(f"  trace: {itf_path}")


def _searched(r: PropertyResult) -> tuple[str, str]:
    """States and depth: a verdict z3 alone reached explored no state ("0 states, depth 0"
    read as a search that found nothing to look at); a counterexample keeps its length."""
    if r.engine == "z3":
        return "-", str(r.depth) if r.violation is not None else "-"
    return f"{r.states:,}", str(r.depth)


def _assumed(out: Printer, options: dict[str, object]) -> None:
    """What the verdicts hold under: an ok says nothing of a fault kind not explored (the
    default set leaves out partitions, drains and maintenance)."""
    max_down, faults = options.get("max_down"), options.get("faults")
    if not isinstance(max_down, int) or not isinstance(faults, list):
        return
    explored = [f.value for f in Fault if f.value in faults]
    left = [f.value for f in Fault if f.value not in faults]
    out.print(f"  assumed: at most {count(max_down, 'node')} down at once; events: "
              f"{', '.join(explored) or 'none'}"
              + (f" (not explored: {', '.join(left)})" if left else ""))


def _names(groups: tuple[str, ...]) -> str:
    return ", ".join(groups) if len(groups) <= 6 else ", ".join(groups[:5]) + ", ..."


def _seconds(value: float) -> str:
    return f"{value:.2f}s" if value < 10 else f"{value:.1f}s"
