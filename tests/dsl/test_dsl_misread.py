"""Misspelt statements after a list, which the grammar reads as more names (crg.dsl.misread)."""

from __future__ import annotations

import pytest

from crg.dsl import ConfigError, Source, parse
from crg.dsl.format import format_source
from crg.dsl.misread import keyword_like

APP = 'app { start "x" } monitor process'
CLUSTER = "cluster c { nodes n1 n2 }\n"
OTHER = f"group other {{ vip 10.0.0.2/24 {APP} preferred n2 }}\n"


def problems(text: str) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse(text, "t.crg")
    return [f"{d.span}: {d.message} ({d.hint})" for d in info.value.errors]


def group(*lines: str) -> str:
    """Group g on lines 3 and after: its statements one per line from line 4."""
    body = "".join(f"  {line}\n" for line in lines)
    return CLUSTER + OTHER + f"group g {{ vip 10.0.0.1/24 {APP}\n{body}}}\n"


@pytest.mark.parametrize(("statement", "keyword"), [
    ("failbak auto", "failback"), ("prefered n1", "preferred"), ("Failback auto", "failback"),
    ("kid instance", "kind"), ("avod other", "avoid"), ("notfy all", "notify"),
])
def test_statement_after_possible_is_one_error(statement: str, keyword: str) -> None:
    first = "possible n2" if keyword == "preferred" else "preferred n1 possible n2"
    word = statement.split()[0]
    assert problems(group(first, statement)) == [
        f"5:3: unknown statement '{word}' (read as a name in the 'possible' list) "
        f"(did you mean {keyword}?)"]


@pytest.mark.parametrize(("statement", "keyword"), [
    ('hok command "x"', "hook"), ("restrts 3 within 1m", "restarts"), ("ap { }", "app"),
    ("vpi 10.0.0.3/24", "vip"), ('alrt webhook "http://h/"', "alert"),
])
def test_statement_whose_value_breaks_the_syntax(statement: str, keyword: str) -> None:
    word = statement.split()[0]
    assert problems(group("preferred n1", "possible n2", statement)) == [
        f"6:3: unknown statement '{word}' (read as a name in the 'possible' list) "
        f"(did you mean {keyword}?)"]


def test_nearest_keyword_like_name_is_blamed_when_the_syntax_breaks() -> None:
    # 'lese' looks like a statement too, but the syntax broke after 'heartbeet'.
    [message] = problems("cluster c {\n  nodes n1 lese\n  heartbeet 1s\n}\n")
    assert message.startswith("3:3: unknown statement 'heartbeet'")


def test_two_swallowed_statements_are_both_reported() -> None:
    found = problems(group("preferred n1", "possible n2", "failbak auto", "notfy other"))
    assert [m.split(" (")[0] for m in found] == ["6:3: unknown statement 'failbak'",
                                                  "7:3: unknown statement 'notfy'"]


def test_unknown_node_that_is_no_statement_keeps_its_error() -> None:
    assert problems(group("preferred n1", "possible n2 n4")) == [
        "5:15: unknown node 'n4' (expected one of: n1, n2)"]
    # 'prefered' alone is no statement (its value is missing): an unknown node it stays.
    assert problems(group("preferred n1", "possible n2 prefered")) == [
        "5:15: unknown node 'prefered' (expected one of: n1, n2)"]


@pytest.mark.parametrize(("nodes", "count"), [
    ("node1 node2\n  nodes3 x", 4),       # close to 'nodes', but that is the list's own keyword
    ("node1 node2\n  lease4 nodes5", 4),  # 'lease nodes5' is no statement
    ("node1 node2 asume faults", 4),      # not at the start of a line
    ("node1\n  asume node2", 3),          # 'node2' is placed by a group, so a node
])
def test_node_names_that_look_like_statements_stay_nodes(nodes: str, count: int) -> None:
    config = parse(f"cluster c {{\n  nodes {nodes}\n}}\n"
                   f"group g {{ vip 10.0.0.1/24 {APP} preferred node1 possible node2 }}\n")
    assert len(config.nodes) == count
    assert [w.code for w in config.warnings] == ["unused-node"] * (count - 2)


def test_keyword_like() -> None:
    assert keyword_like("nodse", ["nodes", "lease"], ["n1"]) == "nodes"
    assert keyword_like("Lease", ["nodes", "lease"]) == "lease"
    assert keyword_like("n4", ["nodes", "lease"], ["n1"]) is None
    assert keyword_like("vpi", ["vip", "app"]) == "vip"  # two letters swapped
    assert keyword_like("ap", ["vip", "app"]) == "app"
    # closer to a name the list may hold than to the keyword: a misspelt name
    assert keyword_like("kinds", ["kind"], ["kinds1"]) is None


def test_fmt_refuses_to_join_a_misspelt_statement_into_the_list() -> None:
    # Formatted, `possible n2` + `failbak auto` became `possible n2, failbak, auto`.
    with pytest.raises(ConfigError) as info:
        format_source(Source("t.crg", group("preferred n1", "possible n2", "failbak auto")))
    assert [(str(d.span), d.message) for d in info.value.errors] == [
        ("6:3", "unknown statement 'failbak' (read as a name in the 'possible' list)")]
