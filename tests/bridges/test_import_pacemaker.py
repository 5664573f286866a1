"""``crg import pacemaker``: real-shaped CIBs (written by pcs), the round trip, bad input."""

from __future__ import annotations

import re
import shlex
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from diff_scenarios import generated_config
from large_cib import cib

import crg.dsl
from crg.bridges.app_to_pacemaker import placeholder_values
from crg.bridges.cib_writer import cib_xml
from crg.bridges.crg_writer import draft_text
from crg.bridges.from_pacemaker import from_cib
from crg.bridges.to_pacemaker import to_pacemaker
from crg.bridges.xml_source import parse_xml
from crg.cli import main
from crg.dsl import Config, ConfigError, MonitorKind, Source, load, parse
from crg.dsl.diagnostics import render
from crg.dsl.templates import substitute

ROOT = Path(__file__).resolve().parents[2]
DATA = Path(__file__).parent / "data"
EXAMPLES = sorted((ROOT / "examples").glob("*.crg")) + sorted(
    (ROOT / "examples" / "broken").glob("*.crg"))


def mapped(config: Config) -> dict[str, Any]:
    """What ``crg export pacemaker`` carries over: the part of ``crg show``'s model that
    a round trip must keep (README.md lists what does not map, and why)."""
    groups = {}
    for group in config.groups:
        values = placeholder_values(group, config.cluster.name)
        app = group.app
        command = ((app.start.text,) if app.shell
                   else tuple(substitute(a, values) for a in app.start.argv))
        env = {k: substitute(v, values) for k, v in app.env if k != "OCF_ROOT"}
        groups[group.name] = {
            "kind": group.kind, "vip": (group.vip.address, group.vip.prefix,
                                        group.vip.device),
            "candidates": group.candidates, "failback": group.failback,
            "restarts": (group.restarts, group.restart_window_ms),
            "avoid": set(group.avoid), "fencing": group.fencing,
            "start": (command, app.shell, app.directory, app.start.timeout_ms),
            "env": env,
            "monitor intervals": {m.interval_ms for m in group.monitors},
            "exec checks": sorted(m.target or "" for m in group.monitors
                                  if m.kind is MonitorKind.EXEC),
            "alert commands": sorted({(s.target or "").split()[0] for s in group.alerts
                                      if s.kind.value == "command"}),
        }
    return {"cluster": config.cluster.name, "nodes": config.cluster.nodes, "groups": groups}


def round_trip(config: Config) -> Config:
    exported, _ = to_pacemaker(config)
    source = Source("exported.xml", cib_xml(exported, []))
    draft, _ = from_cib(parse_xml(source))
    return parse(draft_text(draft, "imported.crg"), "imported.crg")


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_export_then_import_keeps_what_maps(path: Path) -> None:
    original = load(path)
    again = round_trip(original)
    ours, theirs = mapped(original), mapped(again)
    for group in ours["groups"].values():
        # exec checks come back with their placeholders filled in, alerts without arguments
        group.pop("exec checks")
    for group in theirs["groups"].values():
        group.pop("exec checks")
    assert theirs == ours


def test_the_round_trip_holds_for_generated_configurations() -> None:
    for seed in range(80):
        original = generated_config(seed)
        assert mapped(round_trip(original)) == mapped(original), seed


def test_an_exec_check_comes_back_with_its_interval_and_timeout() -> None:
    # It came back as 'monitor process every 5s timeout 2s' (the operation) and the exec
    # check at crg's defaults (every 2s, timeout 1s), and the import said nothing of it.
    text = ("cluster shop {\n  nodes n1 n2\n}\n\ngroup web {\n  vip 10.0.0.5/24\n"
            '  app {\n    start "/opt/app/run"\n  }\n'
            '  monitor exec "/opt/app/check {node} {vip}" every 5s timeout 2s fails 1\n'
            "  preferred n1\n  possible n2\n  failback auto\n}\n")
    original = parse(text, "shop.crg")
    exported, warnings = to_pacemaker(original)
    assert not [w for w in warnings if "monitor_hook" in w.message]
    draft, notes = from_cib(parse_xml(Source("exported.xml", cib_xml(exported, []))))
    again = parse(draft_text(draft, "imported.crg"), "imported.crg")
    # (the placeholders filled in, {node} quoted for the agent's shell: the same words)
    assert [(m.kind, shlex.split(m.target or ""), m.interval_ms, m.timeout_ms)
            for m in again.group("web").monitors] == [
        (MonitorKind.EXEC, ["/opt/app/check", "{node}", "10.0.0.5"], 5000, 2000)]
    assert not [n for n in notes.items if "monitor" in n.message]
    # With a process monitor beside it, the agent runs the hook at both intervals: said.
    both = text.replace("  preferred", "  monitor process every 2s timeout 1s fails 1\n"
                                       "  preferred")
    _, warnings = to_pacemaker(parse(both, "shop.crg"))
    assert any("runs at every monitor operation" in w.message for w in warnings)
    assert {m.interval_ms for m in round_trip(parse(both, "shop.crg")).group("web")
            .monitors} == {2000, 5000}


def test_import_then_export_then_import_is_stable() -> None:
    first = parse((DATA / "pcs-cib.crg").read_text(), "pcs-cib.crg")
    assert round_trip(round_trip(first)) == round_trip(first)


# -- a CIB as pcs writes it ---------------------------------------------------------------------

PCS_COMMANDS = """
property set stonith-enabled=false
resource defaults update resource-stickiness=1
resource create web-ip ocf:heartbeat:IPaddr2 ip=192.168.122.50 cidr_netmask=24 op monitor interval=30s --group web
resource create web-server ocf:heartbeat:nginx configfile=/etc/nginx/nginx.conf op monitor interval=30s timeout=20s --group web
resource create db-ip ocf:heartbeat:IPaddr2 ip=192.168.122.60 cidr_netmask=24 nic=eth0 --group db
resource create db-server systemd:postgresql --group db
resource meta db resource-stickiness=500 migration-threshold=3 failure-timeout=10min
resource create api-ip ocf:heartbeat:IPaddr2 ip=192.168.122.70 cidr_netmask=24 --group api
resource create api-server ocf:heartbeat:anything binfile=/opt/api/bin/server cmdline_options=--port=8080 workdir=/opt/api op monitor interval=10s timeout=5s --group api
resource meta api resource-stickiness=1000
constraint location web prefers node1=100 node2=50
constraint location db prefers node2=200 node3=100 node1=50
constraint location api prefers node3=100 node1=80
constraint colocation add api with db -- -1000
constraint order web then api
"""  # noqa: E501  (one pcs command a line, as an operator types them)


def pcs_cib(tmp_path: Path, pcs: str) -> Path:
    cib = tmp_path / "cluster.xml"
    empty = subprocess.run(["cibadmin", "--empty"], capture_output=True, text=True,
                           check=True, timeout=30).stdout
    # pcs cluster setup writes the nodes and the cluster's name; cibadmin --empty has
    # neither.
    cib.write_text(empty.replace("<nodes/>", '<nodes><node id="1" uname="node1"/>'
                                 '<node id="2" uname="node2"/><node id="3" uname="node3"/>'
                                 "</nodes>").replace(
        "<crm_config/>", '<crm_config><cluster_property_set id="cib-bootstrap-options">'
        '<nvpair id="cib-bootstrap-options-cluster-name" name="cluster-name" value="shop"/>'
        "</cluster_property_set></crm_config>"))
    for line in PCS_COMMANDS.strip().splitlines():
        done = subprocess.run([pcs, "-f", str(cib), *shlex.split(line), "--force"]
                              if "systemd:" in line else [pcs, "-f", str(cib),
                                                          *shlex.split(line)],
                              capture_output=True, text=True, timeout=120, check=False)
        assert done.returncode == 0, (line, done.stderr)
    return cib


@pytest.mark.slow
def test_a_cib_written_by_pcs_imports_and_checks(pacemaker: None, pcs: str, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    pcs_cib(tmp_path, pcs)
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "cluster.crg"
    assert main(["import", "pacemaker", "cluster.xml", "-o", str(out)]) == 0
    err = capsys.readouterr().err
    assert "rsc_order" in err  # named, not silently dropped
    config = load(out)
    assert [g.name for g in config.groups] == ["web", "db", "api"]
    web, db, api = config.groups
    # A symmetric cluster (pcs's default): node3 may run web too, with score 0.
    assert web.candidates == ("node1", "node2", "node3") and web.failback.value == "auto"
    assert db.candidates == ("node2", "node3", "node1") and db.failback.value == "manual"
    assert (db.restarts, db.restart_window_ms) == (2, 600_000)
    assert db.app.start.text == "systemctl start postgresql"
    assert api.avoid == ("db",) and api.failback.value == "manual"
    assert api.app.directory == "/opt/api"
    assert web.app.start.argv == ("/usr/lib/ocf/resource.d/heartbeat/nginx", "start")
    assert dict(web.app.env)["OCF_RESKEY_configfile"] == "/etc/nginx/nginx.conf"
    # Crashes only: the explicit search of an avoid-linked pair with application faults and
    # switchovers as well takes minutes (README, "Cost"); this file is about the import.
    assert main(["check", str(out), "--faults", "crash"]) == 0
    # The stored copies are this CIB and its import.
    assert (tmp_path / "cluster.xml").read_text() == (DATA / "cluster.xml").read_text()
    assert out.read_text() == (DATA / "pcs-cib.crg").read_text()


def test_the_stored_pcs_cib_imports_as_its_golden_copy(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """Without pcs too: the CIB that pcs wrote (PCS_COMMANDS), stored, and its import."""
    monkeypatch.chdir(DATA)
    out = tmp_path / "cluster.crg"
    assert main(["import", "pacemaker", "cluster.xml", "-o", str(out)]) == 0
    assert out.read_text() == (DATA / "pcs-cib.crg").read_text()


def test_what_an_operator_moved_or_banned_is_not_configuration(
        pacemaker: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """``crm_resource --move`` / ``--ban`` (what ``pcs resource move`` / ``ban`` run) leave
    location constraints behind until cleared; read as configuration, the move would make
    its node web's preferred one and the ban strike node1 off api's list."""
    cib = tmp_path / "cluster.xml"
    cib.write_text((DATA / "cluster.xml").read_text())
    for command in (["--move", "--resource", "web", "--node", "node2"],
                    ["--ban", "--resource", "api", "--node", "node1"]):
        subprocess.run(["crm_resource", *command], env={"CIB_file": str(cib), "PATH":
                       "/usr/sbin:/usr/bin:/sbin:/bin"}, capture_output=True, check=True,
                       timeout=60)
    assert 'id="cli-prefer-web"' in cib.read_text()
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "cluster.crg"
    assert main(["import", "pacemaker", "cluster.xml", "-o", str(out)]) == 0
    err = capsys.readouterr().err
    assert ("an operator's move of web to node2 (pcs resource move), not configuration: "
            "not imported; crg's counterpart is crg switchover web node2, withdrawn by crg "
            "clear web") in err
    assert "an operator's ban of api from node1 (pcs resource ban), not configuration" in err
    config, golden = load(out), load(DATA / "pcs-cib.crg")
    assert [g.candidates for g in config.groups] == [g.candidates for g in golden.groups]
    # With a lifetime the node is in a rule (an outside tester saw "a move of web to None")
    for command in (["--clear", "--resource", "web"], ["--clear", "--resource", "api"],
                    ["--move", "--resource", "web", "--node", "node2", "--lifetime", "PT1H"],
                    ["--ban", "--resource", "api", "--node", "node1", "--lifetime", "PT1H"]):
        subprocess.run(["crm_resource", *command], env={"CIB_file": str(cib), "PATH":
                       "/usr/sbin:/usr/bin:/sbin:/bin"}, capture_output=True, check=True,
                       timeout=60)
    assert "<date_expression" in cib.read_text()
    assert main(["import", "pacemaker", "cluster.xml", "-o", str(out)]) == 0
    err = capsys.readouterr().err
    assert re.search(r"an operator's move of web to node2 until \d{4}-\d\d-\d\d [0-9:]+Z? "
                     r"\(pcs resource move\), not configuration: not imported; crg's "
                     "counterpart is crg switchover web node2", err), err
    assert re.search(r"an operator's ban of api from node1 until \d{4}-", err), err
    assert [g.candidates for g in load(out).groups] == [g.candidates for g in golden.groups]


# -- bad input ------------------------------------------------------------------------------------

TEMPLATED = """<cib><configuration><nodes><node id="1" uname="n1"/></nodes><resources>
<template id="app-t" class="ocf" provider="heartbeat" type="Dummy"><instance_attributes id="t-i"><nvpair id="t-i-a" name="fake" value="x"/><nvpair id="t-i-b" name="state" value="/t"/></instance_attributes><operations><op id="t-m" name="monitor" interval="7s"/></operations></template>
<group id="g"><primitive id="v" class="ocf" provider="heartbeat" type="IPaddr2"><instance_attributes id="i"><nvpair id="p" name="ip" value="10.0.0.1"/><nvpair id="q" name="cidr_netmask" value="24"/></instance_attributes></primitive>
<primitive id="a" template="app-t"><instance_attributes id="a-i"><nvpair id="a-i-b" name="state" value="/a"/></instance_attributes></primitive></group>
</resources></configuration></cib>"""  # noqa: E501  (a CIB as crmsh writes it)


def test_a_primitive_made_from_a_template_runs_the_template_s_agent(tmp_path: Path) -> None:
    # It had no class, provider or type of its own: the import ran
    # "/usr/lib/ocf/resource.d// start", without a word.
    path, out = tmp_path / "cib.xml", tmp_path / "cib.crg"
    path.write_text(TEMPLATED)
    assert main(["import", "pacemaker", str(path), "-o", str(out)]) == 0
    (group,) = load(out).groups
    assert group.app.start.text == "/usr/lib/ocf/resource.d/heartbeat/Dummy start"
    assert dict(group.app.env) == {"OCF_ROOT": "/usr/lib/ocf", "OCF_RESKEY_fake": "x",
                                   "OCF_RESKEY_state": "/a"}
    assert [m.interval_ms for m in group.monitors] == [7000]


@pytest.mark.parametrize(("text", "where", "words"), [
    ("<cib><configuration>", "1:", "not well-formed"),
    ("<crm_mon/>", "1:1", "not a Pacemaker CIB"),
    ('<!DOCTYPE cib [<!ENTITY a "b">]><cib/>', "1:", "DOCTYPE"),
    ("<cib>\n  <configuration><nodes/></configuration>\n</cib>", "2:18", "lists no nodes"),
    ('<cib>\n  <configuration><nodes><node id="1" uname="n1"/></nodes></configuration>\n'
     "</cib>", "2:3", "no group could be imported: <configuration> has no <resources>"),
    ('<cib><configuration><nodes><node id="1" uname="n1"/></nodes><resources>\n'
     '<group id="g"><primitive id="v" class="ocf" provider="heartbeat" type="IPaddr2">'
     '<instance_attributes id="i"><nvpair id="p" name="ip" value="10.0.0.300"/>'
     '</instance_attributes></primitive><primitive id="a" class="systemd" type="x"/></group>'
     "</resources></configuration></cib>", "2:", "is not an IP address"),
    ('<cib><configuration><nodes><node id="1" uname="n1"/></nodes><resources/>\n'
     "<constraints/></configuration></cib>", "1:", "no group could be imported"),
    (TEMPLATED.replace('template="app-t"', 'template="nowhere"'), "4:1",
     "template 'nowhere' is not in the CIB's resources"),
    (TEMPLATED.replace('template="app-t"', ""), "4:1", "no class or type"),
    # an outside tester's findings: "<group id="web">: TWO", at the group
    *((TEMPLATED.replace('<primitive id="a" template="app-t">',
                         '<primitive id="a" template="app-t">\n<meta_attributes id="m">'
                         f'<nvpair id="m-x" name="{name}" value="{value}"/>'
                         "</meta_attributes>"),
       "5:25", f"<group id=\"g\">: {name}: '{value}' is not {what}")
      for name, value, what in (("migration-threshold", "two", "a Pacemaker score"),
                                ("resource-stickiness", "lots", "a Pacemaker score"),
                                ("failure-timeout", "1 minute", "a duration Pacemaker"))),
])
def test_bad_input_is_an_error_at_its_element(tmp_path: Path, text: str, where: str,
                                              words: str,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "cib.xml"
    path.write_text(text)
    assert main(["import", "pacemaker", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"{path}:{where}" in err and words in err, err
    assert re.search(rf"^{re.escape(str(path))}:\d+:\d+: error: ", err, re.MULTILINE), err
    assert "Traceback" not in err


def test_an_unreadable_file_is_bad_input(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["import", "pacemaker", "/nonexistent/cib.xml"]) == 2
    assert "cannot read" in capsys.readouterr().err


def test_help_lists_the_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["import", "pacemaker", "--help"]) == 0
    assert "exit status:\n  0    " in capsys.readouterr().out


def test_a_written_file_that_crg_rejects_is_bad_input(tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]
                                                      ) -> None:
    # Two groups on one address: Pacemaker takes it, crg does not.
    cib = (DATA / "cluster.xml").read_text().replace("192.168.122.60", "192.168.122.50")
    path = tmp_path / "cib.xml"
    path.write_text(cib)
    out = tmp_path / "x.crg"
    assert main(["import", "pacemaker", str(path), "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert f"{out}:" in err and "does not validate" in err
    with pytest.raises(ConfigError):
        load(out)


def test_the_written_file_is_parsed_once(tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    # Formatted, read back and compared by the formatter, then parsed again to validate it:
    # the same text three times (10 s of the 17 of a 3000-group CIB). The writer's layout
    # is canonical, so the formatter's one parse is also the validation's.
    parsed: list[str] = []
    parse_tree = crg.dsl.parse_tree

    def counted(source: Source) -> object:
        parsed.append(source.path)
        return parse_tree(source)

    monkeypatch.setattr(crg.dsl, "parse_tree", counted)
    out = tmp_path / "x.crg"
    assert main(["import", "pacemaker", str(DATA / "cluster.xml"), "-o", str(out)]) == 0
    assert parsed == [str(out)]
    cib = (DATA / "cluster.xml").read_text().replace("192.168.122.60", "192.168.122.50")
    (tmp_path / "cib.xml").write_text(cib)
    parsed.clear()
    assert main(["import", "pacemaker", str(tmp_path / "cib.xml"), "-o", str(out)]) == 2
    assert parsed == [str(out)]  # still validated, in the same parse


def _import_with_stickiness(value: str) -> tuple[Config, list[str]]:
    """A three-node group exported by crg, its stickiness set to ``value`` per member."""
    text = ("cluster shop {\n  nodes n1 n2 n3\n}\n\ngroup web {\n  vip 10.0.0.5/24\n"
            '  app {\n    start "/usr/bin/sleep infinity"\n  }\n'
            "  monitor process every 2s timeout 1s fails 1\n  preferred n1\n"
            "  possible n2, n3\n  failback auto\n}\n")
    exported, _ = to_pacemaker(parse(text, "shop.crg"))
    cib = cib_xml(exported, []).replace('name="resource-stickiness" value="200"',
                                        f'name="resource-stickiness" value="{value}"')
    assert f'value="{value}"' in cib
    draft, notes = from_cib(parse_xml(Source("cib.xml", cib)))
    return (parse(draft_text(draft, "imported.crg"), "imported.crg"),
            [n.message for n in notes.items])


@pytest.mark.parametrize(("stickiness", "failback", "note"), [
    # Scores 700, 200, 100; a group's stickiness counts once per member (two here).
    ("200", "auto", None),  # 400: stays between possible nodes, goes home: crg's auto
    ("0", "auto", "between possible nodes too"),  # Pacemaker's default: moves up its list
    ("40", "auto", "between possible nodes too"),  # 80 < 100 between n2 and n3
    ("260", "manual", "between failback auto and manual"),  # 520: home from n3 only
    ("400", "manual", None),  # 800 outweighs every difference
])
def test_stickiness_reads_as_the_failback_pacemaker_would_show(stickiness: str, failback: str,
                                                               note: str | None) -> None:
    config, notes = _import_with_stickiness(stickiness)
    assert config.group("web").failback.value == failback
    said = [n for n in notes if "stickiness" in n]
    assert (note is None and not said) or (note is not None and note in said[0]), said


def test_meta_attributes_and_utilization_it_does_not_read_are_named(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Only target-role, is-managed and priority were named: allow-migrate, a group's
    # collocated=false, a rule on a meta attribute set and utilization went without a word.
    cib = TEMPLATED.replace(
        '<group id="g">', '<group id="g"><meta_attributes id="g-m"><rule id="g-r" score="0">'
        '<date_expression id="g-d" operation="lt" end="2030-01-01"/></rule>'
        '<nvpair id="g-m-c" name="collocated" value="false"/>'
        '<nvpair id="g-m-s" name="resource-stickiness" value="100"/></meta_attributes>').replace(
        '<primitive id="a" template="app-t">', '<primitive id="a" template="app-t">'
        '<meta_attributes id="a-m"><nvpair id="a-m-a" name="allow-migrate" value="true"/>'
        '</meta_attributes><utilization id="a-u"><nvpair id="a-u-c" name="cpu" value="2"/>'
        "</utilization>")
    path = tmp_path / "cib.xml"
    path.write_text(cib)
    assert main(["import", "pacemaker", str(path), "-o", str(tmp_path / "x.crg")]) == 0
    err = capsys.readouterr().err
    assert ('<group id="g">: a rule decides when <meta_attributes id="g-m"> applies; crg has '
            "no rules: read as if it always held") in err
    assert '<group id="g">: collocated=false has no counterpart in crg; not imported' in err
    assert '<primitive id="a">: allow-migrate=true has no counterpart in crg' in err
    assert '<primitive id="a">: utilization cpu=2 has no counterpart in crg' in err
    assert "resource-stickiness=100 has no" not in err
    assert f"{path}:3:" in err and f"{path}:4:" in err


def _with_properties(cib: str, *pairs: tuple[str, str]) -> str:
    """``cib`` (which has no crm_config) with these cluster properties."""
    nvpairs = "".join(f'<nvpair id="o-{i}" name="{name}" value="{value}"/>'
                      for i, (name, value) in enumerate(pairs))
    return cib.replace("<cib><configuration>", '<cib><configuration><crm_config>'
                       f'<cluster_property_set id="o">{nvpairs}</cluster_property_set>'
                       "</crm_config>")


def test_cluster_properties_defaults_and_node_attributes_it_does_not_read_are_named(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # maintenance-mode, op_defaults, a rule on rsc_defaults and a node in standby were
    # dropped without a word.
    cib = _with_properties(TEMPLATED, ("dc-version", "2.1.5"), ("maintenance-mode", "true"),
                           ("dc-deadtime", "60s")).replace(
        '<node id="1" uname="n1"/>', '<node id="1" uname="n1"><instance_attributes id="n1-a">'
        '<nvpair id="n1-s" name="standby" value="on"/></instance_attributes></node>').replace(
        "</resources>", '</resources><rsc_defaults><meta_attributes id="rd">'
        '<rule id="rd-r" score="0"><expression id="rd-e" attribute="#uname" operation="eq" '
        'value="n1"/></rule><nvpair id="rd-s" name="resource-stickiness" value="1000"/>'
        '</meta_attributes></rsc_defaults><op_defaults><meta_attributes id="od">'
        '<nvpair id="od-r" name="record-pending" value="true"/></meta_attributes>'
        "</op_defaults>")
    path, out = tmp_path / "cib.xml", tmp_path / "x.crg"
    path.write_text(cib)
    assert main(["import", "pacemaker", str(path), "-o", str(out)]) == 0
    err = capsys.readouterr().err
    for said in ("<crm_config>: maintenance-mode=true: no counterpart in crg; not imported",
                 "<crm_config>: dc-deadtime=60s: its counterpart is an option of each host's "
                 "agent, not of the configuration (crg run --node N --start-wait DURATION",
                 '<node id="1"> n1: instance attributes standby=on: no counterpart in crg (a '
                 "node in standby: crg drain is its counterpart)",
                 '<rsc_defaults>: a rule decides when <meta_attributes id="rd"> applies',
                 "<op_defaults>: record-pending=true: an operation is imported with its own "
                 "settings only"):
        assert said in err
        assert said.split(":")[1].split()[0] in out.read_text()
    assert "dc-version=" not in err  # the cluster's own record


def test_a_location_for_the_promoted_role_does_not_place_a_group(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # A group is never promoted, so Pacemaker never applies it (crm_simulate starts g on
    # n1); read as a plain score, it made n2 the preferred node, without a word.
    # resource-discovery was dropped without a word too, and a ticket was said to be about
    # the order of starts.
    cib = TEMPLATED.replace('<node id="1" uname="n1"/>',
                            '<node id="1" uname="n1"/><node id="2" uname="n2"/>').replace(
        "</resources>", '</resources><constraints>\n'
        '<rsc_location id="l1" rsc="g" node="n2" score="100" role="Promoted"/>\n'
        '<rsc_location id="l2" rsc="g" node="n1" score="10" resource-discovery="never"/>\n'
        '<rsc_ticket id="t" rsc="g" ticket="T"/>\n</constraints>').replace(
        '<resources>', '<resources><group id="lone"><primitive id="lone-a" class="systemd" '
        'type="x"/></group>')
    path, out = tmp_path / "cib.xml", tmp_path / "x.crg"
    path.write_text(cib)
    assert main(["import", "pacemaker", str(path), "-o", str(out)]) == 0
    err = capsys.readouterr().err
    assert (f"{path}:6:1: warning: <rsc_location id=\"l1\">: role=Promoted: applies to "
            "promotable resources only, which crg does not import; not imported") in err
    assert ('<rsc_location id="l2">: resource-discovery=never has no counterpart in crg; '
            "read as if it were not there") in err
    assert '<rsc_ticket id="t">: rsc_ticket has no counterpart in crg (tickets' in err
    assert '<group id="lone">: has no IPaddr2 address; a crg group needs both' in err
    assert load(out).group("g").candidates == ("n1", "n2")


@pytest.mark.parametrize(("op_defaults", "timeout"), [("", 20_000), ("90s", 90_000)])
def test_an_operation_without_a_timeout_gets_pacemaker_s(tmp_path: Path, op_defaults: str,
                                                         timeout: int) -> None:
    # It got crg's defaults instead: a monitor that Pacemaker gives 20 s (or op_defaults'
    # timeout) had 1 s, start 30 s, stop 10 s.
    cib = TEMPLATED
    if op_defaults:
        cib = cib.replace("</resources>", '</resources><op_defaults><meta_attributes id="od">'
                          f'<nvpair id="od-t" name="timeout" value="{op_defaults}"/>'
                          "</meta_attributes></op_defaults>")
    path, out = tmp_path / "cib.xml", tmp_path / "x.crg"
    path.write_text(cib)
    assert main(["import", "pacemaker", str(path), "-o", str(out)]) == 0
    (group,) = load(out).groups
    assert [(m.interval_ms, m.timeout_ms) for m in group.monitors] == [(7000, timeout)]
    assert group.app.start.timeout_ms == group.app.stop.timeout_ms == timeout


def test_an_application_pacemaker_never_monitors_is_named(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "cib.xml"
    path.write_text(TEMPLATED.replace('<op id="t-m" name="monitor" interval="7s"/>', ""))
    assert main(["import", "pacemaker", str(path), "-o", str(tmp_path / "x.crg")]) == 0
    assert ('<primitive id="a">: no recurring monitor operation: Pacemaker never checks it '
            "once started") in capsys.readouterr().err


def test_an_alert_s_options_are_named(tmp_path: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    # pcs alert create ... options timestamp-format=%H:%M meta timeout=15s: both were
    # dropped without a word (only recipients were named).
    path = tmp_path / "cib.xml"
    path.write_text(TEMPLATED.replace("</resources>", (
        '</resources><alerts><alert id="a1" path="/usr/bin/page">'
        '<meta_attributes id="a1-m"><nvpair id="a1-m-t" name="timeout" value="15s"/>'
        '</meta_attributes><instance_attributes id="a1-i"><nvpair id="a1-i-f" '
        'name="timestamp-format" value="%H:%M"/></instance_attributes>'
        '<select><select_resources/></select></alert></alerts>')))
    assert main(["import", "pacemaker", str(path), "-o", str(tmp_path / "x.crg")]) == 0
    err = capsys.readouterr().err
    assert ('<alert id="a1">: meta_attributes timeout=15s: no counterpart in crg\'s alert '
            "command; not imported") in err
    assert '<alert id="a1">: instance_attributes timestamp-format=%H:%M: no counterpart' in err
    assert '<alert id="a1">: select select_resources: no counterpart' in err


def test_an_operation_s_settings_and_a_disabled_monitor_are_named(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # on-fail=block (Pacemaker leaves a failed application alone) and OCF_CHECK_LEVEL were
    # dropped without a word, and a disabled monitor was imported as a running check.
    path, out = tmp_path / "cib.xml", tmp_path / "x.crg"
    path.write_text(TEMPLATED.replace(
        '<op id="t-m" name="monitor" interval="7s"/>',
        '<op id="t-m" name="monitor" interval="7s" on-fail="block"><instance_attributes '
        'id="t-m-i"><nvpair id="t-m-l" name="OCF_CHECK_LEVEL" value="10"/>'
        '</instance_attributes></op><op id="t-o" name="monitor" interval="9s" '
        'enabled="false"/>'))
    assert main(["import", "pacemaker", str(path), "-o", str(out)]) == 0
    err = capsys.readouterr().err
    assert ('<op id="t-m">: on-fail=block, OCF_CHECK_LEVEL=10: no counterpart in crg '
            "(Pacemaker leaves a resource that failed this way as it is, unmanaged, until an "
            "operator cleans it up; on a failure crg restarts, then fails over, by its restart "
            "budget); not imported") in err
    assert '<op id="t-o">: a disabled monitor (enabled=false): Pacemaker does not run it' in err
    assert [m.interval_ms for m in load(out).groups[0].monitors] == [7000]


def test_a_large_cib_imports_in_linear_time() -> None:
    # 3000 groups took 39 s to import: each constraint searched every group for its resource, each
    # warning was compared with every earlier one, and each diagnostic split the whole
    # file to show its line (and scanned a one-line file for URLs three times).
    count = 2500
    text = cib(count)
    for source in (Source("cib.xml", text), Source("one-line.xml", text.replace("\n", ""))):
        started = time.monotonic()
        draft, notes = from_cib(parse_xml(source))
        shown = render(source, notes.items)
        assert len(draft.groups) == count and shown.count("warning:") == 2 * count
        assert time.monotonic() - started < 5, source.path  # 18 s each before, 0.5 s after


def test_when_nothing_imports_the_warnings_say_why(tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    # "no group could be imported ... (see the warnings above)" came without a warning:
    # they were printed only after a successful import. A parked group (no node may run it)
    # stopped the whole import; now it is left out with a warning, as Pacemaker never
    # starts it.
    path = tmp_path / "cib.xml"
    path.write_text('<cib><configuration><nodes><node id="1" uname="n1"/></nodes><resources>\n'
                    '<clone id="c"><primitive id="p" class="ocf" provider="pacemaker" '
                    'type="Dummy"/></clone>\n</resources></configuration></cib>')
    assert main(["import", "pacemaker", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"{path}:2:1: warning: <clone id=\"c\">: clone resources have no counterpart" in err
    assert "error: no group could be imported" in err
    parked = TEMPLATED.replace('<node id="1" uname="n1"/>',
                               '<node id="1" uname="n1"/><node id="2" uname="n2"/>').replace(
        "</resources>", '</resources><constraints><rsc_location id="x" rsc="g" node="n1" '
        'score="-INFINITY"/><rsc_location id="y" rsc="g" node="n2" score="-10"/>'
        "</constraints>").replace('<group id="g">', (
            '<group id="h"><primitive id="hv" class="ocf" provider="heartbeat" type="IPaddr2">'
            '<instance_attributes id="hi"><nvpair id="hp" name="ip" value="10.0.0.9"/>'
            '</instance_attributes></primitive><primitive id="ha" class="systemd" type="h"/>'
            '</group><group id="g">'))
    path.write_text(parked)
    out = tmp_path / "x.crg"
    assert main(["import", "pacemaker", str(path), "-o", str(out)]) == 0
    assert ('<group id="g">: no node may run it (every location score is negative): '
            "Pacemaker never starts it; not imported") in capsys.readouterr().err
    assert [g.name for g in load(out).groups] == ["h"]


def test_the_application_s_own_budget_wins_over_its_group_s(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # A member inherits its group's meta attributes unless it sets its own: with 3 on the
    # group and 1 on the application, Pacemaker moves the group at the application's first
    # failure. The group's was read first (restarts 2), and a VIP's own threshold was taken
    # for the application's.
    cib = TEMPLATED.replace('<group id="g">', (
        '<group id="g"><meta_attributes id="g-m"><nvpair id="g-m-t" '
        'name="migration-threshold" value="3"/></meta_attributes>')).replace(
        '<primitive id="a" template="app-t">', (
            '<primitive id="a" template="app-t"><meta_attributes id="a-m"><nvpair id="a-m-t" '
            'name="migration-threshold" value="1"/><nvpair id="a-m-f" name="failure-timeout" '
            'value="2min"/></meta_attributes>'))
    path, out = tmp_path / "cib.xml", tmp_path / "x.crg"
    path.write_text(cib)
    assert main(["import", "pacemaker", str(path), "-o", str(out)]) == 0
    (group,) = load(out).groups
    assert (group.restarts, group.restart_window_ms) == (0, 120_000)
    vip_only = TEMPLATED.replace(
        '<primitive id="v" class="ocf" provider="heartbeat" type="IPaddr2">',
        '<primitive id="v" class="ocf" provider="heartbeat" type="IPaddr2"><meta_attributes '
        'id="v-m"><nvpair id="v-m-t" name="migration-threshold" value="1"/>'
        "</meta_attributes>")
    path.write_text(vip_only)
    capsys.readouterr()
    assert main(["import", "pacemaker", str(path), "-o", str(out)]) == 0
    assert load(out).groups[0].restarts == 2  # the application's is INFINITY: crg's default
    assert ('<primitive id="v">: migration-threshold=1 on the address: crg\'s restart budget '
            "counts the application's faults; not imported") in capsys.readouterr().err


def test_a_colocation_s_influence_is_named(tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    # An outside tester's finding: with influence (Pacemaker's default) Pacemaker moved
    # the avoided group away from its avoider's preferred node, which crg's one-way avoid
    # never does, and the import said nothing. crg's export writes influence=false.
    second = TEMPLATED.split("<group", 1)[1].split("</group>", 1)[0]
    for a, b in (('"g"', '"h"'), ('"v"', '"v2"'), ('"a"', '"a2"'), ('"i"', '"i2"'),
                 ('"p"', '"p2"'), ('"q"', '"q2"'), ('"a-i"', '"a2-i"'), ('"a-i-b"', '"a2-i-b"'),
                 ("10.0.0.1", "10.0.0.2")):
        second = second.replace(a, b)
    path = tmp_path / "cib.xml"
    for attributes, said in (("", True), ('influence="false"', False),
                             ('influence="true"', True), ('score="-INFINITY"', False)):
        constraint = f'<rsc_colocation id="c" rsc="h" with-rsc="g" {attributes} />'
        if "score=" not in attributes:
            constraint = constraint.replace("<rsc_colocation ", '<rsc_colocation score="-500" ')
        path.write_text(TEMPLATED.replace("</group>", f"</group>\n<group{second}</group>", 1)
                        .replace("</resources>", f"</resources><constraints>{constraint}"
                                                 "</constraints>"))
        assert main(["import", "pacemaker", str(path), "-o", str(tmp_path / "x.crg")]) == 0
        err = capsys.readouterr().err
        assert ("with influence (Pacemaker's default) g is placed for h's sake too" in err
                ) is said, (attributes, err)
        assert load(tmp_path / "x.crg").group("h").avoid == ("g",)


def test_a_name_given_twice_takes_its_first_value_as_pacemaker_does(tmp_path: Path) -> None:
    # Pacemaker's unpacking skips a name it already has; the import kept the last value,
    # and read another stickiness (and address) than the cluster runs with.
    cib = TEMPLATED.replace('<nvpair id="p" name="ip" value="10.0.0.1"/>',
                           '<nvpair id="p" name="ip" value="10.0.0.1"/>'
                           '<nvpair id="p2" name="ip" value="10.0.0.9"/>').replace(
        "</resources>", (
        '</resources><rsc_defaults><meta_attributes id="d1"><nvpair id="d1-s" '
        'name="resource-stickiness" value="INFINITY"/></meta_attributes><meta_attributes '
        'id="d2"><nvpair id="d2-s" name="resource-stickiness" value="0"/></meta_attributes>'
        "</rsc_defaults>"))
    path, out = tmp_path / "cib.xml", tmp_path / "x.crg"
    path.write_text(cib)
    assert main(["import", "pacemaker", str(path), "-o", str(out)]) == 0
    (group,) = load(out).groups
    assert group.vip.address == "10.0.0.1"
    assert group.failback.value == "manual"


def test_two_nodes_differing_only_in_case_are_an_error(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "cib.xml"
    path.write_text(TEMPLATED.replace('<node id="1" uname="n1"/>',
                                      '<node id="1" uname="n1"/>\n<node id="2" uname="N1"/>'))
    assert main(["import", "pacemaker", str(path)]) == 2
    err = capsys.readouterr().err
    assert (f"{path}:2:1: error: nodes 'n1' and 'N1' differ only in case: Pacemaker takes "
            "them for one node") in err, err


def test_an_ipv6addr_address_is_a_vip(tmp_path: Path) -> None:
    # ocf:heartbeat:IPv6addr (ipv6addr=, cidr_netmask=, nic=) was not taken for an address:
    # the group was skipped for having none (an outside tester's finding)
    path, out = tmp_path / "cib.xml", tmp_path / "cib.crg"
    path.write_text(TEMPLATED.replace('type="IPaddr2"', 'type="IPv6addr"').replace(
        'name="ip" value="10.0.0.1"', 'name="ipv6addr" value="2001:db8::10"').replace(
        'name="cidr_netmask" value="24"/>',
        'name="cidr_netmask" value="64"/><nvpair id="r" name="nic" value="eth1"/>'))
    assert main(["import", "pacemaker", str(path), "-o", str(out)]) == 0
    (group,) = load(out).groups
    assert (str(group.vip.interface), group.vip.device) == ("2001:db8::10/64", "eth1")


def test_a_cluster_name_that_is_not_a_crg_name_is_renamed_with_a_warning(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # cluster-name "shop cluster" became shop_cluster without a word (an outside tester's
    # finding)
    path, out = tmp_path / "cib.xml", tmp_path / "cib.crg"
    path.write_text(TEMPLATED.replace(
        "<configuration>", '<configuration><crm_config><cluster_property_set id="c">'
        '<nvpair id="n" name="cluster-name" value="shop cluster"/></cluster_property_set>'
        "</crm_config>", 1))
    assert main(["import", "pacemaker", str(path), "-o", str(out)]) == 0
    assert ("warning: cluster name 'shop cluster': renamed shop_cluster (not a crg name as "
            "it was)") in capsys.readouterr().err
    assert load(out).cluster.name == "shop_cluster"


@pytest.mark.parametrize(("standard", "start", "words"), [
    ('class="service" type="postgresql"', "systemctl start postgresql",
     "service:postgresql is imported as the systemd unit postgresql"),
    ('class="stonith" type="fence_xvm"', "/usr/lib/ocf/resource.d//fence_xvm start",
     "class='stonith' provider='': crg runs OCF agents (with a provider)"),
    ('class="nagios" type="check_http"', "/usr/lib/ocf/resource.d//check_http start",
     "class='nagios' provider='': crg runs OCF agents"),
])
def test_an_agent_class_crg_does_not_run_is_named(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], standard: str, start: str,
        words: str) -> None:
    # class="service" (or stonith, nagios...) became "/usr/lib/ocf/resource.d//NAME
    # start", an OCF agent with no provider that exists nowhere, without a word.
    path, out = tmp_path / "cib.xml", tmp_path / "cib.crg"
    path.write_text(TEMPLATED.replace('template="app-t"', standard))
    assert main(["import", "pacemaker", str(path), "-o", str(out)]) == 0
    (group,) = load(out).groups
    assert group.app.start.text == start
    err = capsys.readouterr().err
    assert f'<primitive id="a">: {words}' in err, err
    assert words in " ".join(out.read_text().replace("#", " ").split())  # and a comment


def test_what_was_not_imported_before_an_error_is_said_with_it(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # The error came alone: the warnings about what had been left out before it were met
    # only on the next run, once it was fixed.
    cib = _with_properties(TEMPLATED, ("maintenance-mode", "true")).replace(
        'value="10.0.0.1"', 'value="10.0.0.300"')
    path = tmp_path / "cib.xml"
    path.write_text(cib)
    assert main(["import", "pacemaker", str(path), "-o", str(tmp_path / "x.crg")]) == 2
    err = capsys.readouterr().err
    assert "maintenance-mode=true: no counterpart in crg; not imported" in err, err
    assert "ip '10.0.0.300' is not an IP" in err, err
    assert "Traceback" not in err


def test_the_output_may_not_be_the_cib(tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    """``crg import pacemaker -o cib.xml cib.xml`` wrote the .crg over the CIB."""
    cib = tmp_path / "cib.xml"
    cib.write_bytes((DATA / "cluster.xml").read_bytes())
    assert main(["import", "pacemaker", "-o", str(cib), str(cib)]) == 2
    assert cib.read_bytes() == (DATA / "cluster.xml").read_bytes()
    assert f"cannot write '{cib}': it is the input file {cib}" in capsys.readouterr().err


def test_a_node_name_that_is_not_a_crg_name_is_renamed_with_a_warning(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # A host name may start with a digit ("18node1", as in Pacemaker's own test CIBs):
    # the whole import was refused for it, where the cluster's name is renamed.
    path, out = tmp_path / "cib.xml", tmp_path / "cib.crg"
    path.write_text(TEMPLATED.replace(
        '<node id="1" uname="n1"/>', '<node id="1" uname="18node1"/><node id="2" uname="n2"/>'
    ).replace("</resources>", '</resources><constraints><rsc_location id="l" rsc="g" '
              'node="18node1" score="100"/></constraints>'))
    assert main(["import", "pacemaker", str(path), "-o", str(out)]) == 0
    err = capsys.readouterr().err
    assert "warning: node '18node1': renamed _18node1" in err, err
    config = load(out)
    assert config.cluster.nodes == ("_18node1", "n2")
    assert config.groups[0].candidates == ("_18node1", "n2")  # its location still counts


def test_two_nodes_of_one_crg_name_are_an_error(tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "cib.xml"
    path.write_text(TEMPLATED.replace(
        '<node id="1" uname="n1"/>', '<node id="1" uname="1a"/><node id="2" uname="_1a"/>'))
    assert main(["import", "pacemaker", str(path)]) == 2
    err = capsys.readouterr().err
    assert (f"{path}:1:53: error: nodes '1a' and '_1a' would both be '_1a' in crg"
            in err and "Traceback" not in err), err


def test_a_parameter_no_environment_variable_can_name_is_left_out_with_a_warning(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # target-role written among a primitive's parameters (as in some of Pacemaker's test
    # CIBs) became OCF_RESKEY_target-role, which crg rejects: the import's own output
    # did not validate (exit 2).
    path, out = tmp_path / "cib.xml", tmp_path / "cib.crg"
    path.write_text(TEMPLATED.replace(
        '<nvpair id="a-i-b" name="state" value="/a"/>',
        '<nvpair id="a-i-b" name="state" value="/a"/>'
        '<nvpair id="a-i-c" name="target-role" value="Started"/>'))
    assert main(["import", "pacemaker", str(path), "-o", str(out)]) == 0
    assert ("<primitive id=\"a\">: parameter 'target-role': not a name an environment "
            "variable can have") in capsys.readouterr().err
    assert dict(load(out).groups[0].app.env) == {
        "OCF_ROOT": "/usr/lib/ocf", "OCF_RESKEY_fake": "x", "OCF_RESKEY_state": "/a"}


def test_a_password_in_the_cib_is_never_shown(tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    # The warnings said 'name=value' for what they left out, and quoted the CIB's line:
    # a fencing device's passwd (on the line of the primitive, in a CIB on one line), a
    # node's or an operation's password went to the terminal and into the comments.
    path, out = tmp_path / "cib.xml", tmp_path / "cib.crg"
    path.write_text(TEMPLATED.replace(
        '<node id="1" uname="n1"/>',
        '<node id="1" uname="n1"><instance_attributes id="na"><nvpair id="np" name="password" '
        'value="pw-node"/></instance_attributes></node>').replace(
        '<op id="t-m" name="monitor" interval="7s"/>',
        '<op id="t-m" name="monitor" interval="7s"><instance_attributes id="oi"><nvpair '
        "id=\"op\" name='db_passwd' value='pw-op'/></instance_attributes></op>").replace(
        "<group ", '<primitive id="fence" class="stonith" type="fence_ipmilan"><instance_'
        'attributes id="fi"><nvpair id="fp" value="pw-fence" name="passwd"/></instance_'
        'attributes></primitive><group ', 1).replace(
        '<nvpair id="a-i-b" name="state" value="/a"/>',
        '<nvpair id="a-i-b" name="state" value="/a"/>'
        '<nvpair id="a-i-c" name="password" value="pw-app"/>'))
    assert main(["import", "pacemaker", str(path), "-o", str(out)]) == 0
    err = capsys.readouterr().err
    assert "password=*** has no counterpart" not in err  # a node's attributes, below
    assert "password=***: no counterpart" in err and "db_passwd=***" in err, err
    assert 'value="********"' in err, err  # the quoted line, starred in place
    written = out.read_text()
    comments = [line for line in written.splitlines() if line.lstrip().startswith("#")]
    assert "pw-" not in err and "pw-" not in "\n".join(comments), err
    # The agent's own parameter is configuration: the .crg carries it for the agent.
    assert dict(load(out).groups[0].app.env)["OCF_RESKEY_password"] == "pw-app"


@pytest.mark.parametrize("value", ["x>LEAKEDPASSWORD", "a'>LEAKEDPASSWORD", "<>LEAKEDPASSWORD"])
def test_a_password_with_a_greater_than_sign_is_starred_out_whole(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], value: str) -> None:
    # A raw '>' is valid inside a quoted attribute: the masking stopped at it, and the rest
    # of the password was shown in the line that the property's warning quotes.
    escaped = value.replace("<", "&lt;")
    path, out = tmp_path / "cib.xml", tmp_path / "cib.crg"
    path.write_text(TEMPLATED.replace("<cib><configuration>", (
        '<cib><configuration><crm_config><cluster_property_set id="o">\n'
        f'<nvpair id="o-k" name="api_key" value="{escaped}"/>\n'
        "</cluster_property_set></crm_config>"), 1))
    assert main(["import", "pacemaker", str(path), "-o", str(out)]) == 0
    err = capsys.readouterr().err
    assert f"{path}:2:1: warning: <crm_config>: api_key=***: no counterpart" in err, err
    assert f'value="{"*" * len(escaped)}"/>' in err, err  # the quoted line, starred
    assert "LEAKED" not in err and "PASSWORD" not in err, err


@pytest.mark.parametrize("extra", [
    '<op_defaults><meta_attributes id="od"><nvpair id="odt" name="timeout" value="{big}"/>'
    "</meta_attributes></op_defaults>",
    '<constraints><rsc_location id="l" rsc="g" node="n1" score="{big}"/></constraints>',
    '<rsc_defaults><meta_attributes id="rd"><nvpair id="rm" name="migration-threshold" '
    'value="{big}"/></meta_attributes></rsc_defaults>',
], ids=["op_defaults timeout", "location score", "migration-threshold"])
def test_a_number_of_thousands_of_digits_is_read_as_pacemaker_clamps_it(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: str) -> None:
    # Python converts no number of more than 4300 digits: a ValueError of its own was an
    # internal error (op_defaults), or its message the import's ("Exceeds the limit").
    path, out = tmp_path / "cib.xml", tmp_path / "cib.crg"
    path.write_text(TEMPLATED.replace("</resources>",
                                      "</resources>" + extra.replace("{big}", "9" * 5000)))
    code = main(["import", "pacemaker", str(path), "-o", str(out)])
    err = capsys.readouterr().err
    assert "Exceeds" not in err and "internal error" not in err, err
    # A timeout of 49 days (Pacemaker's largest) is more than crg takes: crg says so.
    assert code == 0 or (code == 2 and "does not validate" in err), err


def test_warnings_alike_beyond_the_first_few_are_counted_not_repeated(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Eight groups without a netmask gave eight paragraphs saying the same; a CIB of
    hundreds buried the one warning that differed. Every one stays a comment."""
    groups = "".join(
        f'<group id="g{i}"><primitive id="g{i}-ip" class="ocf" provider="heartbeat" '
        f'type="IPaddr2"><instance_attributes id="g{i}-a"><nvpair id="g{i}-a1" name="ip" '
        f'value="10.0.{i}.1"/></instance_attributes></primitive><primitive id="g{i}-app" '
        f'class="systemd" type="s{i}"/></group>\n' for i in range(8))
    places = "".join(f'<rsc_location id="l{i}-{n}" rsc="g{i}" node="n{n}" score="{10 - n}"/>'
                     for i in range(8) for n in (1, 2))
    path = tmp_path / "cib.xml"
    path.write_text('<cib><configuration><nodes><node id="1" uname="n1"/><node id="2" '
                    f'uname="n2"/></nodes><resources>\n{groups}</resources><constraints>'
                    f'{places}</constraints></configuration></cib>')
    out = tmp_path / "c.crg"
    assert main(["import", "pacemaker", str(path), "-o", str(out)]) == 0
    err = capsys.readouterr().err
    assert err.count("no cidr_netmask") == 4  # three in full, one in the count
    assert (f"{path}: 5 more warnings like '<primitive id=\"g3-ip\">: no cidr_netmask "
            "(IPaddr2 takes the interface's); imported as /32' (the .crg has each as a "
            "comment)\n") in err
    assert out.read_text().count("no cidr_netmask") == 8


@pytest.mark.parametrize("encoding", ["iso-8859-1", "utf-16"])
def test_a_cib_in_the_encoding_it_declares_is_read(tmp_path: Path, encoding: str) -> None:
    """XML declares its encoding (or starts with a UTF-16 byte order mark); every CIB
    that was not UTF-8 was refused as "not valid UTF-8"."""
    declared = ('<?xml version="1.0" encoding="ISO-8859-1"?>\n' if encoding == "iso-8859-1"
                else "")
    path = tmp_path / "cib.xml"
    path.write_bytes((declared + TEMPLATED.replace("</resources>", "</resources>\n<!-- Größe -->"))
                     .encode(encoding))
    out = tmp_path / "c.crg"
    assert main(["import", "pacemaker", str(path), "-o", str(out)]) == 0
    assert load(out).groups


def test_an_encoding_nobody_knows_is_bad_input(tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "cib.xml"
    path.write_text('<?xml version="1.0" encoding="klingon"?>\n<cib/>')
    assert main(["import", "pacemaker", str(path)]) == 2
    assert (f"{path}:1:31: error: the XML declaration names the encoding 'klingon', which "
            "is not one Python knows") in capsys.readouterr().err


@pytest.mark.parametrize(("encoding", "data", "where", "says"), [
    # The column was 1 whatever the byte's place on its line.
    ("ascii", '<?xml version="1.0" encoding="ascii"?>\n<cib a="ö"/>'.encode(), "2:9",
     "file is not valid ascii (byte 0xc3 at offset 47: ordinal not in range(128)), the "
     "encoding it declares"),
    # Characters are counted, not bytes: '<' '\n' are two bytes each in UTF-16.
    ("utf-16", b"\xff\xfe" + '<?xml version="1.0" encoding="utf-16"?>\n<cib a="ö"/>'
     .encode("utf-16-le") + b"\x00\xd8<\x00", "2:13",
     "file is not valid utf-16 (byte 0x00 at offset 106: illegal UTF-16 surrogate), the "
     "encoding it declares"),
])
def test_a_cib_not_in_the_encoding_it_declares_is_refused_at_the_bad_byte(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], encoding: str, data: bytes,
        where: str, says: str) -> None:
    path = tmp_path / "cib.xml"
    path.write_bytes(data)
    assert main(["import", "pacemaker", str(path)]) == 2
    assert f"{path}:{where}: error: {says}" in capsys.readouterr().err


def test_a_cib_that_is_not_utf_8_does_not_show_a_password(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The decoding stage quoted the line as it was: the fencing password, in clear."""
    path = tmp_path / "pw1.xml"
    path.write_bytes(b'<cib><configuration><resources>\n<primitive class="stonith" id="f" '
                     b'type="fence_ipmilan"><instance_attributes id="fi">\n<nvpair id="fp" '
                     b'name="passwd" value="Hunter\xe42"/>\n</instance_attributes></primitive>'
                     b"</resources></configuration></cib>\n")
    assert main(["import", "pacemaker", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"{path}:3:44: error: file is not valid UTF-8 (byte 0xe4)" in err, err
    assert 'name="passwd" value="********"' in err, err
    assert "Hunter" not in err and "Traceback" not in err
