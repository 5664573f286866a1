"""Configuration facts for every failure set, and ``explain_coverage``: minimal failure sets
only, sentences that name them, and facts that can fail when the spec is wrong."""

from __future__ import annotations

import pytest
from checker_helpers import EXAMPLES, G, make_config

from crg import files
from crg.checker.symbolic import facts
from crg.checker.symbolic.api import explain_coverage
from crg.checker.symbolic.facts import all_facts
from crg.spec import Topology
from crg.spec.rules.view import View


def test_two_down_names_its_one_minimal_set() -> None:
    report = explain_coverage(files.load(str(EXAMPLES / "broken" / "two-down.crg")))
    by_group = {g.group: g.failure_sets for g in report.groups}
    assert by_group == {"orders": (("n1", "n2"),), "stock": ()}
    assert report.any_group == (("n1", "n2"),)
    assert not report.ok
    text = report.render_text()
    assert "orders  {n1, n2}" in text and "stock   none" in text
    assert report.as_json()["groups"][0]["failure_sets"] == [["n1", "n2"]]


def test_a_larger_bound_is_answered_without_changing_the_file() -> None:
    config = files.load(str(EXAMPLES / "quickstart.crg"))
    assert explain_coverage(config).ok
    wider = explain_coverage(config, max_down=2)
    assert wider.any_group == (("n1", "n3"),)
    assert {g.group for g in wider.groups if g.failure_sets} == {"report"}


def test_only_minimal_sets_are_listed() -> None:
    config = make_config(5, [G("a", "n1", ("n2",)), G("b", "n3", ("n4", "n5")),
                             G("c", "n2", ("n1",))], down=3)
    report = explain_coverage(config)
    by_group = {g.group: g.failure_sets for g in report.groups}
    assert by_group == {"a": (("n1", "n2"),), "b": (("n3", "n4", "n5"),),
                        "c": (("n1", "n2"),)}
    # {n1, n2} leaves two groups down; supersets such as {n1, n2, n3} are not listed.
    assert report.any_group == (("n1", "n2"), ("n3", "n4", "n5"))


@pytest.mark.parametrize("path", sorted(str(p) for p in EXAMPLES.glob("*.crg")))
def test_examples_keep_every_fact(path: str) -> None:
    found = all_facts(Topology.from_config(files.load(path)))
    assert [f.sentence for f in found if not f.holds] == []


def test_last_node_sets_are_reported() -> None:
    config = make_config(3, [G("a", "n1", ("n2", "n3"))], down=2)
    (fact,) = [f for f in all_facts(Topology.from_config(config)) if f.name == "last-node"]
    assert fact.holds
    assert fact.failure_sets == [["n1", "n2"], ["n1", "n3"], ["n2", "n3"]]
    assert "n1 and n2 are out" in fact.sentence


def test_a_wrong_placement_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    # A placement that prefers the last candidate still in.
    def last_first(v: View) -> object:
        a = v.a
        return a.first([(a.not_(a.bit(v.nodes.down, c)), a.const(c + 1))
                        for c in reversed(v.topo.candidates)], a.const(0))

    monkeypatch.setattr(facts, "placement", last_first)
    config = make_config(3, [G("a", "n1", ("n2", "n3"))])
    (fact,) = [f for f in all_facts(Topology.from_config(config)) if f.name == "placement"]
    assert not fact.holds
    assert "instead of" in fact.sentence


def test_a_wrong_last_node_condition_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(facts, "switching_disabled", lambda v: v.a.false)
    config = make_config(2, [G("a", "n1", ("n2",))])
    (fact,) = [f for f in all_facts(Topology.from_config(config)) if f.name == "last-node"]
    assert not fact.holds
    assert fact.failure_sets  # the failure set on which it goes wrong
