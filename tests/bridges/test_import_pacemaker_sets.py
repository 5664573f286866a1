"""``crg import pacemaker`` reads attribute sets in Pacemaker's order: the highest
``score`` first (document order among equals), ``cib-bootstrap-options`` before every
other set of cluster properties; a value a later set gives again is named (an outside
tester's findings 2 and 3, each checked on crm_simulate)."""

from __future__ import annotations

from pathlib import Path

import pytest
from crg_side import simulate
from pacemaker_scheduler import Cluster

from crg.bridges.crg_writer import draft_text
from crg.bridges.from_pacemaker import from_cib
from crg.bridges.xml_source import parse_xml
from crg.cli import main
from crg.dsl import Config, Source, parse

NODES = ("n1", "n2")
BASE = """<cib validate-with="pacemaker-3.9" epoch="1" num_updates="0" admin_epoch="0">
  <configuration>
    <crm_config>{crm_config}
    </crm_config>
    <nodes><node id="1" uname="n1"/><node id="2" uname="n2"/></nodes>
    <resources>
      <group id="web">{group_sets}
        <primitive class="ocf" id="web-ip" provider="heartbeat" type="IPaddr2">{ip_sets}
          <instance_attributes id="web-ip-ia"><nvpair id="web-ip-ip" name="ip" value="10.0.0.5"/><nvpair id="web-ip-nm" name="cidr_netmask" value="24"/></instance_attributes>
        </primitive>
        <primitive class="ocf" id="web-app" provider="pacemaker" type="Dummy">
          <operations><op id="web-app-mon" name="monitor" interval="10s"/></operations>
        </primitive>
      </group>
    </resources>
    <constraints>
      <rsc_location id="l1" rsc="web" node="n1" score="100"/>
    </constraints>
  </configuration>
  <status/>
</cib>
"""  # noqa: E501  (the tester's CIB)
BOOTSTRAP = """
      <cluster_property_set id="cib-bootstrap-options">
        <nvpair id="o1" name="stonith-enabled" value="false"/>
      </cluster_property_set>"""


def cib(crm_config: str = BOOTSTRAP, group_sets: str = "", ip_sets: str = "") -> str:
    return BASE.format(crm_config=crm_config, group_sets=group_sets, ip_sets=ip_sets)


def imported(text: str) -> tuple[Config, list[str]]:
    draft, notes = from_cib(parse_xml(Source("cib.xml", text)))
    return (parse(draft_text(draft, "imported.crg"), "imported.crg"),
            [n.message for n in notes.items])


def stickiness(low: str, high: str) -> str:
    """Two sets of the group's meta attributes, the one of lower score first."""
    return (f'\n<meta_attributes id="m-low" score="{low}"><nvpair id="m-low-s" '
            'name="resource-stickiness" value="0"/></meta_attributes>'
            f'\n<meta_attributes id="m-high" score="{high}"><nvpair id="m-high-s" '
            'name="resource-stickiness" value="INFINITY"/></meta_attributes>')


# -- 2. sets of meta attributes with a score -------------------------------------------------


@pytest.mark.parametrize(("low", "high", "failback"), [
    ("1", "100", "manual"),  # the INFINITY of the later set of higher score wins
    ("100", "1", "auto"),  # the first set, of higher score: stickiness 0
    ("5", "5", "auto"),  # equal scores: document order
    ("-INFINITY", "INFINITY", "manual"),
])
def test_meta_attribute_sets_are_read_highest_score_first(low: str, high: str,
                                                          failback: str) -> None:
    config, notes = imported(cib(group_sets=stickiness(low, high)))
    assert config.group("web").failback.value == failback
    loser, winner = (("0", "INFINITY") if failback == "manual" else ("INFINITY", "0"))
    said = [n for n in notes if "is not read" in n]
    assert said == [f'<group id="web">: resource-stickiness={loser} (<meta_attributes '
                    f'id="{"m-low" if failback == "manual" else "m-high"}">) is not read: '
                    f"Pacemaker reads resource-stickiness={winner} (<meta_attributes "
                    f'id="{"m-high" if failback == "manual" else "m-low"}">) first '
                    + ("(the set of higher score, "
                       f"{1_000_000 if high == 'INFINITY' else high} > "
                       f"{-1_000_000 if low == '-INFINITY' else low})" if failback == "manual"
                       else "(the set of higher score, 100 > 1)" if low == "100"
                       else "(of sets of equal score, the first in the document)")
                    + ", and so does the import"], notes


@pytest.mark.parametrize(("low", "high", "home"), [("1", "100", False), ("100", "1", True)])
def test_pacemaker_reads_the_set_of_higher_score_first(pacemaker: None, tmp_path: Path,
                                                       low: str, high: str,
                                                       home: bool) -> None:
    """Pacemaker and crg agree on fail n1, join n1: the set score decides."""
    text = cib(group_sets=stickiness(low, high))
    cluster, placement = Cluster.start(text, NODES, tmp_path)
    assert placement["web-app"] == "n1"
    assert cluster.crash("n1")["web-app"] == "n2"
    assert cluster.rejoin("n1")["web-app"] == ("n1" if home else "n2")
    config, _ = imported(text)
    *_, back = simulate(config, [("fail", "n1"), ("join", "n1")])
    assert back["web"].app == ("n1" if home else "n2")


def test_instance_attribute_sets_are_read_highest_score_first() -> None:
    ip_sets = ('\n<instance_attributes id="later" score="10"><nvpair id="later-ip" name="ip" '
               'value="10.0.0.9"/></instance_attributes>')
    config, notes = imported(cib(ip_sets=ip_sets))
    assert config.group("web").vip.address == "10.0.0.9"
    assert any('ip=10.0.0.5 (<instance_attributes id="web-ip-ia">) is not read' in n
               for n in notes), notes


def test_rsc_and_op_defaults_are_read_highest_score_first(tmp_path: Path) -> None:
    defaults = ('<rsc_defaults><meta_attributes id="d1"><nvpair id="d1-s" '
                'name="resource-stickiness" value="0"/></meta_attributes><meta_attributes '
                'id="d2" score="10"><nvpair id="d2-s" name="resource-stickiness" '
                'value="INFINITY"/></meta_attributes></rsc_defaults><op_defaults>'
                '<meta_attributes id="t1"><nvpair id="t1-t" name="timeout" value="30s"/>'
                '</meta_attributes><meta_attributes id="t2" score="INFINITY"><nvpair '
                'id="t2-t" name="timeout" value="90s"/></meta_attributes></op_defaults>')
    config, notes = imported(cib().replace("  </configuration>",
                                           defaults + "\n  </configuration>"))
    web = config.group("web")
    assert web.failback.value == "manual"
    assert web.app.start.timeout_ms == 90_000
    assert any(n.startswith("<rsc_defaults>: resource-stickiness=0") for n in notes), notes
    assert any(n.startswith("<op_defaults>: timeout=30s") for n in notes), notes


def test_a_set_score_pacemaker_would_not_read_is_bad_input(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "cib.xml"
    path.write_text(cib(group_sets=stickiness("high", "1")))
    assert main(["import", "pacemaker", str(path)]) == 2
    err = capsys.readouterr().err
    assert (f'{path}:11:1: error: <meta_attributes id="m-low">: score \'high\' is not a '
            "Pacemaker score") in err, err
    assert "Traceback" not in err


# -- 3. cluster properties: cib-bootstrap-options first --------------------------------------

SITE_FIRST = """
      <cluster_property_set id="site-options" score="100">
        <nvpair id="o0" name="symmetric-cluster" value="false"/><nvpair id="o1" name="stonith-enabled" value="false"/>
      </cluster_property_set>
      <cluster_property_set id="cib-bootstrap-options">
        <nvpair id="o2" name="symmetric-cluster" value="true"/>
      </cluster_property_set>"""  # noqa: E501  (the tester's, with a score on the first set)


def test_cib_bootstrap_options_are_read_first_whatever_the_order_and_scores(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path, out = tmp_path / "cib.xml", tmp_path / "x.crg"
    path.write_text(cib(crm_config=SITE_FIRST))
    assert main(["import", "pacemaker", str(path), "-o", str(out)]) == 0
    err = capsys.readouterr().err
    assert (f"{path}:5:9: warning: <crm_config>: symmetric-cluster=false (<cluster_property_set "
            'id="site-options">) is not read: Pacemaker reads symmetric-cluster=true '
            '(<cluster_property_set id="cib-bootstrap-options">) first (cib-bootstrap-options '
            "comes first, whatever the scores), and so does the import") in err, err
    assert "# <crm_config>: symmetric-cluster=false" in out.read_text()  # and in the .crg
    config, _ = imported(path.read_text())
    assert config.group("web").candidates == ("n1", "n2")  # symmetric: n2 may run it


def test_pacemaker_reads_cib_bootstrap_options_first(pacemaker: None, tmp_path: Path) -> None:
    cluster, placement = Cluster.start(cib(crm_config=SITE_FIRST), NODES, tmp_path)
    assert placement["web-app"] == "n1"
    assert cluster.crash("n1")["web-app"] == "n2"  # symmetric after all


def test_the_other_sets_of_properties_are_read_by_score() -> None:
    sets = BOOTSTRAP + """
      <cluster_property_set id="a"><nvpair id="a1" name="cluster-name" value="first"/></cluster_property_set>
      <cluster_property_set id="b" score="5"><nvpair id="b1" name="cluster-name" value="second"/></cluster_property_set>"""  # noqa: E501
    config, notes = imported(cib(crm_config=sets))
    assert config.cluster.name == "second"
    assert any(n.startswith("<crm_config>: cluster-name=first") for n in notes), notes
