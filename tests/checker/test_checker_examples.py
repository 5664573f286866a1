"""The examples: every configuration in examples/ holds, with its number of distinct
(symmetry-reduced, per component) states pinned; every one in examples/broken/ fails
with the invariant its header comment names and a counterexample of a pinned length."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from checker_helpers import EXAMPLES, explicit

from crg import files
from crg.checker.result import Verdict
from crg.spec import KINDS

HOLD = {
    # file: distinct states explored (components of isomorphic groups are explored once)
    "rac.crg": 6_751,
    "quickstart.crg": 9_395,
    "web-tier.crg": 12_888,
    "anti-affinity.crg": 4_488,
    "operations.crg": 14_962,
}

BROKEN = {
    # file: (property, environment events, trace length)
    "no-standby.crg": ("coverage", 1, 1),
    "two-down.crg": ("coverage", 2, 2),
    "no-fencing.crg": ("vip-unique", 1, 6),
    "flapping.crg": ("vip-held (liveness)", 0, 11),
}


def test_every_example_is_listed() -> None:
    assert {p.name for p in EXAMPLES.glob("*.crg")} == set(HOLD)
    assert {p.name for p in (EXAMPLES / "broken").glob("*.crg")} == set(BROKEN)


@pytest.mark.parametrize("name", sorted(HOLD))
def test_example_holds(name: str) -> None:
    report = explicit(files.load(str(EXAMPLES / name)))
    assert {r.prop.label: r.verdict for r in report.results.values()} == {
        r.prop.label: Verdict.HOLDS for r in report.results.values()}
    assert report.states == HOLD[name]


def test_max_events_bounds_the_search() -> None:
    report = explicit(files.load(str(EXAMPLES / "web-tier.crg")), max_events=2)
    assert {r.verdict for r in report.results.values()} == {Verdict.BOUNDED}
    assert report.states < HOLD["web-tier.crg"]


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_broken_example_fails_as_its_header_says(name: str) -> None:
    path = EXAMPLES / "broken" / name
    label, failures, length = BROKEN[name]
    assert _header_invariant(path) == label
    report = explicit(files.load(str(path)))
    violation = report.results[next(p for p in report.results if p.label == label)].violation
    assert violation is not None
    assert (violation.failures, violation.trace.length) == (failures, length)
    events = [s.action for s in violation.trace.steps if s.action is not None
              and not KINDS[s.action.kind].system]
    assert len(events) == failures


def _header_invariant(path: Path) -> str:
    header = "".join(line for line in path.read_text().splitlines(keepends=True)
                     if line.startswith("#"))
    found = re.search(r"reports\s+`([a-z-]+)`(\s+\(liveness\))?", header)
    assert found, f"{path.name}: the header does not say which invariant breaks"
    return found.group(1) + (" (liveness)" if found.group(2) else "")
