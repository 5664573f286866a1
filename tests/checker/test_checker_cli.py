"""``crg check`` on the command line: exit codes, the text report, ITF traces and the
machine formats (JSON, SARIF validated against the SARIF 2.1.0 schema, JUnit XML read by
junitparser)."""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Callable
from pathlib import Path

import jsonschema
import pytest
from checker_helpers import EXAMPLES
from cli_run import Run
from junitparser import Failure, JUnitXml

from crg.checker import api
from crg.checker.options import RANKING_S
from crg.checker.result import PROPERTIES, SymbolicReport, Verdict
from crg.checker.symbolic.owner_moves import NOT_BOUNDED_IN_TIME
from crg.checker.symbolic.ranking import TIME_RAN_OUT, Attempt
from crg.commands import check as check_command
from crg.spec import KINDS, ActionKind
from crg.spec.rules.run import Step
from crg.spec.rules.view import View, owned, up

NO_FENCING = str(EXAMPLES / "broken" / "no-fencing.crg")
NO_STANDBY = str(EXAMPLES / "broken" / "no-standby.crg")
SCHEMA = Path(__file__).with_name("sarif-schema-2.1.0.json")
NO_RANKING = Attempt(None, "none, for the test")
"""The OASIS SARIF 2.1.0 schema (errata 01, JSON Schema draft 04), vendored unchanged."""

SAFE = """\
cluster small {
  nodes n1 n2
  assume faults crash
}
group web {
  vip 10.1.0.1/24
  app { start "/bin/true" }
  monitor process
  preferred n1
  possible n2
  failback auto
}
"""


@pytest.fixture
def safe(tmp_path: Path) -> str:
    path = tmp_path / "small.crg"
    path.write_text(SAFE, encoding="utf-8")
    return str(path)


def test_safe_config_exits_0_with_a_table(crg: Callable[..., Run], safe: str) -> None:
    result = crg("check", safe)
    assert (result.code, result.err) == (0, "")
    assert result.out.splitlines()[2].split() == ["property", "verdict", "states", "depth",
                                                  "time"]
    # what an ok holds under: the default events leave partitions out, which an operator
    # used to Pacemaker's fencing would otherwise take as checked
    assert result.out.splitlines()[1] == ("  assumed: at most 1 node down at once; events: "
                                          "crash (not explored: app-fault, switchover, "
                                          "drain, partition, maintenance)")
    for prop in PROPERTIES:
        assert f"\n{prop.label} " in result.out
        assert "holds" in next(line for line in result.out.splitlines()
                               if line.startswith(prop.label + " "))
    assert result.out.endswith(f"{safe}: ok (2 nodes, 1 group)\n")


def test_a_check_handed_whole_to_z3_does_not_open_with_0_states_explored(
        crg: Callable[..., Run], tmp_path: Path) -> None:
    """A component predicted too large before any search: the first line said "0 states
    explored in 0.32s", which read as if nothing had been checked."""
    path = tmp_path / "shop.crg"
    path.write_text(
        "cluster shop {\n  nodes n1 n2 n3\n}\n"
        "group web {\n  vip 10.0.0.1/24\n  app { start \"/bin/web\" }\n"
        "  monitor process\n  preferred n1\n  possible n2, n3\n}\n"
        "group db {\n  vip 10.0.0.2/24\n  kind instance\n  failback auto\n"
        "  app { start \"/bin/db\" }\n  monitor process\n  preferred n2\n"
        "  possible n3\n  avoid web\n}\n")
    result = crg("check", str(path))
    assert result.code == 0, result.out
    first, second = result.out.splitlines()[:2]
    assert first == f"{path}: 1 component, handed to the symbolic engine"
    # not "more than 600,005 states predicted", which read as a cap (an outside tester)
    assert second.startswith("  web, db: beyond the search's limit, predicted from its groups "
                             "alone (at least ") and second.endswith(
        " states); handed to the symbolic engine")


def test_an_out_that_is_a_file_is_named_as_not_a_directory(crg: Callable[..., Run],
                                                            tmp_path: Path) -> None:
    taken = tmp_path / "traces"
    taken.write_text("a file, not a folder\n")
    result = crg("check", NO_FENCING, "--out", str(taken))
    assert result.code == 2
    assert f"cannot write '{taken}': not a directory" in result.err


@pytest.mark.parametrize("out", ["file", "/proc/crg-no-such-dir"])
def test_a_mistaken_out_is_said_before_the_check(crg: Callable[..., Run], tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch,
                                                 out: str) -> None:
    """--out was first looked at when the first trace was written, after the search (an
    hour, for a large configuration), whose verdict was then dropped for the error."""
    taken = tmp_path / "traces"
    taken.write_text("a file, not a folder\n")

    def never(*args: object) -> None:
        raise AssertionError("the check ran")

    monkeypatch.setattr(check_command, "verify", never)
    where = str(taken) if out == "file" else out
    result = crg("check", NO_FENCING, "--out", where)
    assert result.code == 2
    assert result.err.startswith(f"crg: error: cannot write '{where}': ")
    assert result.out == ""


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_a_trace_that_cannot_be_written_keeps_the_verdict(crg: Callable[..., Run],
                                                          tmp_path: Path, fmt: str) -> None:
    """A trace that fails to write (a full disk; here a folder in its place) replaced the
    whole report with the error: the violation found was never said."""
    (tmp_path / "no-fencing.vip-unique.itf.json").mkdir()
    result = crg("check", NO_FENCING, "--out", str(tmp_path), "--format", fmt)
    assert result.code == 2
    if fmt == "text":
        assert "shortest trace: 1 environment event, 6 steps" in result.out
        assert "violated: vip-unique, app-exclusive, vip-held" in result.out
    else:
        assert json.loads(result.out)["files"][0]["status"] == "violated"
    assert result.err.strip().splitlines()[-1] == (
        f"crg: error: cannot write '{tmp_path / 'no-fencing.vip-unique.itf.json'}': Is a "
        "directory (the verdict stands: the report shows the trace)")


def test_out_is_made_with_its_parents(crg: Callable[..., Run], tmp_path: Path) -> None:
    result = crg("check", NO_FENCING, "--out", str(tmp_path / "a" / "b"))
    assert result.code == 1
    assert sorted(p.name for p in (tmp_path / "a" / "b").iterdir()) == [
        "no-fencing.app-exclusive.itf.json", "no-fencing.vip-held.itf.json",
        "no-fencing.vip-unique.itf.json"]


def test_violation_exits_1_with_the_trace(crg: Callable[..., Run], tmp_path: Path) -> None:
    result = crg("check", NO_FENCING, "--out", str(tmp_path))
    assert result.code == 1
    assert "no-fencing.crg:20: vip-unique violated in group pay" in result.out
    assert "  shortest trace: 1 environment event, 6 steps" in result.out
    assert "    3. event partition n1" in result.out
    assert "pay: vip n1 → n1,n2" in result.out
    assert f"replay: crg simulate {NO_FENCING} --partition n1" in result.out
    # the rest, unknown in the table, is not read as holding (an outside tester's finding)
    assert result.out.rstrip().endswith(
        "violated: vip-unique, app-exclusive, vip-held; 27 properties not decided (2 nodes, "
        "1 group)")
    assert result.err == ("  = hint: the check stops at the first violation; --keep-going "
                          "decides the other properties too\n")
    kept = crg("check", NO_FENCING, "--keep-going")
    assert kept.out.rstrip().endswith(
        "violated: vip-unique, app-exclusive, vip-held (2 nodes, 1 group)"), kept.out
    assert kept.err == ""
    trace = json.loads((tmp_path / "no-fencing.vip-unique.itf.json").read_text())
    assert trace["vars"] == ["action", "nodes", "drained", "groups"]
    assert all(s["drained"] == {"#set": []} for s in trace["states"])
    assert trace["#meta"]["format"] == "ITF" and "loop" not in trace
    assert [s["#meta"]["index"] for s in trace["states"]] == list(range(7))
    assert trace["states"][0]["action"]["action"] == "init"
    assert trace["states"][-1]["groups"]["pay"]["vip"] == {"#set": ["n1", "n2"]}
    assert trace["states"][3]["nodes"] == {"n1": "cut", "n2": "up"}


def test_a_livelock_is_a_lasso(crg: Callable[..., Run], safe: str, tmp_path: Path,
                               monkeypatch: pytest.MonkeyPatch) -> None:
    # A seeded bug: the VIP may be released while the group stays, so it flaps.
    def release_vip(v: View, n: int) -> Step:
        a, g = v.a, v.g
        guard = a.and_(owned(v, n), up(v, n), a.bit(g.vip, n), a.not_(a.bit(g.app, n)),
                       a.not_(g.announced))
        return guard, g._replace(vip=a.with_bit(g.vip, n, a.false))

    monkeypatch.setitem(KINDS, ActionKind.RELEASE_VIP,
                        dataclasses.replace(KINDS[ActionKind.RELEASE_VIP], rule=release_vip))
    result = crg("check", safe, "--out", str(tmp_path))
    assert result.code == 1
    assert "vip-held (liveness) violated in group web" in result.out
    assert "loop from step 1, forever:" in result.out
    assert "(back to step 1)" in result.out
    trace = json.loads((tmp_path / "small.vip-held-liveness.itf.json").read_text())
    assert trace["loop"] == 1 and len(trace["states"]) == 3
    assert trace["#meta"]["loop-action"]["action"] == "release-vip"


def test_json_lists_every_property(crg: Callable[..., Run]) -> None:
    result = crg("check", "--format", "json", NO_FENCING)
    assert result.code == 1
    entry = json.loads(result.out)["files"][0]
    assert entry["status"] == "violated"
    props = {(p["name"], p["kind"]): p for p in entry["check"]["properties"]}
    assert set(props) == {(p.name, "liveness" if p.liveness else "safety") for p in PROPERTIES}
    v = props[("vip-unique", "safety")]["violation"]
    assert (v["group"], v["failures"], v["length"]) == ("pay", 1, 6)
    assert [e["action"] for e in v["events"]] == ["partition"]
    assert v["steps"][2] == {"index": 3, "action": {"action": "partition", "group": None,
                                                    "node": "n1", "system": False},
                             "description": "partition n1", "event": True,
                             "changes": ["n1: up → cut", "pay: app starting → down"],
                             "closes_loop": False}


def test_sarif_is_valid_and_points_at_the_group(crg: Callable[..., Run], safe: str) -> None:
    result = crg("check", "--format", "sarif", NO_FENCING, NO_STANDBY, safe)
    assert result.code == 1
    log = json.loads(result.out)
    jsonschema.Draft4Validator(json.loads(SCHEMA.read_text())).validate(log)
    results = log["runs"][0]["results"]
    by_rule = {(r["ruleId"], r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]):
               r for r in results}
    unique = by_rule[("vip-unique", NO_FENCING)]
    region = unique["locations"][0]["physicalLocation"]["region"]
    assert region["startLine"] == 20  # fencing none, in group pay
    flow = unique["codeFlows"][0]["threadFlows"][0]["locations"]
    assert len(flow) == 6
    broken = json.loads(result.out)
    del broken["runs"][0]["results"][0]["message"]
    with pytest.raises(jsonschema.ValidationError):  # the schema does check results
        jsonschema.Draft4Validator(json.loads(SCHEMA.read_text())).validate(broken)
    coverage = by_rule[("coverage", NO_STANDBY)]
    assert coverage["locations"][0]["physicalLocation"]["region"]["startLine"] == 11
    # one step, in words: it said "(1 steps; ..."
    assert "after 1 environment event (1 step; found by" in coverage["message"]["text"]
    assert not [r for r in results if safe in json.dumps(r["locations"])]
    # the warnings the text prints first are there too (SARIF had errors only)
    warned = by_rule[("config-warning", NO_STANDBY)]
    assert (warned["level"], warned["properties"]["code"]) == ("warning", "no-standby")
    assert warned["locations"][0]["physicalLocation"]["region"]["startLine"] == 17


def test_sarif_reports_invalid_configs(crg: Callable[..., Run], tmp_path: Path) -> None:
    bad = tmp_path / "bad.crg"
    bad.write_text("cluster c { nodes n1 }\ngroup g { preferd n1 }\n", encoding="utf-8")
    result = crg("check", "--format", "sarif", str(bad))
    assert result.code == 2
    log = json.loads(result.out)
    jsonschema.Draft4Validator(json.loads(SCHEMA.read_text())).validate(log)
    assert {r["ruleId"] for r in log["runs"][0]["results"]} == {"config"}


@pytest.mark.parametrize("fmt", ["sarif", "junit", "json", "text"])
def test_invalid_configs_are_reported_without_url_secrets(crg: Callable[..., Run],
                                                          tmp_path: Path, fmt: str) -> None:
    """CI keeps these reports: a webhook's credentials and token stay hidden in them."""
    bad = tmp_path / "bad.crg"
    bad.write_text((EXAMPLES / "quickstart.crg").read_text().replace(
        "  alert log\n", '  alert log\n'
        '  alert webhook "ftp://ops:hunter2@hooks.example.net/crg?token=s3cr3t"\n', 1),
        encoding="utf-8")
    result = crg("check", "--format", fmt, str(bad))
    assert result.code == 2, result.err
    assert "ftp://***@hooks.example.net/crg?***" in result.out + result.err
    assert "hunter2" not in result.out + result.err
    assert "s3cr3t" not in result.out + result.err


def test_junit_parses(crg: Callable[..., Run], safe: str) -> None:
    result = crg("check", "--format", "junit", NO_FENCING, safe)
    assert result.code == 1
    xml = JUnitXml.fromstring(result.out)  # a JUnit XML parser, not just an XML one
    suites = list(xml)
    assert [s.name for s in suites] == [NO_FENCING, safe]
    assert [s.tests for s in suites] == [len(PROPERTIES)] * 2
    assert [s.failures for s in suites] == [3, 0]
    case = next(c for c in suites[0] if c.name == "vip-unique")
    failures = [r for r in case.result if isinstance(r, Failure)]
    assert len(failures) == 1 and "partition n1" in (failures[0].text or "")
    assert xml.failures == 3


def test_junit_has_the_warnings_as_passing_cases(crg: Callable[..., Run],
                                                 tmp_path: Path) -> None:
    # SARIF had the warnings the text prints first (config-warning); JUnit had none.
    result = crg("check", "--format", "junit", NO_STANDBY)
    assert result.code == 1
    (suite,) = list(JUnitXml.fromstring(result.out))
    cases = list(suite)
    warned = [c for c in cases if c.name.startswith("warning: ")]
    assert [c.name for c in warned] == [
        "warning: group 'ledger' has no possible node: it cannot fail over"]
    assert warned[0].is_passed and {c.classname for c in cases} == {warned[0].classname}
    assert (warned[0].system_out or "").startswith(
        f"{NO_STANDBY}:17:3: warning: group 'ledger' has no possible node")
    assert "= hint: add standbys with: possible n2" in (warned[0].system_out or "")
    assert (suite.tests, suite.failures) == (len(PROPERTIES) + 1, 1)
    # An invalid file's warnings too, beside its error (as SARIF's).
    bad = tmp_path / "bad.crg"
    bad.write_text(Path(NO_STANDBY).read_text().replace(
        "  preferred n1\n}", "  preferred n1\n  restarts -1\n}", 1), encoding="utf-8")
    result = crg("check", "--format", "junit", str(bad))
    assert result.code == 2
    (suite,) = list(JUnitXml.fromstring(result.out))
    assert [(c.name, c.is_passed) for c in suite] == [
        ("warning: group 'ledger' has no possible node: it cannot fail over", True),
        ("validate", False)]
    assert (suite.tests, suite.errors) == (2, 1)


def test_junit_lists_every_error_of_an_invalid_file(crg: Callable[..., Run]) -> None:
    # The validate case's text was the first error only, under "3 configuration error(s)".
    bad = str(Path(__file__).parents[1] / "dsl" / "corpus" / "syntax-several-errors.crg")
    text = crg("check", bad)
    result = crg("check", "--format", "junit", bad)
    assert text.code == result.code == 2
    (suite,) = list(JUnitXml.fromstring(result.out))
    (validate,) = [c for c in suite if c.name == "validate"]
    (error,) = validate.result
    errors = [line for line in (error.text or "").splitlines() if ": error: " in line]
    assert len(errors) == 3 and error.message == "3 configuration error(s)"
    for line in errors:  # each as the text prints it
        assert line in text.err + text.out


def test_max_depth_bounds_the_events(crg: Callable[..., Run]) -> None:
    result = crg("check", "--max-depth", "0", NO_FENCING)
    assert result.code == 0
    assert "bounded: no violation within --max-depth environment events" in result.out
    assert result.out.endswith(f"{NO_FENCING}: no violation within 0 events (bounded, not a "
                               "proof) (2 nodes, 1 group)\n")
    assert ": ok (" not in result.out


def test_undecided_properties_are_inconclusive(crg: Callable[..., Run], safe: str,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    # Without a ranking function (none found: as for a rule set that gives none), the
    # symbolic engine leaves liveness open when the explicit engine may not help
    # (--liveness-states 0), and decides it with the default limit.
    from crg.checker.symbolic import component

    monkeypatch.setattr(component, "rank", lambda *args: NO_RANKING)
    undecided = ("check", "--engine", "symbolic", "--liveness-states", "0")
    result = crg(*undecided, safe)
    assert result.code == 4
    assert result.out.endswith(f"{safe}: inconclusive: no violation, but not decided: "
                               "vip-held (liveness) (2 nodes, 1 group)\n")
    assert "--liveness-states N raises its limit" in result.err
    entry = json.loads(crg(*undecided, "--format", "json", safe).out)["files"][0]
    assert (entry["status"], entry["undecided"]) == ("inconclusive", ["vip-held (liveness)"])
    assert crg("check", "--engine", "symbolic", safe).code == 0
    # The explicit engine decides it: with both engines nothing is left open.
    result = crg("check", "--engine", "both", "--liveness-states", "0", safe)
    assert result.code == 0 and result.out.endswith(f"{safe}: ok (2 nodes, 1 group)\n")


def test_liveness_time_is_the_ranking_budget_and_the_hint_when_it_runs_out(
        crg: Callable[..., Run], safe: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from crg.checker.symbolic import component

    budgets: list[float] = []

    def out_of_time(enc: object, prover: object, budget_s: float) -> Attempt:
        budgets.append(budget_s)
        # The words the ranking search itself uses when its time runs out.
        return Attempt(None, f"{TIME_RAN_OUT}, and the owners of web "
                             f"{NOT_BOUNDED_IN_TIME} (z3 at 32 changes)")

    monkeypatch.setattr(component, "rank", out_of_time)
    result = crg("check", "--engine", "symbolic", "--liveness-states", "0",
                 "--liveness-time", "2m", safe)
    assert result.code == 4
    assert budgets == [120.0]
    assert ("hint: z3 ran out of time for the ranking function that would prove liveness; "
            "--liveness-time 5m gives it 5 minutes per component") in result.err
    assert crg("check", "--engine", "symbolic", "--liveness-states", "0", safe).code == 4
    assert budgets[-1] == RANKING_S
    # after five minutes, five again would be wasted: twice what it had
    result = crg("check", "--engine", "symbolic", "--liveness-states", "0",
                 "--liveness-time", "5m", safe)
    assert budgets[-1] == 300.0 and result.code == 4
    assert ("--liveness-time 10m gives it 10 minutes per component (it had 5m)"
            in result.err)


def test_help_lists_the_exit_codes(crg: Callable[..., Run]) -> None:
    result = crg("check", "--help")
    assert result.code == 0
    text = " ".join(result.out.split())
    assert "exit status: 0 every property holds" in text
    for code in ("1 a property is violated", "2 bad input", "3 a bug in crg",
                 "4 nothing is violated, but not every property was decided"):
        assert code in text


def test_overrides(crg: Callable[..., Run]) -> None:
    # Without partitions among the faults, the unfenced group is safe.
    assert crg("check", "--faults", "crash", NO_FENCING).code == 0
    assert crg("check", "--max-down", "0", NO_STANDBY).code == 0


@pytest.mark.parametrize("argv", [["--max-down", "3", NO_FENCING],
                                  ["--faults", "crash,meteor", NO_FENCING],
                                  ["--max-depth", "-1", NO_FENCING],
                                  ["--format", "xml", NO_FENCING],
                                  ["--liveness-time", "0", NO_FENCING],
                                  ["--liveness-time", "soon", NO_FENCING]])
def test_bad_options_exit_2(crg: Callable[..., Run], argv: list[str]) -> None:
    result = crg("check", *argv)
    assert result.code == 2
    assert "Traceback" not in result.err
    assert result.err


def test_max_down_beyond_the_nodes_is_explained(crg: Callable[..., Run]) -> None:
    result = crg("check", "--max-down", "3", NO_FENCING)
    assert result.err == f"crg: error: {NO_FENCING}: --max-down 3: the cluster has only 2 nodes\n"


def test_symbolic_engine_prints_reasons_and_the_run(crg: Callable[..., Run]) -> None:
    result = crg("check", "--engine", "symbolic", NO_FENCING)
    assert result.code == 1
    lines = result.out.splitlines()
    assert any(line.split()[:2] == ["vip-unique", "violated"] for line in lines)
    assert any(line.split()[:2] == ["coverage", "holds"] for line in lines)
    # the run read as the explicit engine's: what changed, the hint, the replay (they were
    # bare steps: an outside tester's finding)
    start = lines.index(f"{NO_FENCING}:20: vip-unique violated in group pay")
    shown = lines[start:lines.index("", start)]
    steps = [line.split(". ", 1)[1].strip().removeprefix("event ") for line in shown
             if re.match(r" +\d+\. ", line)]
    assert steps == ["n1: claim pay", "n1: acquire-vip pay", "partition n1", "expire n1",
                     "n2: claim pay", "n2: acquire-vip pay"]
    assert "              pay: vip n1 → n1,n2, app down → starting" in shown
    assert any(line.startswith("  = hint: pay has fencing none") for line in shown)
    assert f"  replay: crg simulate {NO_FENCING} --partition n1" in "\n".join(shown)
    # in the order of the table, as the default engine's
    assert lines[-1].startswith(f"{NO_FENCING}: violated: vip-unique, app-exclusive, vip-held")


def _symbolic_answer(monkeypatch: pytest.MonkeyPatch, verdicts: dict[str, str],
                     details: dict[str, object]) -> None:
    """The symbolic engine answers ``verdicts`` whatever it is asked."""
    answer = SymbolicReport({k: Verdict(v) for k, v in verdicts.items()}, details)
    monkeypatch.setattr(api, "_prove", lambda *args: answer)


def test_symbolic_engine_verdicts(crg: Callable[..., Run], safe: str,
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    _symbolic_answer(monkeypatch, {"vip-unique": "violated"}, {"k": 1})
    result = crg("check", "--format", "json", "--engine", "symbolic", safe)
    assert result.code == 1
    entry = json.loads(result.out)["files"][0]
    assert entry["symbolic"] == {"verdicts": {"vip-unique": "violated"}, "details": {"k": 1}}
    assert "check" not in entry


def test_engines_that_disagree_are_a_bug(crg: Callable[..., Run], safe: str,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    _symbolic_answer(monkeypatch, {"vip-unique": "violated", "notify": "holds"}, {})
    result = crg("check", "--engine", "both", safe)
    assert result.code == 3
    assert "the explicit and symbolic engines disagree on vip-unique" in result.err


def test_both_engines_on_a_broken_example(crg: Callable[..., Run]) -> None:
    result = crg("check", "--format", "json", "--engine", "both", NO_STANDBY)
    assert result.code == 1
    entry = json.loads(result.out)["files"][0]
    assert entry["symbolic"]["verdicts"]["coverage"] == "violated"
    assert "disagreements" not in entry
    # both implies --keep-going: no explicit verdict is left unknown to compare with
    assert entry["check"]["options"]["keep_going"] is True
    assert "unknown" not in {p["verdict"] for p in entry["check"]["properties"]}


def test_validate_only_skips_the_checker(crg: Callable[..., Run]) -> None:
    result = crg("check", "--validate-only", NO_FENCING)
    assert (result.code, result.out) == (0, f"{NO_FENCING}: ok (2 nodes, 1 group)\n")


def test_explain_coverage(crg: Callable[..., Run]) -> None:
    result = crg("check", "--explain-coverage", "--max-down", "2",
                 str(EXAMPLES / "broken" / "two-down.crg"))
    assert result.code == 1
    assert "orders  {n1, n2}" in result.out
    # only the coverage question: no verdict table, no check
    assert "property" not in result.out and "states explored" not in result.out
    entry = json.loads(crg("check", "--explain-coverage", "--format", "json",
                           str(EXAMPLES / "broken" / "two-down.crg")).out)["files"][0]
    assert "check" not in entry and entry["coverage"]["any_group"] == [["n1", "n2"]]


@pytest.mark.parametrize("argv", [["--explain-coverage", "--validate-only"],
                                  ["--explain-coverage", "--format", "sarif"],
                                  ["--memory", "lots"], ["-j", "0"], ["--max-states", "0"]])
def test_options_that_do_not_go_together_exit_2(crg: Callable[..., Run],
                                                argv: list[str]) -> None:
    result = crg("check", *argv, NO_STANDBY)
    assert result.code == 2
    assert result.err and "Traceback" not in result.err


@pytest.mark.parametrize(("memory", "said"), [
    ("4", "'4' is 4 bytes (a number without a unit is bytes): too little for a check"),
    ("512k", "'512k' is 524288 bytes: too little for a check"),
])
def test_a_memory_budget_too_small_for_any_search_is_a_usage_error(
        crg: Callable[..., Run], memory: str, said: str) -> None:
    """``--memory 4`` (4G, the unit forgotten) was taken as 4 bytes: every search stopped
    at once, and --engine auto handed the whole check to z3 without a word."""
    result = crg("check", "--max-depth", "0", "--memory", memory, NO_STANDBY)
    assert result.code == 2
    assert f"argument --memory: {said}, which needs 1M at least" in result.err


@pytest.mark.parametrize(("argv", "said"), [
    (["--memory", "-1G"], "argument --memory: '-1G' is negative: a memory budget is a size "
                          "of 1M or more"),
    (["--memory", "-512"], "argument --memory: '-512' is negative"),
    (["--liveness-time", "-5s"], "argument --liveness-time: '-5s' is negative: it must be a "
                                 "duration of more than 0"),
    (["--liveness-time", "-300"], "argument --liveness-time: '-300' is negative"),
])
def test_a_negative_size_or_duration_is_said_to_be_negative(
        crg: Callable[..., Run], argv: list[str], said: str) -> None:
    """argparse took ``-1G`` and ``-5s`` for options, and said "expected one argument" as
    if the value were missing."""
    result = crg("check", *argv, NO_STANDBY)
    assert result.code == 2
    assert said in result.err, result.err
    assert "expected one argument" not in result.err and "Traceback" not in result.err


def test_a_search_at_its_budget_is_inconclusive(crg: Callable[..., Run], safe: str) -> None:
    result = crg("check", "--engine", "explicit", "--max-states", "20", safe)
    assert result.code == 4
    assert "limit: component web: the search stopped at its state budget" in result.out
    assert "--memory or --max-states raise it" in result.err


def test_symbolic_results_reach_sarif(crg: Callable[..., Run]) -> None:
    schema = jsonschema.Draft4Validator(json.loads(SCHEMA.read_text()))
    for engine, engines in (("symbolic", ["symbolic"]), ("both", ["explicit", "symbolic"])):
        result = crg("check", "--format", "sarif", "--engine", engine, NO_FENCING)
        assert result.code == 1
        log = json.loads(result.out)
        schema.validate(log)
        results = {r["ruleId"]: r for r in log["runs"][0]["results"]}
        assert set(results) == {"vip-unique", "app-exclusive", "vip-held"}
        unique = results["vip-unique"]
        assert unique["properties"]["engines"] == engines
        assert unique["locations"][0]["physicalLocation"]["region"]["startLine"] == 20
        flows = unique["codeFlows"]
        assert [len(f["threadFlows"][0]["locations"]) for f in flows] == [6] * len(engines)


def test_symbolic_results_reach_junit(crg: Callable[..., Run]) -> None:
    result = crg("check", "--format", "junit", "--engine", "symbolic", NO_FENCING)
    assert result.code == 1
    (suite,) = list(JUnitXml.fromstring(result.out))
    cases = list(suite)
    assert [c.name for c in cases] == [f"{p.label} (symbolic)" for p in PROPERTIES]
    assert (suite.failures, suite.errors) == (3, 0)
    case = next(c for c in cases if c.name == "vip-unique (symbolic)")
    failures = [r for r in case.result if isinstance(r, Failure)]
    assert len(failures) == 1 and "partition n1" in (failures[0].text or "")
    (both,) = list(JUnitXml.fromstring(crg("check", "--format", "junit", "--engine", "both",
                                           NO_FENCING).out))
    assert both.tests == 2 * len(PROPERTIES)


def test_symbolic_counterexamples_are_written_as_itf(crg: Callable[..., Run],
                                                    tmp_path: Path) -> None:
    result = crg("check", "--engine", "both", "--out", str(tmp_path), NO_FENCING)
    assert result.code == 1
    written = sorted(p.name for p in tmp_path.iterdir())
    assert "no-fencing.vip-unique.itf.json" in written
    assert "no-fencing.vip-unique.symbolic.itf.json" in written
    trace = json.loads((tmp_path / "no-fencing.vip-unique.symbolic.itf.json").read_text())
    assert len(trace["states"]) == 7
    assert trace["states"][-1]["groups"]["pay"]["vip"] == {"#set": ["n1", "n2"]}
    assert f"trace: {tmp_path / 'no-fencing.vip-unique.symbolic.itf.json'}" in result.out
    flapping = str(EXAMPLES / "broken" / "flapping.crg")
    assert crg("check", "--engine", "symbolic", "--out", str(tmp_path), flapping).code == 1
    lasso = json.loads((tmp_path / "flapping.vip-held-liveness.symbolic.itf.json").read_text())
    assert lasso["loop"] == 1 and len(lasso["states"]) == 11


def test_a_counterexample_that_does_not_replay_is_a_bug(crg: Callable[..., Run],
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    from crg.checker.symbolic import component
    from crg.checker.symbolic.replay import ReplayError

    def refuse(*args: object) -> None:
        raise ReplayError("step 3 (partition) is not enabled")

    monkeypatch.setattr(component, "confirm", refuse)
    result = crg("check", "--engine", "symbolic", NO_FENCING)
    assert result.code == 3
    assert "internal error in the symbolic engine" in result.err
    assert "vip-unique (group 0): step 3 (partition) is not enabled" in result.err
    assert ": ok (" not in result.out and "Traceback" not in result.err


def test_a_placement_fact_against_the_spec_is_a_bug(crg: Callable[..., Run], safe: str,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from crg.checker.symbolic import facts

    # a broken placement rule: the last candidate first
    def last_first(v: View) -> object:
        a = v.a
        return a.first([(a.true, a.const(c + 1)) for c in reversed(v.topo.candidates)],
                       a.const(0))

    monkeypatch.setattr(facts, "placement", last_first)
    result = crg("check", "--engine", "symbolic", safe)
    assert result.code == 3
    assert "configuration fact placement of group web" in result.err


def test_itf_names_are_unique_across_files(crg: Callable[..., Run], tmp_path: Path) -> None:
    text = Path(NO_FENCING).read_text(encoding="utf-8")
    paths = []
    for folder in ("x1", "x2"):
        (tmp_path / folder).mkdir()
        paths.append(tmp_path / folder / "s.crg")
        paths[-1].write_text(text, encoding="utf-8")
    out = tmp_path / "out"
    assert crg("check", "--out", str(out), *map(str, paths)).code == 1
    names = sorted(p.name for p in out.iterdir())
    assert "x1.s.vip-unique.itf.json" in names and "x2.s.vip-unique.itf.json" in names
    assert len(names) == 6  # three violations per file, none overwritten
    # the same files in the other order get the same names
    again = tmp_path / "again"
    crg("check", "--out", str(again), *map(str, reversed(paths)))
    assert sorted(p.name for p in again.iterdir()) == names


def test_fencing_none_without_partitions_is_pointed_out(crg: Callable[..., Run],
                                                       tmp_path: Path) -> None:
    # The case fencing none is unsafe in is a partition; not exploring partitions would
    # let the check pass in silence.
    text = NO_FENCING_TEXT.replace("assume faults crash, partition", "assume faults crash")
    path = tmp_path / "quiet.crg"
    path.write_text(text)
    result = crg("check", str(path))
    assert result.code == 0
    shown = result.out + result.err
    assert "group 'pay' does not fence itself, and partitions are not explored" in shown
    assert "hint: explore it with: assume faults crash, partition (or use fencing self)" in (
        shown)
    explored = crg("check", NO_FENCING)
    assert "does not fence itself" not in explored.out + explored.err  # explored: no warning


NO_FENCING_TEXT = Path(NO_FENCING).read_text()

ONE_NODE_GROUP = """\
cluster c {
  nodes n1 n2
  assume at most 0 nodes down
  assume faults crash, drain, switchover
}
group a {
  vip 10.0.0.1/24
  app { start "/bin/a" }
  monitor process
  preferred n1
}
"""


def test_assumed_faults_that_cannot_happen_are_pointed_out(crg: Callable[..., Run],
                                                          tmp_path: Path) -> None:
    # Nothing of them is explored, and `assume faults` reads as if they were.
    path = tmp_path / "never.crg"
    path.write_text(ONE_NODE_GROUP)
    result = crg("check", str(path))
    assert result.code == 0
    assert ("never.crg:4:3: warning: crash and drain assumed, but no node may be out at once "
            "(assume at most 0 nodes down): crg check explores none of them") in result.err
    assert ("never.crg:4:3: warning: switchovers assumed, but no group has a second node to "
            "switch to: crg check explores none") in result.err
    # and neither once they can happen
    text = ONE_NODE_GROUP.replace("at most 0", "at most 1").replace("preferred n1",
                                                                     "preferred n1\n  possible n2")
    path.write_text(text)
    again = crg("check", str(path))
    assert again.code == 0 and "assumed, but" not in again.err
    # by default (no assume faults line) only what the file asked for is named
    path.write_text(ONE_NODE_GROUP.replace("  assume faults crash, drain, switchover\n", ""))
    default = crg("check", str(path))
    assert "assumed by default, but no node may be out at once" in default.err
    assert "switchovers assumed" not in default.err



def test_a_group_every_node_of_which_may_be_out_is_pointed_out_before_the_check(
        crg: Callable[..., Run], tmp_path: Path) -> None:
    # examples/broken/two-down.crg: orders runs on n1 and n2, two nodes may be down. The
    # warning comes with validation, instantly, where the check needs the whole search;
    # and the check agrees.
    path = str(EXAMPLES / "broken" / "two-down.crg")
    validated = crg("check", "--validate-only", path)
    assert validated.code == 0
    assert ("two-down.crg:18:3: warning: group 'orders' runs on 2 nodes (n1, n2) and the "
            "cluster assumes at most 2 nodes down: with both out it has nowhere to run (crg "
            "check reports coverage)") in validated.err
    assert "= hint: add a possible node, or assume at most 1 node down" in validated.err
    assert "stock" not in validated.err, "three nodes: one is always left"
    checked = crg("check", path)
    assert checked.code == 1 and "coverage violated in group orders" in checked.out
    # Not where the file assumes nothing that takes a node out.
    calm = tmp_path / "calm.crg"
    calm.write_text(Path(path).read_text().replace("assume faults crash",
                                                   "assume faults app-fault"))
    assert "runs on 2 nodes" not in crg("check", "--validate-only", str(calm)).err


def test_a_search_off_a_terminal_says_how_far_it_got(crg: Callable[..., Run],
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    # Not on a terminal (CI, a pipe) a long search printed nothing until its verdict; it
    # says how far it got every PLAIN_PROGRESS_S (here: at every report of the search).
    monkeypatch.setattr(check_command, "PLAIN_PROGRESS_S", -1.0)
    path = str(EXAMPLES / "web-tier.crg")
    result = crg("check", path, "--engine", "explicit", "-j", "1")
    assert result.code == 0, result.err
    lines = [line for line in result.err.splitlines() if line.startswith(f"crg check {path}: ")]
    assert any("states/s" in line for line in lines), result.err
    assert all("states/s" in line or "still checking" in line for line in lines), result.err
    # on two processes too (it said "still checking" only, for as long as it ran)
    parallel = crg("check", path, "--engine", "explicit", "-j", "2")
    assert any("states/s" in line for line in parallel.err.splitlines()), parallel.err
    quiet = crg("check", path, "--engine", "explicit", "-j", "1", "--format", "json")
    assert quiet.code == 0 and quiet.out.startswith("{")


def test_a_proof_off_a_terminal_says_it_still_runs(crg: Callable[..., Run],
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    # z3 reports no progress: a proof of a minute was a minute of silence in a CI log.
    monkeypatch.setattr(check_command, "PLAIN_PROGRESS_S", 0.2)
    path = str(EXAMPLES / "web-tier.crg")
    result = crg("check", path, "--engine", "symbolic", "-j", "1")
    assert result.code == 0, result.err
    beats = [line for line in result.err.splitlines()
             if line.startswith(f"crg check {path}: still checking, ")]
    assert beats, result.err
    # with what it is doing (crg.checker.stages): z3 proving one component or another
    assert any(re.fullmatch(r".*: still checking, \d+ s: \w+(\+\w+)*: .+", line)
               for line in beats), beats
    # and nothing more once the check is over (the heartbeat ended with it)
    assert not crg("fmt", "--check", path).err


def test_the_text_says_how_long_the_symbolic_engine_took(crg: Callable[..., Run],
                                                          safe: str) -> None:
    # a check handed to z3 printed only the explicit search's time, everywhere
    result = crg("check", "--auto-states", "50", safe)
    assert result.code == 0
    took = next(line for line in result.out.splitlines()
                if line.startswith("  the symbolic engine took "))
    z3 = float(took.removeprefix("  the symbolic engine took ").removesuffix("s"))
    row = next(line for line in result.out.splitlines() if line.startswith("vip-unique "))
    assert row.split()[5] == "z3" and float(row.split()[4].removesuffix("s")) >= z3
    # z3 explores no state: not "0 states, depth 0"
    assert row.split()[2:4] == ["-", "-"]


def test_json_lists_every_property_as_decided_whichever_engine(crg: Callable[..., Run],
                                                               safe: str) -> None:
    # handed to z3, "check" (the explicit engine's) said unknown for every property while
    # the text's table said holds: "properties" is what the text shows
    entry = json.loads(crg("check", "--format", "json", "--auto-states", "50",
                           safe).out)["files"][0]
    assert entry["status"] == "ok"
    assert {p["verdict"] for p in entry["check"]["properties"]} == {"unknown"}
    combined = {(p["name"], p["kind"]): p for p in entry["properties"]}
    assert len(combined) == len(PROPERTIES)
    assert {p["verdict"] for p in combined.values()} == {"holds"}
    assert {p["engine"] for p in combined.values()} == {"z3"}
    violated = json.loads(crg("check", "--format", "json", NO_FENCING).out)["files"][0]
    theirs = {(p["name"], p["kind"]): p for p in violated["check"]["properties"]}
    for p in violated["properties"]:
        ours = theirs[(p["name"], p["kind"])]
        assert p["violation"] == ours["violation"] and p["verdict"] == ours["verdict"]


def test_a_violation_the_file_can_fix_says_how(crg: Callable[..., Run]) -> None:
    # the violations a configuration can cause said which invariant broke and how, never
    # what to change in the file
    text = crg("check", NO_FENCING, NO_STANDBY, str(EXAMPLES / "broken" / "flapping.crg")).out
    assert ("  The VIP is never configured on two nodes at once.\n"
            "  = hint: pay has fencing none: a node cut off from the store keeps its VIP and "
            "application while another node takes the group over; use fencing self (the "
            "default)\n") in text
    assert ("  = hint: ledger runs on 1 node (n1) and the check assumes at most 1 node down "
            "(or drained) at once: add possible nodes to ledger, or assume at most 0 nodes "
            "down\n") in text
    assert "  = hint: a, b, c keep moving because of avoid " in text
    entry = json.loads(crg("check", "--format", "json", NO_FENCING).out)["files"][0]
    hints = {p["name"]: p["violation"]["hint"] for p in entry["properties"] if p["violation"]}
    assert set(hints) == {"vip-unique", "app-exclusive", "vip-held"}
    assert all(h and h.startswith("pay has fencing none") for h in hints.values())


def test_a_counterexample_of_z3_says_what_the_invariant_is(crg: Callable[..., Run]) -> None:
    # handed to z3, "vip-unique violated" was followed by "a run of 6 steps from the initial
    # state breaks it" alone, where the explicit engine's says what vip-unique means
    result = crg("check", "--auto-states", "10", NO_FENCING)
    assert result.code == 1
    assert ("vip-unique violated in group pay\n"
            "  The VIP is never configured on two nodes at once. Found by z3: a run of 6 "
            "steps from the initial state breaks it (replayed on the concrete model).\n"
            ) in result.out


def test_a_livelock_z3_left_to_the_explicit_engine_says_what_happens_first(
        crg: Callable[..., Run]) -> None:
    # it began "found by the explicit engine's liveness check (50,000 states; no ranking
    # function (no sum of atoms ranks 11 kinds of step ...": the operator's sentence came last
    result = crg("check", "--auto-states", "10", str(EXAMPLES / "broken" / "flapping.crg"))
    assert result.code == 1
    detail = result.out.split("vip-held (liveness) violated in group ", 1)[1].splitlines()[1]
    assert detail.startswith("  the cluster service never settles: a fair loop of "), detail
    assert "; found by the explicit engine's liveness check (" in detail
    # its states in the table as in the sentence (the row read 0), and the replay, which
    # needs no event (there was none, and no line)
    states = re.search(r"liveness check \(([\d,]+) states\)", detail)
    assert states is not None
    row = next(line for line in result.out.splitlines()
               if line.startswith("vip-held (liveness) "))
    assert row.split()[3] == states[1], row
    assert f"  replay: crg simulate {EXAMPLES / 'broken' / 'flapping.crg'}\n" in result.out


def test_junit_of_engine_auto_has_one_case_per_property_as_decided(
        crg: Callable[..., Run], safe: str) -> None:
    # A component handed to z3 gave every property twice: a skipped explicit case ("the
    # explicit search stopped at ...") beside the symbolic one, 27 skipped in a green
    # check (an outside tester's finding). As the text's table and the JSON: one each.
    (green,) = list(JUnitXml.fromstring(crg("check", "--format", "junit", "--auto-states",
                                            "50", safe).out))
    assert [c.name for c in green] == [p.label for p in PROPERTIES]
    assert (green.tests, green.failures, green.skipped) == (len(PROPERTIES), 0, 0)
    result = crg("check", "--format", "junit", "--auto-states", "10", NO_FENCING)
    assert result.code == 1
    (broken,) = list(JUnitXml.fromstring(result.out))
    assert broken.tests == len(PROPERTIES) and broken.failures == 3
    case = next(c for c in broken if c.name == "vip-unique")
    (failure,) = [r for r in case.result if isinstance(r, Failure)]
    assert "Found by z3" in (failure.message or "") and "partition n1" in (failure.text or "")


def test_warnings_are_printed_before_the_search(crg: Callable[..., Run],
                                                capsys: pytest.CaptureFixture[str],
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    # README: the too-few-nodes warning says at once what the check will find, before a
    # search that may take minutes; it came after the search (and never, on Ctrl-C).
    path = str(EXAMPLES / "broken" / "two-down.crg")
    before_search: list[str] = []
    real = api.check

    def spy(config: object, options: object) -> object:
        before_search.append(capsys.readouterr().err)
        return real(config, options)  # type: ignore[arg-type]

    monkeypatch.setattr(api, "check", spy)
    result = crg("check", "-j", "1", path)
    assert result.code == 1
    assert "warning: group 'orders' runs on 2 nodes" in before_search[0]
    assert "runs on 2 nodes" not in result.err, "said once"
