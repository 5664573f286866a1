"""``crg import pacemaker`` reads a CIB as Pacemaker does: its booleans, a group's
stickiness, the quorum policy, locations on members, node names (an outside tester's
findings, each checked against crm_simulate where the claim is about Pacemaker)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from pacemaker_scheduler import CRM_SIMULATE, Cluster

from crg.bridges.crg_writer import draft_text
from crg.bridges.from_pacemaker import from_cib
from crg.bridges.import_notes import ImportFailed
from crg.bridges.xml_source import parse_xml
from crg.cli import main
from crg.dsl import Config, Source, load, parse

NODES = ("n1", "n2", "n3")
BASE = """<cib validate-with="pacemaker-3.6" admin_epoch="0" epoch="1" num_updates="0">
  <configuration>
    <crm_config>
      <cluster_property_set id="o">
        <nvpair id="o-s" name="stonith-enabled" value="false"/>{properties}
      </cluster_property_set>
    </crm_config>
    <nodes>
      <node id="1" uname="n1"/>
      <node id="2" uname="n2"/>
      <node id="3" uname="n3"/>
    </nodes>
    <resources>
      <group id="web">{group_meta}
        <primitive id="web-vip" class="ocf" provider="heartbeat" type="IPaddr2">
          <instance_attributes id="web-vip-i">
            <nvpair id="web-vip-ip" name="ip" value="192.168.1.10"/>
            <nvpair id="web-vip-nm" name="cidr_netmask" value="24"/>
          </instance_attributes>
          <operations><op id="web-vip-m" name="monitor" interval="10s"/></operations>
        </primitive>
        <primitive id="web-app" class="ocf" provider="heartbeat" type="Dummy">
          <operations><op id="web-app-m" name="monitor" interval="10s"/></operations>
        </primitive>{members}
      </group>
    </resources>
    <constraints>{constraints}
    </constraints>{defaults}
  </configuration>
  <status/>
</cib>
"""
"""The tester's CIB: three nodes, no fencing, a group of an address and a Dummy."""


def base(properties: str = "", members: str = "", constraints: str = "",
         defaults: str = "", group_meta: str = "") -> str:
    return BASE.format(properties=properties, members=members, constraints=constraints,
                       defaults=defaults, group_meta=group_meta)


def prop(name: str, value: str) -> str:
    return f'\n        <nvpair id="o-{name}" name="{name}" value="{value}"/>'


def imported(cib: str) -> tuple[Config | None, list[str]]:
    """The import of ``cib`` (None when no group could be imported) and its warnings."""
    try:
        draft, notes = from_cib(parse_xml(Source("cib.xml", cib)))
    except ImportFailed as exc:
        return None, [d.message for d in exc.diagnostics] + [
            n.message for notes in exc.notes for n in notes.items]
    return (parse(draft_text(draft, "imported.crg"), "imported.crg"),
            [n.message for n in notes.items])


# -- 1. booleans -----------------------------------------------------------------------------


@pytest.mark.parametrize(("value", "symmetric"), [
    ("on", True), ("y", True), ("Yes", True), ("TRUE", True), ("1", True),
    ("off", False), ("n", False), ("No", False), ("false", False), ("0", False)])
def test_symmetric_cluster_is_read_as_pacemaker_reads_a_boolean(value: str,
                                                                symmetric: bool) -> None:
    # 'on' and 'y' were read as false: an opt-in cluster, where a group without a
    # location may run nowhere, and the group was dropped.
    config, notes = imported(base(properties=prop("symmetric-cluster", value)))
    if symmetric:
        assert config is not None and config.group("web").candidates == NODES, notes
    else:
        assert config is None and any("no node may run it" in n for n in notes), notes


@pytest.mark.parametrize(("value", "runs"), [("on", True), ("y", True), ("n", False)])
def test_pacemaker_reads_those_booleans_so(pacemaker: None, tmp_path: Path, value: str,
                                           runs: bool) -> None:
    _, placement = Cluster.start(base(properties=prop("symmetric-cluster", value)), NODES,
                                 tmp_path)
    assert ("web-vip" in placement) is runs, placement


def test_a_property_that_is_not_a_boolean_is_bad_input(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Pacemaker takes the default and crm_verify calls the configuration invalid.
    path = tmp_path / "cib.xml"
    path.write_text(base(properties=prop("symmetric-cluster", "maybe")))
    assert main(["import", "pacemaker", str(path)]) == 2
    err = capsys.readouterr().err
    assert (f"{path}:6:9: error: symmetric-cluster='maybe' is not a Pacemaker boolean"
            in err), err


# -- 2. a group's stickiness -----------------------------------------------------------------

THIRD_MEMBER = """
        <primitive id="web-extra" class="ocf" provider="heartbeat" type="Dummy">
          <operations><op id="web-extra-m" name="monitor" interval="10s"/></operations>
        </primitive>"""
STICKINESS_40 = """
    <rsc_defaults><meta_attributes id="rd">
      <nvpair id="rd-s" name="resource-stickiness" value="40"/>
    </meta_attributes></rsc_defaults>"""
ON_N1 = '\n      <rsc_location id="l-n1" rsc="web" node="n1" score="100"/>'


def test_the_stickiness_of_every_member_of_the_group_counts() -> None:
    # Only the address's and the application's were summed: 2 x 40 < 100 read as failback
    # auto, where Pacemaker counts the third member too (120 > 100) and stays.
    config, notes = imported(base(members=THIRD_MEMBER, constraints=ON_N1,
                                  defaults=STICKINESS_40))
    assert config is not None, notes
    assert config.group("web").failback.value == "manual", notes
    two, _ = imported(base(constraints=ON_N1, defaults=STICKINESS_40))
    assert two is not None and two.group("web").failback.value == "auto"


def test_pacemaker_keeps_a_group_of_three_members_where_it_is(pacemaker: None,
                                                              tmp_path: Path) -> None:
    cluster, placement = Cluster.start(base(members=THIRD_MEMBER, constraints=ON_N1,
                                            defaults=STICKINESS_40), NODES, tmp_path)
    assert placement["web-app"] == "n1"
    away = cluster.crash("n1")["web-app"]
    assert cluster.rejoin("n1")["web-app"] == away != "n1"  # manual: it stays


# -- 3. no-quorum-policy ---------------------------------------------------------------------


@pytest.mark.parametrize(("policy", "fencing", "said"), [
    ("stop", "self", None), ("Stop", "self", None), ("demote", "self", None),
    ("DEMOTE", "self", None),
    ("suicide", "self", "fences itself"),
    ("ignore", "none", "keep running and recovering"), ("Ignore", "none", "keep running"),
    ("freeze", "none", "start or recover none")])
def test_no_quorum_policy_is_read_in_any_case_and_said_as_it_is(
        policy: str, fencing: str, said: str | None) -> None:
    # demote and Stop became fencing none, with a warning that nodes without quorum keep
    # their resources: Pacemaker stops them (below); suicide was fencing none as well.
    config, notes = imported(base(properties=prop("no-quorum-policy", policy)))
    assert config is not None and config.group("web").fencing.value == fencing, notes
    quorum = [n for n in notes if "no-quorum-policy" in n]
    assert (said is None and not quorum) or (said is not None and said in quorum[0]), quorum


@pytest.mark.parametrize(("policy", "starts"), [("Stop", False), ("demote", False),
                                                ("freeze", False), ("ignore", True)])
def test_pacemaker_starts_nothing_without_quorum_unless_told_to_ignore_it(
        pacemaker: None, tmp_path: Path, policy: str, starts: bool) -> None:
    cib = tmp_path / "cib.xml"
    cib.write_text(base(properties=prop("no-quorum-policy", policy)).replace(
        "<cib ", '<cib have-quorum="0" '))
    done = subprocess.run([CRM_SIMULATE, "--xml-file", str(cib), "--simulate",
                           *(a for n in NODES for a in ("--node-up", n))],
                          capture_output=True, text=True, timeout=30, check=True)
    start = next(line for line in done.stdout.splitlines() if "Start" in line
                 and "web-vip" in line)
    assert ("blocked" not in start) is starts, done.stdout


def test_a_no_quorum_policy_pacemaker_does_not_know_is_bad_input(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "cib.xml"
    path.write_text(base(properties=prop("no-quorum-policy", "fence")))
    assert main(["import", "pacemaker", str(path)]) == 2
    assert (f"{path}:6:9: error: no-quorum-policy='fence' is not one Pacemaker knows"
            in capsys.readouterr().err)


# -- 6. a location on a member ---------------------------------------------------------------

ON_MEMBERS = ('\n      <rsc_location id="l0" rsc="web" node="n1" score="100"/>'
              '\n      <rsc_location id="l1" rsc="web-app" node="n2" score="60"/>'
              '\n      <rsc_location id="l2" rsc="web-vip" node="n2" score="60"/>'
              '\n      <rsc_location id="l3" rsc="web-app" node="n3" score="50"/>')


def test_a_location_on_any_member_places_the_group() -> None:
    # One on the application was dropped ("a location of the application alone has no
    # counterpart"), where one on the address counted for the group.
    config, notes = imported(base(constraints=ON_MEMBERS))
    assert config is not None and config.group("web").candidates == ("n2", "n1", "n3"), notes
    assert not [n for n in notes if "rsc_location" in n], notes


def test_pacemaker_places_a_group_by_its_members_locations_summed(pacemaker: None,
                                                                  tmp_path: Path) -> None:
    _, placement = Cluster.start(base(constraints=ON_MEMBERS), NODES, tmp_path)
    assert placement["web-vip"] == placement["web-app"] == "n2"  # 60 + 60 over 100
    _, placement = Cluster.start(base(constraints='\n      <rsc_location id="l1" '
                                      'rsc="web-app" node="n3" score="100"/>'), NODES,
                                 tmp_path)
    assert placement["web-vip"] == placement["web-app"] == "n3"


# -- 7. node names in any case ---------------------------------------------------------------

IN_CAPITALS = ('\n      <rsc_location id="l1" rsc="web" node="N3" score="100"/>'
               '\n      <rsc_location id="l2" rsc="web-app" node="N2" score="-INFINITY"/>'
               '\n      <rsc_location id="l3" rsc="web-app" node="n1" score="-INFINITY"/>')


def test_a_constraint_names_a_node_in_any_case() -> None:
    # node="N3" for uname n3 was "not a node of the CIB", and the location dropped.
    config, notes = imported(base(constraints=IN_CAPITALS))
    assert config is not None, notes
    web = config.group("web")
    assert web.candidates[0] == "n3" and web.kind.value == "instance", notes  # as listed
    assert not [n for n in notes if "not a node" in n], notes


def test_pacemaker_matches_node_names_in_any_case(pacemaker: None, tmp_path: Path) -> None:
    _, placement = Cluster.start(base(constraints=IN_CAPITALS), NODES, tmp_path)
    assert placement["web-app"] == "n3"


# -- 8. the address's own settings ------------------------------------------------------------

VIP_EXTRAS = (
    '<nvpair id="web-vip-nm" name="cidr_netmask" value="24"/>',
    '<nvpair id="web-vip-nm" name="cidr_netmask" value="24"/>'
    '<nvpair id="x1" name="iflabel" value="web"/><nvpair id="x2" name="arp_count" '
    'value="10"/><nvpair id="x3" name="broadcast" value="192.168.1.255"/>')
ON_FAIL_BLOCK = ('<op id="web-vip-m" name="monitor" interval="10s"/>',
                 '<op id="web-vip-m" name="monitor" interval="5s" on-fail="block" '
                 'enabled="false"/>')


def test_the_address_s_parameters_and_operation_settings_are_named(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """iflabel, arp_count, broadcast and the address monitor's on-fail=block were dropped
    without a word: only the application's operations were read for their settings."""
    path, out = tmp_path / "cib.xml", tmp_path / "x.crg"
    path.write_text(base().replace(*VIP_EXTRAS).replace(*ON_FAIL_BLOCK))
    assert main(["import", "pacemaker", str(path), "-o", str(out)]) == 0
    err = capsys.readouterr().err
    assert (f'{path}:15:9: warning: <primitive id="web-vip">: iflabel=web, arp_count=10, '
            "broadcast=192.168.1.255: no counterpart in crg") in err, err
    assert (f'{path}:20:23: warning: <primitive id="web-vip">: <op id="web-vip-m"> (monitor '
            "every 5s): on-fail=block: no counterpart in crg (Pacemaker leaves a resource "
            "that failed this way as it is, unmanaged") in err, err
    assert (f'{path}:20:23: warning: <primitive id="web-vip">: <op id="web-vip-m"> (monitor '
            "every 5s): enabled=false: no counterpart in crg") in err, err
    text = out.read_text()
    assert "arp_count=10" in text and "on-fail=block" in text


@pytest.mark.parametrize("nic", ["eth0:1", "eth0:web"])
def test_an_alias_interface_is_the_interface_with_its_label_named(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], nic: str) -> None:
    """``nic="eth0:1"`` wrote ``dev eth0:1``, which crg does not parse, and the error
    pointed into a file that was never written."""
    path, out = tmp_path / "cib.xml", tmp_path / "x.crg"
    path.write_text(base().replace(VIP_EXTRAS[0], VIP_EXTRAS[0] + f'<nvpair id="web-vip-nic" '
                                                                  f'name="nic" value="{nic}"/>'))
    assert main(["import", "pacemaker", str(path), "-o", str(out)]) == 0
    err = capsys.readouterr().err
    label = nic.split(":")[1]
    assert (f'<primitive id="web-vip">: nic={nic}: the label \'{label}\' has no counterpart '
            "in crg; imported as dev eth0") in err, err
    assert load(out).group("web").vip.device == "eth0"


def test_an_import_that_does_not_even_parse_is_written_and_pointed_into(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # An interface name crg cannot read: the file is written all the same, as the README
    # says, and the last line says to fix it.
    path, out = tmp_path / "cib.xml", tmp_path / "x.crg"
    path.write_text(base().replace(VIP_EXTRAS[0], VIP_EXTRAS[0] + '<nvpair id="web-vip-nic" '
                                                                  'name="nic" value="eth0 x"/>'))
    assert main(["import", "pacemaker", str(path), "-o", str(out)]) == 2
    err = capsys.readouterr().err
    line = next(i for i, t in enumerate(out.read_text().splitlines(), 1) if "dev eth0 x" in t)
    assert f"{out}:{line}:" in err and " error: " in err, err
    assert err.rstrip().endswith(f"crg: error: the imported configuration does not validate; "
                                 f"fix {out} where shown"), err
    assert "Traceback" not in err


# -- 9. what Pacemaker's schema requires ------------------------------------------------------


@pytest.mark.parametrize(("old", "new", "where", "words"), [
    ('<op id="web-app-m" name="monitor" interval="10s"/>', '<op id="web-app-m" '
     'interval="10s"/>', "23:23", '<primitive id="web-app">: <op id="web-app-m">: an '
     "operation without a name"),
    ('<op id="web-vip-m" name="monitor" interval="10s"/>', '<op id="web-vip-m" '
     'interval="10s"/>', "20:23", '<primitive id="web-vip">: <op id="web-vip-m">: an '
     "operation without a name"),
    ('<node id="3" uname="n3"/>', "<node/>", "11:7", "<node> without a uname (or an id)"),
])
def test_an_element_missing_what_the_schema_requires_is_an_error(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], old: str, new: str, where: str,
        words: str) -> None:
    """``<op>`` without a name gave "the  operation has no counterpart", ``<node/>`` a node
    named ``_`` and "equal scores on , n3"."""
    path = tmp_path / "cib.xml"
    path.write_text(base().replace(old, new))
    assert main(["import", "pacemaker", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"{path}:{where}: error: {words}" in err, err
    assert "Traceback" not in err


# -- 10. a negative migration-threshold --------------------------------------------------------

NEGATIVE = """
        <meta_attributes id="web-m">
          <nvpair id="web-m-t" name="migration-threshold" value="-5"/>
        </meta_attributes>"""


def test_a_negative_migration_threshold_is_read_as_pacemaker_2_1_reads_it() -> None:
    """It was read as INFINITY ("restarts it in place for ever"), without a word."""
    config, notes = imported(base(group_meta=NEGATIVE, constraints=ON_N1))
    assert config is not None
    assert config.group("web").restarts == 0
    assert any("migration-threshold=-5 is negative: Pacemaker 2.1 reads it as 1" in n
               for n in notes), notes


def test_pacemaker_moves_a_group_of_negative_threshold_at_its_first_failure(
        pacemaker: None, tmp_path: Path) -> None:
    cluster, placement = Cluster.start(base(group_meta=NEGATIVE, constraints=ON_N1), NODES,
                                       tmp_path)
    assert placement["web-app"] == "n1"
    assert cluster.fault("web-app", 10_000, "n1")["web-app"] != "n1"


def test_output_that_replaces_a_file_says_so(tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    path, out = tmp_path / "cib.xml", tmp_path / "out.crg"
    path.write_text(base())
    out.write_text("precious\n")
    assert main(["import", "pacemaker", str(path), "-o", str(out)]) == 0
    assert f"into {out} (replaced the file that was there);" in capsys.readouterr().err
    assert main(["import", "pacemaker", str(path), "-o", str(tmp_path / "new.crg")]) == 0
    assert "replaced" not in capsys.readouterr().err
