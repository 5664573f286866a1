"""Plain-text rendering of a symbolic proof: the verdict table, each violation's run, and
the configuration facts that fail or inform."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def render_text(verdicts: Mapping[str, str], details: Mapping[str, Any],
                runs: bool = True) -> str:
    """``runs``: each violation's run as a list of steps (crg check shows them with what
    changed at each step instead, as the explicit engine's)."""
    invariants: dict[str, dict[str, Any]] = details.get("invariants", {})
    parts = details.get("components", [])
    shapes = sum(1 for p in parts if not p.get("reused_from"))
    lines = [f"symbolic engine ({details.get('engine', 'z3')}): "
             f"{len(parts)} component{'s' if len(parts) != 1 else ''}, "
             f"{shapes} shape{'s' if shapes != 1 else ''} proved, "
             f"{details.get('seconds', 0):.2f} s"]
    width = max((len(name) for name in verdicts), default=0)
    for name, verdict in verdicts.items():
        info = invariants.get(name, {})
        where = f" (group {info['group']})" if info.get("group") else ""
        lines.append(f"  {name:<{width}}  {verdict:<8}  {info.get('reason', '')}{where}")
    for name, info in invariants.items():
        if info.get("verdict") != "violated" or not runs:
            continue
        lines.append(f"{name} violated in group {info.get('group')}:")
        trace, loop = info.get("trace", []), info.get("loop")
        for step in trace:
            if loop is not None and step["step"] == loop + 1:
                lines.append(f"  loop from step {loop}, forever:")
            back = f"  (back to step {loop})" if loop is not None and step is trace[-1] else ""
            lines.append(f"  {step['step']:>3}. {step['text']}{back}")
        if info.get("itf"):
            lines.append(f"  trace: {info['itf']}")
    notable = [f for f in details.get("facts", [])
               if not f["holds"] or (f["fact"] == "last-node" and f["failure_sets"])]
    if notable:
        lines.append("configuration facts (every failure set within the assumptions):")
        lines += [f"  {'ok  ' if f['holds'] else 'FAIL'}  {f['sentence']}" for f in notable]
    for error in details.get("internal_errors", []):
        lines.append(f"internal error (please report): {error}")
    return "\n".join(lines)
