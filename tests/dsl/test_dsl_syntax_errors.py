"""Several syntax errors in one file are reported in one run (crgdsl/parser.py): every
independent one, in file order, and never an error the recovery made up."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crg.dsl import ConfigError, parse
from crg.dsl.parser import MAX_SYNTAX_ERRORS

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = (ROOT / "examples" / "quickstart.crg").read_text(encoding="utf-8")
LINES = EXAMPLE.split("\n")
DURATION = re.compile(r"(?<=[ \t])\d+(?:ms|s|m|h)\b")
SPOILABLE = [i for i, line in enumerate(LINES)
             if DURATION.search(line) and "{" not in line and "}" not in line
             and not line.lstrip().startswith("#")]
"""Lines of the example with a duration and no brace: a spoilt duration there is an
error of its own, whatever the other lines say."""


def _errors(text: str) -> list[tuple[int, str]]:
    with pytest.raises(ConfigError) as caught:
        parse(text, "spoilt.crg")
    return [(d.span.line, d.message) for d in caught.value.diagnostics]


def test_the_example_has_lines_to_spoil() -> None:
    assert len(SPOILABLE) >= 6, SPOILABLE


@settings(max_examples=60, derandomize=True, deadline=None)
@given(st.lists(st.sampled_from(SPOILABLE), min_size=1, max_size=MAX_SYNTAX_ERRORS,
                unique=True))
def test_every_spoilt_duration_is_reported_and_nothing_else(spoilt: list[int]) -> None:
    lines = list(LINES)
    for index in spoilt:
        lines[index] = DURATION.sub("7x", lines[index], count=1)
    found = _errors("\n".join(lines))
    assert found == [(i + 1, "'7x' is not a duration") for i in sorted(spoilt)]


def test_the_errors_reported_are_bounded() -> None:
    text = "cluster c {\n  nodes n1, n2\n}\ngroup g {\n" + "  vip 7x\n" * 30 + "}\n"
    assert len(_errors(text)) == MAX_SYNTAX_ERRORS


def test_an_error_on_a_line_with_a_brace_ends_the_search() -> None:
    # Leaving out `group g {` would unbalance the blocks: only the first error is sure.
    text = ("cluster c {\n  nodes n1, n2\n}\ngroup g { vip 7x\n  preferred n1\n}\n"
            "group h {\n  restarts 3 within 7x\n}\n")
    assert [line for line, _ in _errors(text)] == [4]


GROUP = 'cluster c {\n  nodes n1, n2\n}\ngroup g {\n  vip 10.0.0.5/24\n  app { start "x" }\n'


def test_an_error_at_the_first_word_after_an_error_line_is_reported() -> None:
    # The word cannot go on with the broken statement (restarts takes a number, 'within'
    # and a duration, no name): it starts a statement, and its error is its own. It was
    # taken for the leaving out's echo and kept for the next run, with all after it.
    text = GROUP + "  restarts three within 10m\n  possibel n2\n  lease 2x\n}\n"
    assert _errors(text) == [(7, "unexpected name 'three'"),
                             (8, "unknown statement 'possibel'"),
                             (9, "unexpected token 'lease'")]


@pytest.mark.parametrize("lines", [
    "  restarts 3 wihtin\n    10m\n",  # a value, on the line after its keyword
    '  monitor http "http://x/" every 7x\n    timeout 1s\n',  # an option, on the next line
    "  possible n2, 5,\n    n1\n",  # a list going on on the next line
    "  restarts 3 within 7x preferred\n    n1\n",  # another statement after the error
])
def test_the_echo_of_a_statement_going_on_on_the_next_line_is_not_reported(
        lines: str) -> None:
    assert [line for line, _ in _errors(GROUP + lines + "  preferred n1\n}\n")] == [7]
