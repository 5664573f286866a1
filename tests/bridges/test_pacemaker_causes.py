"""The minimal example of each named difference (README.md, "Using crg with Pacemaker or
keepalived") really differs in that way on Pacemaker's scheduler, and only there."""

from __future__ import annotations

import itertools

import pytest
from diff_causes import CAUSES, classify
from diff_scenarios import Scenario
from differential import run

from crg.dsl import parse

_addresses = itertools.count(1)


def group(name: str, candidates: list[str], *statements: str) -> str:
    preferred, *possible = candidates
    lines = [f"vip 10.0.{next(_addresses)}.1/24", 'app {\n    start "/usr/bin/sleep infinity"\n  }',
             "monitor process every 2s timeout 1s fails 1", f"preferred {preferred}",
             *([f"possible {', '.join(possible)}"] if possible else []), *statements]
    return f"group {name} {{\n" + "".join(f"  {line}\n" for line in lines) + "}\n"


EXAMPLES: dict[str, tuple[list[str], list[tuple[str, ...]]]] = {
    "banned-node-kept": ([group("web", ["n1"], "restarts 0")], [("fault", "web")]),
    "instance-ban-keeps-vip": (
        [group("db", ["n1", "n2"], "kind instance", "failback auto", "restarts 0")],
        [("fault", "db")]),
    "instance-goes-home": ([group("db", ["n1", "n2"], "kind instance", "failback manual")],
                           [("fail", "n1"), ("join", "n1")]),
    "instance-avoid-offline": ([group("web", ["n1"]), group(
        "db", ["n1", "n2"], "kind instance", "failback auto", "avoid web")], []),
    "avoid-file-order": ([group("a", ["n1", "n2", "n3"], "failback manual", "avoid b"),
                          group("b", ["n1", "n2", "n3"], "failback auto")], []),
    "avoider-influence": ([group("a", ["n1", "n2", "n3"], "failback manual"),
                           group("b", ["n2", "n1", "n3"], "failback manual", "avoid a")],
                          [("fail", "n1")]),
    "avoided-count": ([group("a", ["n3", "n1", "n2"], "failback auto", "avoid b, c, d"),
                       group("b", ["n1"]), group("c", ["n1"]), group("d", ["n2"])],
                      [("fail", "n3")]),
    "avoid-home-exemption": ([group("y", ["n1", "n2"], "failback auto"),
                              group("x", ["n2", "n3"], "failback auto", "avoid y")],
                             [("fail", "n1")]),
}


def test_every_cause_has_an_example() -> None:
    assert set(EXAMPLES) == {cause.name for cause in CAUSES}


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_the_example_differs_for_its_reason(pacemaker: None, name: str) -> None:
    groups, events = EXAMPLES[name]
    text = "cluster mini {\n  nodes n1 n2 n3\n}\n\n" + "\n".join(groups)
    outcome = run(Scenario(0, text, parse(text, f"{name}.crg"), events))
    assert classify(outcome) == name, outcome.describe(outcome.first_difference or 0)
