"""``crg simulate``: the command line, its JSON shape, its errors and exit codes."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from crg import cli

ROOT = Path(__file__).resolve().parents[1]
QUICKSTART = str(ROOT / "examples" / "quickstart.crg")
WEB_TIER = str(ROOT / "examples" / "web-tier.crg")
RAC = str(ROOT / "examples" / "rac.crg")
FLAPPING = str(ROOT / "examples" / "broken" / "flapping.crg")
NO_FENCING = str(ROOT / "examples" / "broken" / "no-fencing.crg")
SCHEMA = json.loads((ROOT / "crg" / "schemas" / "simulate.schema.json").read_text())


@dataclass(frozen=True)
class Run:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        data = json.loads(self.out)
        jsonschema.Draft202012Validator(SCHEMA).validate(data)
        return data


@pytest.fixture
def simulate(capsys: pytest.CaptureFixture[str]) -> Callable[..., Run]:
    def run(*argv: str) -> Run:
        code = cli.main(["simulate", *argv])
        captured = capsys.readouterr()
        assert "Traceback" not in captured.err
        return Run(code, captured.out, captured.err)

    return run


def where(data: dict[str, Any], step: int | None = None) -> dict[str, str]:
    snapshot = data["final"] if step is None else data["steps"][step]
    return {g: p["node"] for g, p in snapshot["placement"].items()}


# -- what the issue asks ------------------------------------------------------------------


def test_fail_n1_moves_its_groups_to_their_next_possible_nodes(simulate: Callable[..., Run]
                                                                ) -> None:
    result = simulate(WEB_TIER, "--fail", "n1", "--format", "json")
    assert result.code == 0, result.err
    data = result.json()
    assert where(data) == {"www": "n2", "static": "n3", "api": "n2", "db": "n4"}
    assert data["final"]["nodes"]["n1"] == "down"
    for group in ("www", "static"):
        assert data["final"]["placement"][group] == {
            "node": where(data)[group], "mode": "failover", "vip": where(data)[group],
            "app": "up", "switching": True, "alerted": False, "blocked_alerted": False,
            "stranded_alerted": False, "maintenance": False}


def test_join_n1_fails_back_where_the_policy_is_auto(simulate: Callable[..., Run]) -> None:
    data = simulate(WEB_TIER, "--fail", "n1", "--join", "n1", "--format", "json").json()
    assert where(data) == {"www": "n1", "static": "n3", "api": "n2", "db": "n4"}
    assert data["final"]["placement"]["www"]["mode"] == "normal"
    assert data["final"]["placement"]["static"]["mode"] == "failover"


def test_json_steps(simulate: Callable[..., Run]) -> None:
    data = simulate(WEB_TIER, "--fail", "n1", "--join", "n1", "--format", "json").json()
    assert data["outcome"] == "settled"
    start, fail, join = data["steps"]
    assert start["event"] is None
    assert [a["action"] for a in start["actions"][:5]] == [
        "claim", "acquire-vip", "start-app", "start-monitors", "notify-up"]
    assert fail["event"] == {"name": "fail", "args": ["n1"], "action": "crash", "group": None,
                             "node": "n1", "system": False, "text": "crash n1"}
    assert {"kind": "service-up", "group": "www", "node": "n2",
            "recipients": ["api"]} in fail["notifications"]
    assert join["event"]["action"] == "rejoin"
    assert data["final"] == {"nodes": join["nodes"], "drained": [],
                             "placement": join["placement"]}
    assert all(not step["problems"] and step["livelock"] is None for step in data["steps"])


def test_alerts_are_notifications_with_their_sinks(simulate: Callable[..., Run]) -> None:
    data = simulate(RAC, "--fail", "db1", "--fail", "db2", "--format", "json").json()
    alerts = [n for n in data["steps"][2]["notifications"] if n["kind"] == "alert"]
    assert [a["group"] for a in alerts] == ["inst1", "inst2", "inst3"]
    assert alerts[0]["sinks"] == [{"kind": "command",
                                   "target": "/usr/local/bin/page-dba {group} {node}"}]
    final = data["final"]["placement"]
    assert all(p["switching"] is False and p["alerted"] is True for p in final.values())


# -- order of events ----------------------------------------------------------------------


def test_events_apply_in_command_line_order(simulate: Callable[..., Run]) -> None:
    first = simulate(WEB_TIER, "--switchover", "www", "n3", "--fail", "n3", "--format", "json")
    second = simulate(WEB_TIER, "--fail", "n3", "--switchover", "www", "n3")
    assert first.code == 0
    assert [s["event"]["name"] for s in first.json()["steps"][1:]] == ["switchover", "fail"]
    assert where(first.json())["www"] == "n1"  # the target died: back to the first choice
    assert second.code == 2
    assert "n3 is down" in second.err


def test_a_scenario_without_events_is_the_start_up(simulate: Callable[..., Run]) -> None:
    data = simulate(WEB_TIER, "--format", "json").json()
    assert len(data["steps"]) == 1
    assert where(data) == {"www": "n1", "static": "n1", "api": "n2", "db": "n4"}


# -- text -----------------------------------------------------------------------------------


def test_text_output(simulate: Callable[..., Run]) -> None:
    result = simulate(WEB_TIER, "--fail", "n1")
    assert result.code == 0
    lines = result.out.splitlines()
    assert lines[0] == "step 0: start-up"
    assert "step 1: --fail n1  (crash n1)" in lines
    assert "    n2: claim www" in lines
    assert "  service up: www from n2 -> api" in lines
    assert "  nodes: n1 down, n2 up, n3 up, n4 up" in lines
    table = lines[lines.index("step 1: --fail n1  (crash n1)"):]
    header = next(line for line in table if line.startswith("group"))
    assert header.split() == ["group", "node", "mode", "vip", "app", "switching", "alerted"]
    assert "www     n2    failover  n2   up   on         no" in table
    assert "\x1b[" not in result.out  # no colour when not on a terminal


def test_text_shows_maintenance_a_pending_switchover_and_a_cleanups_node(
        simulate: Callable[..., Run]) -> None:
    # As crg status does: the table said "normal" for a group in maintenance with a
    # switchover waiting for its end, and a cleanup's step did not name its node.
    result = simulate(QUICKSTART, "--maintenance-on", "web", "--switchover", "web", "n3",
                      "--fault", "api", "--cleanup", "api", "n2")
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    assert "web     n1    normal, maintenance  n1   up   on         no" in lines
    assert "  web: switchover to n3 pending" in lines
    assert "step 4: --cleanup api n2  (cleanup api n2)" in lines


def test_cleanup_without_a_node_cleans_every_node_with_a_record(
        simulate: Callable[..., Run]) -> None:
    # As crg cleanup GROUP does; simulate required the node (an outside tester's finding).
    result = simulate(QUICKSTART, "--fault", "web", "--fault", "web", "--fault", "web",
                      "--cleanup", "web")
    assert result.code == 0, result.err
    assert "step 4: --cleanup web n1  (cleanup web n1)" in result.out.splitlines()
    nothing = simulate(QUICKSTART, "--cleanup", "web")
    assert nothing.code == 2
    assert "--cleanup web: web has no failure recorded" in nothing.err
    many = simulate(QUICKSTART, "--cleanup", "web", "n1", "n2")
    assert many.code == 2 and "at most one NODE" in many.err
    assert "[--cleanup GROUP [NODE]]" in many.err  # the usage says so too, not "[NODE ...]"


def test_help_lists_every_event(simulate: Callable[..., Run]) -> None:
    result = simulate("--help")
    assert result.code == 0
    for option in ("--fail NODE", "--join NODE", "--fault GROUP", "--switchover GROUP NODE",
                   "--partition NODE", "--heal NODE", "--drain NODE", "--undrain NODE",
                   "--offline GROUP", "--online GROUP", "--forgive GROUP"):
        assert option in result.out


# -- bad input: exit 2, a clear message, nothing on stdout ------------------------------------


@pytest.mark.parametrize("argv, message", [
    (["--fail", "n9"], "--fail n9: unknown node 'n9'; expected one of: n1, n2, n3, n4"),
    (["--fault", "wwx"], "--fault wwx: unknown group 'wwx'; did you mean www?"),
    (["--switchover", "www", "n4"], "n4 is not a candidate of www (its list: n1, n2, n3)"),
    (["--switchover", "www", "n1"], "www is already on n1"),
    (["--join", "n1"], "--join n1: n1 is up; it must be down"),
    (["--fail", "n1", "--fail", "n1"], "--fail n1: n1 is down"),
    (["--heal", "n2"], "n2 is up; it must be partitioned"),
    (["--online", "db"], "db is not in offline mode"),
    (["--forgive", "db"], "nothing to forgive"),
    (["--offline", "db", "--fault", "db"], "the application of db is not running"),
    (["--offline", "db", "--offline", "db"], "db is already in offline mode"),
    (["--undrain", "n2"], "n2 is not drained"),
    # not "db is not at rest (mode normal, application up)": it is, and in maintenance
    (["--maintenance-on", "db", "--fault", "db"],
     "--fault db: db is in maintenance: the cluster service takes no action for it and "
     "charges no fault (end it first: --maintenance-off db)"),
    (["--drain", "n2", "--switchover", "www", "n2"], "n2 is drained: it may not host groups"),
    # a typo late in the script is found before anything runs
    (["--fail", "n1", "--join", "n1", "--fault", "stattic"], "did you mean static?"),
])
def test_bad_events_exit_2(simulate: Callable[..., Run], argv: list[str], message: str) -> None:
    result = simulate(WEB_TIER, *argv, "--format", "json")
    assert result.code == 2
    assert result.out == ""
    assert result.err.startswith("crg: error: ")
    assert message in result.err


def test_fault_of_an_instance_held_offline(simulate: Callable[..., Run]) -> None:
    result = simulate(RAC, "--fail", "db1", "--fault", "inst1")
    assert result.code == 2
    assert "the application of inst1 is not running (it is down on db2)" in result.err


def test_join_a_partitioned_node_points_to_heal(simulate: Callable[..., Run]) -> None:
    result = simulate(RAC, "--partition", "db1", "--join", "db1")
    assert result.code == 2
    assert "use --heal db1" in result.err


@pytest.mark.parametrize("argv", [["--switchover", "www"], ["--fail"], ["--max-steps", "0"],
                                  ["--max-steps", "x"], ["--format", "xml"]])
def test_usage_errors_exit_2(simulate: Callable[..., Run], argv: list[str]) -> None:
    result = simulate(WEB_TIER, *argv)
    assert result.code == 2
    assert "usage: crg simulate" in result.err


@pytest.mark.parametrize(("argv", "said"), [
    (["--switchover", "www", WEB_TIER], f"--switchover took '{WEB_TIER}' as its NODE "
                                        f"(--switchover www {WEB_TIER})"),
    (["--cleanup", "www", WEB_TIER], f"--cleanup took '{WEB_TIER}' as its NODE "
                                     f"(--cleanup www {WEB_TIER})"),
    (["--fail", "n1", "--fault", WEB_TIER], f"--fault took '{WEB_TIER}' as its GROUP "
                                            f"(--fault {WEB_TIER})"),
    (["--fail", "typo.crg"], "--fail took 'typo.crg' as its NODE (--fail typo.crg)"),
])
def test_a_file_taken_by_an_event_is_named(simulate: Callable[..., Run], argv: list[str],
                                           said: str) -> None:
    """``crg simulate --switchover www web-tier.crg``: argparse gives the file to the
    event, and FILE is missing. It said "name a configuration FILE", which the user did."""
    result = simulate(*argv)
    assert result.code == 2
    assert result.err == (f"crg: error: crg simulate: no configuration FILE: {said}; name "
                          "FILE before the events\n")


def test_missing_file_exits_2(simulate: Callable[..., Run], tmp_path: Path) -> None:
    result = simulate(str(tmp_path / "nope.crg"), "--fail", "n1")
    assert result.code == 2
    assert "cannot read" in result.err


# -- what the rules cannot promise: livelock and broken invariants (exit 1) ------------------


def test_livelock_is_found_as_a_cycle(simulate: Callable[..., Run]) -> None:
    result = simulate(FLAPPING, "--fail", "n1", "--format", "json")
    assert result.code == 1
    data = result.json()
    assert data["outcome"] == "livelock"
    assert len(data["steps"]) == 1  # it never settled at start-up: no event was applied
    assert data["steps"][0]["livelock"]["cycle"]
    assert "livelock: the cluster service did not settle at start-up" in result.err


def test_livelock_bound(simulate: Callable[..., Run]) -> None:
    result = simulate(WEB_TIER, "--max-steps", "5")
    assert result.code == 1
    assert "livelock after 5 steps" in result.out
    assert "did not settle at start-up (5 steps)" in result.err


def test_broken_invariants_are_reported_and_exit_1(simulate: Callable[..., Run]) -> None:
    result = simulate(NO_FENCING, "--partition", "n1", "--format", "json")
    assert result.code == 1
    problems = result.json()["steps"][1]["problems"]
    assert {"vip-unique", "app-exclusive"} <= {p["invariant"] for p in problems}
    assert "breaks an invariant" in result.err
    # the placement shows both holders, not the first of them
    assert result.json()["final"]["placement"]["pay"]["vip"] == "n1,n2"


def test_beyond_the_assumptions_is_allowed(simulate: Callable[..., Run]) -> None:
    # web-tier assumes one node down and no partitions; a what-if may go further.
    result = simulate(WEB_TIER, "--fail", "n1", "--partition", "n2", "--heal", "n2",
                      "--format", "json")
    assert result.code == 0, result.err
    data = result.json()
    assert data["steps"][2]["nodes"] == {"n1": "down", "n2": "lost", "n3": "up", "n4": "up"}
    assert where(data, 2) == {"www": "n3", "static": "n3", "api": "n3", "db": "n4"}
    assert data["steps"][2]["placement"]["www"]["switching"] is False  # n3 is its last node
    # n2 is back, n1 (www's home) is not: failback auto waits for home, no extra move
    assert where(data) == {"www": "n3", "static": "n3", "api": "n2", "db": "n4"}


def test_a_group_with_no_candidate_left_is_down_not_violated(simulate: Callable[..., Run]
                                                            ) -> None:
    result = simulate(WEB_TIER, "--fail", "n1", "--fail", "n2", "--fail", "n3",
                      "--format", "json")
    data = json.loads(result.out)
    # the last-node episode ended with the last node, and the stranded one began: n4,
    # the first node in contact with the store, told www's sinks
    assert data["final"]["placement"]["www"] == {
        "node": None, "mode": "down", "vip": None, "app": "down", "switching": True,
        "alerted": False, "blocked_alerted": False, "stranded_alerted": True,
        "maintenance": False}
    [stranded] = [n for n in data["steps"][3]["notifications"] if n["kind"] == "stranded"]
    assert stranded == {"kind": "stranded", "group": "www", "node": "n4",
                        "sinks": [{"kind": "log", "target": None},
                                  {"kind": "webhook",
                                   "target": "https://alerts.example.net/crg"}]}
    assert data["steps"][3]["problems"] == []
    assert result.code == 0


def test_every_node_failed_breaks_nothing_the_rules_could_keep(simulate: Callable[..., Run]
                                                             ) -> None:
    # Beyond the assumption (web-tier: one node down) nobody may be left to send a
    # group's service down: notify, like coverage, is not asked of such states.
    result = simulate(WEB_TIER, "--fail", "n1", "--fail", "n2", "--fail", "n3",
                      "--fail", "n4", "--format", "json")
    assert result.code == 0
    assert all(step["problems"] == [] for step in result.json()["steps"])


def test_a_group_whose_candidates_are_all_drained_is_down(simulate: Callable[..., Run]
                                                          ) -> None:
    result = simulate(WEB_TIER, "--drain", "n1", "--drain", "n2", "--drain", "n3",
                      "--format", "json")
    assert result.code == 0
    www = json.loads(result.out)["final"]["placement"]["www"]
    assert (www["node"], www["mode"], www["vip"]) == (None, "down", None)


def test_a_drained_node_that_is_down_says_both(simulate: Callable[..., Run]) -> None:
    # SPEC.md section 2: drained combines with down; the mark shows before n1 returns.
    argv = (QUICKSTART, "--fail", "n1", "--drain", "n1", "--join", "n1")
    steps_text = simulate(*argv).out.split("\nstep ")
    assert "  nodes: n1 down and drained, n2 up, n3 up" in steps_text[2]
    assert "  nodes: n1 drained, n2 up, n3 up" in steps_text[3]
    steps = simulate(*argv, "--format", "json").json()["steps"]
    assert [(s["nodes"]["n1"], s["drained"]) for s in steps] == [
        ("up", []), ("down", []), ("down", ["n1"]), ("drained", ["n1"])]


def test_on_a_terminal_the_same_words_in_colour(simulate: Callable[..., Run],
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    plain = simulate(WEB_TIER, "--fail", "n1").out
    monkeypatch.setattr("crg.output._is_terminal", lambda stream: True)
    monkeypatch.setenv("COLUMNS", "120")
    coloured = simulate(WEB_TIER, "--fail", "n1").out
    assert "\x1b[" in coloured
    words = re.compile(r"\x1b\[[0-9;]*m")
    assert words.sub("", coloured).split() == plain.split()


def test_the_schema_knows_every_event() -> None:
    from crg.spec.present.simulation import EVENTS

    assert SCHEMA["$defs"]["event"]["properties"]["name"]["enum"] == [e.name for e in EVENTS]
