"""``crg simulate --format json`` on every example, compared with tests/spec/golden/.

A scenario's outcome is a consequence of the rules, so a change here is a change in
behaviour: regenerate after an intended change with ``CRG_UPDATE_GOLDEN=1 pytest
tests/spec``, then read the diff.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import jsonschema
import pytest
from spec_helpers import EXAMPLES, ROOT

from crg import cli

GOLDEN = Path(__file__).parent / "golden"
SCHEMA = json.loads((ROOT / "crg" / "schemas" / "simulate.schema.json").read_text())
UPDATE = os.environ.get("CRG_UPDATE_GOLDEN") == "1"

SCENARIOS: dict[str, dict[str, tuple[str, ...]]] = {
    "quickstart": {
        "fail-n3-join": ("--fail", "n3", "--join", "n3"),
        # report has no node left once n3 and n1 are down: the stranded alert, then
        # n3's return ends the episode
        "fail-n3-n1-join": ("--fail", "n3", "--fail", "n1", "--join", "n3"),
        "faults-then-forgive": ("--fault", "web", "--fault", "web", "--fault", "web",
                                "--forgive", "web"),
    },
    "rac": {
        "fail-db1-join": ("--fail", "db1", "--join", "db1"),
        "partition-db2-heal": ("--partition", "db2", "--heal", "db2"),
    },
    "anti-affinity": {
        # blue leaves n1, shares n2 for lack of a free node, and both spread out again
        "fail-n1-n3-join": ("--fail", "n1", "--fail", "n3", "--join", "n3", "--join", "n1"),
        # sent to green's home, blue stays there; green moves to the node blue left
        "switchover-blue-to-green-home": ("--switchover", "blue", "n2"),
    },
    "operations": {
        # drained away, moved by hand, back in service: the switchover stays in force
        "drain-switchover-undrain": ("--drain", "n1", "--switchover", "orders", "n3",
                                     "--undrain", "n1"),
        # left alone while its node crashes, taken over once the maintenance ends
        "maintenance-crash": ("--maintenance-on", "orders", "--fail", "n1",
                              "--maintenance-off", "orders"),
        # an instance past its budget at home: its VIP offline on n3, home again after a
        # cleanup
        "fault-offline-cleanup": ("--fault", "ledger", "--fault", "ledger", "--cleanup",
                                  "ledger", "n2"),
    },
    "web-tier": {
        "fail-n1-join": ("--fail", "n1", "--join", "n1"),
        "switchover-drain": ("--switchover", "api", "n3", "--drain", "n3", "--undrain", "n3",
                             "--offline", "db", "--online", "db"),
    },
}
CASES = [(name, scenario, argv) for name, scenarios in SCENARIOS.items()
         for scenario, argv in scenarios.items()]


def golden_path(example: str, scenario: str) -> Path:
    return GOLDEN / f"{example}--{scenario}.json"


@pytest.mark.parametrize("example, scenario, argv", CASES,
                         ids=[f"{e}--{s}" for e, s, _ in CASES])
def test_simulate_json_matches_golden(example: str, scenario: str, argv: tuple[str, ...],
                                      capsys: pytest.CaptureFixture[str],
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)  # the JSON names the file as given: keep it relative
    code = cli.main(["simulate", f"examples/{example}.crg", *argv, "--format", "json"])
    out = capsys.readouterr().out
    assert code == 0
    jsonschema.Draft202012Validator(SCHEMA).validate(json.loads(out))
    golden = golden_path(example, scenario)
    if UPDATE:
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(out, encoding="utf-8")
    assert out == golden.read_text(encoding="utf-8")


def test_every_example_has_scenarios_and_every_golden_file_a_scenario() -> None:
    assert set(SCENARIOS) == {p.stem for p in EXAMPLES}
    assert set(GOLDEN.glob("*.json")) == {golden_path(e, s) for e, s, _ in CASES}


def test_schema_is_valid() -> None:
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
