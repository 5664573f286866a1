"""``crg conform`` on traces that are not what ``crg run --trace`` writes (edited by hand,
corrupted, of another configuration): bad input, exit 2 with a message that says what is
wrong in words — never an internal error (exit 3) or Python's own words."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cli_run import Run

from crg import files
from crg.runtime.trace import header
from crg.spec import Model
from crg.spec.present.modes import parse_action

ROOT = Path(__file__).resolve().parents[2]
QUICKSTART = str(ROOT / "examples" / "quickstart.crg")
CONFIG = files.load(QUICKSTART)
HEADER = header(CONFIG, "embedded", None)
CLAIM = {"seq": 1, "agent": "n1", "action": "claim", "group": "web", "node": "n1",
         "system": True}
MODEL = Model.from_config(CONFIG)
STEP = {**CLAIM, "before": "0",
        "state": str(MODEL.apply(MODEL.initial(), parse_action(MODEL, CLAIM)))}


@pytest.fixture
def conform(crg: Callable[..., Run], tmp_path: Path) -> Callable[..., Run]:
    def run(*lines: dict[str, Any] | str) -> Run:
        trace = tmp_path / "t.trace"
        trace.write_text("".join((line if isinstance(line, str) else json.dumps(line)) + "\n"
                                 for line in lines))
        return crg("conform", QUICKSTART, str(trace))

    return run


def test_the_well_formed_trace_conforms(conform: Callable[..., Run]) -> None:
    result = conform(HEADER, STEP)
    assert (result.code, result.out.split(": ", 1)[1]) == (
        0, "conforms (1 transition, 0 settled states)\n")


def test_a_trace_on_standard_input(crg: Callable[..., Run],
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """``crg conform FILE -`` said "cannot read '-': No such file or directory": ``-`` is
    standard input, as for every file crg reads, and named ``<stdin>`` as they name it."""
    lines = "".join(json.dumps(line) + "\n" for line in (HEADER, STEP)).encode()
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(lines)))
    assert crg("conform", QUICKSTART, "-") == Run(
        0, "<stdin>: conforms (1 transition, 0 settled states)\n", "")
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(b"\xff\n")))
    assert crg("conform", QUICKSTART, "-") == Run(
        2, "", "crg: error: <stdin>: not a trace: it is not UTF-8 text (crg writes its traces "
               "as JSON lines)\n")
    # Standard input is read once: a configuration on it leaves no trace to read.
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(lines)))
    twice = crg("conform", "-", "-")
    assert (twice.code, twice.err) == (2, "crg: error: cannot read '-': named 2 times, and "
                                          "standard input can be read only once\n")


@pytest.mark.parametrize(("node", "shown"), [("n9", "'n9'"), (5, "5")])
def test_a_header_naming_a_node_of_no_configuration(conform: Callable[..., Run],
                                                    node: object, shown: str) -> None:
    """It was a ValueError out of ``tuple.index``: an internal error, exit 3."""
    result = conform({**HEADER, "node": node}, STEP)
    assert result.code == 2
    assert (f"the trace's header names node {shown}, which is not a node of the "
            "configuration (n1, n2, n3)") in result.err


@pytest.mark.parametrize("line", ["[" * 100_000 + "]" * 100_000,
                                  '{"seq": ' + "1" * 5000 + "}"])
def test_json_python_cannot_decode(conform: Callable[..., Run], line: str) -> None:
    """Lists nested deeper than the decoder recurses (RecursionError) and a number of more
    than 4300 digits (ValueError, not JSONDecodeError) were internal errors, exit 3."""
    result = conform(HEADER, line)
    assert result.code == 2
    assert "line 2: not a trace record (a number too long, or JSON nested too deeply)" \
        in result.err
    assert "internal error" not in result.err


@pytest.mark.parametrize(("record", "said"), [
    ({**STEP, "group": "nope"}, "line 2: unknown group 'nope'"),  # was: line 2: 'nope'
    ({k: v for k, v in STEP.items() if k != "state"}, "line 2: no 'state' in the record"),
    ({**STEP, "state": "zz"}, "line 2: the state 'zz' is not a state (a whole number)"),
    ({**STEP, "state": "1.5"}, "line 2: the state '1.5' is not a state (a whole number)"),
    ({**STEP, "state": "-1"}, "line 2: the state '-1' is not a state (a whole number)"),
    ({**STEP, "state": [1]}, "line 2: the state [1] is not a state (a whole number)"),
    ({**STEP, "state": str(2**102)}, "is not a state of this configuration (a whole number "
                                     "from 0 to 2**102 - 1)"),
    ({**STEP, "state": "1" * 5000}, "line 2: the state '11111111111111111111111111111... "
                                    "(5002 characters) is not a state of this configuration"),
])
def test_a_record_field_that_is_wrong_is_named_in_words(conform: Callable[..., Run],
                                                        record: dict[str, Any],
                                                        said: str) -> None:
    """The messages were Python's: the KeyError's repr (``'nope'``, ``'state'``) and
    ``invalid literal for int() with base 10``; a negative or too large state was taken
    and compared, bit by bit, as if the runtime had written it; 5000 digits were int()'s
    ValueError."""
    result = conform(HEADER, record)
    assert result.code == 2
    assert said in result.err
    assert "invalid literal" not in result.err and "internal error" not in result.err


def test_a_step_recorded_twice_is_not_said_to_be_missing(conform: Callable[..., Run]) -> None:
    """It said ``step(s) 2 to 0 are missing from the trace``."""
    result = conform(HEADER, STEP, STEP)
    assert result.code == 1
    assert result.out.endswith(":3: step 1 comes after step 1: a step recorded twice, or "
                               "out of order\n")
    assert "missing" not in result.out
