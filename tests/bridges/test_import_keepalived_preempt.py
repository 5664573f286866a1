"""``crg import keepalived``: ``nopreempt`` read per node as keepalived reads it (cleared
for a MASTER and for priority 255), the failback of the node that would take the address
back, and the peers a single file is assumed to have (an outside tester's findings 1 and
11)."""

from __future__ import annotations

from pathlib import Path

import pytest

from crg.cli import main
from crg.dsl import Config, load


def node(tmp_path: Path, name: str, priority: int | None, *lines: str,
         state: str | None = "BACKUP", extra: str = "") -> Path:
    path = tmp_path / f"{name}.conf"
    body = "".join(f"  {line}\n" for line in lines)
    path.write_text(f"global_defs {{\n  router_id {name}\n}}\nvrrp_instance V {{\n"
                    + (f"  state {state}\n" if state else "") + "  interface eth0\n"
                    + (f"  priority {priority}\n" if priority is not None else "")
                    + body + f"  virtual_ipaddress {{\n    10.0.0.5/24\n  }}\n{extra}}}\n")
    return path


def imported(tmp_path: Path, capsys: pytest.CaptureFixture[str],
             *paths: Path) -> tuple[Config, str, str]:
    out = tmp_path / "x.crg"
    assert main(["import", "keepalived", *map(str, paths), "-o", str(out)]) == 0
    return load(out), capsys.readouterr().err, out.read_text()


def test_nopreempt_on_a_master_is_cleared_as_keepalived_clears_it(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The tutorial's pair: nopreempt on both nodes, MASTER on one. keepalived logs
    "nopreempt will not work with initial state MASTER - clearing": lb1 takes the address
    back when it returns. The import wrote failback manual, and "everything mapped"."""
    lb1 = node(tmp_path, "lb1", 150, "nopreempt", state="MASTER")
    lb2 = node(tmp_path, "lb2", 100, "nopreempt")
    config, err, text = imported(tmp_path, capsys, lb1, lb2)
    web = config.group("V")
    assert (web.candidates, web.failback.value) == (("lb1", "lb2"), "auto")
    assert (f"{lb1}:8:3: warning: nopreempt (on lb1): keepalived clears it for state MASTER, "
            "and says so in its log: lb1 takes the address back when it returns; so does the "
            "import") in err, err
    assert "# nopreempt (on lb1): keepalived clears it" in text
    assert "everything mapped" not in err


def test_nopreempt_at_priority_255_is_cleared(tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    lb1 = node(tmp_path, "lb1", 255, "nopreempt", state=None)
    lb2 = node(tmp_path, "lb2", 100, "nopreempt")
    config, err, _ = imported(tmp_path, capsys, lb1, lb2)
    assert config.group("V").failback.value == "auto"
    assert "keepalived clears it for priority 255 (the address owner" in err, err


def test_nopreempt_on_the_lowest_node_only_changes_nothing(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The tester's repro B: lb3, which never takes the address from anyone, has
    nopreempt; keepalived fails back to lb1 every time."""
    paths = [node(tmp_path, "lb1", 150), node(tmp_path, "lb2", 120),
             node(tmp_path, "lb3", 100, "nopreempt")]
    config, err, _ = imported(tmp_path, capsys, *paths)
    web = config.group("V")
    assert (web.candidates, web.failback.value) == (("lb1", "lb2", "lb3"), "auto")
    assert "clears" not in err
    # lb2 takes the address from lb3 when it returns, where crg's auto waits for lb1.
    assert (f"{paths[1]}:4:1: warning: vrrp_instance V: lb2 (without nopreempt) takes the "
            "address back from a node of lower priority when it returns; crg's failback auto "
            "returns to the preferred node only (lb1, the preferred node, has no "
            "nopreempt); give lb2 nopreempt for crg and keepalived to agree") in err, err


@pytest.mark.parametrize(("flags", "failback", "said"), [
    # nopreempt on every BACKUP: the preferred node keeps it; nothing to say
    ((("nopreempt",), ("nopreempt",), ("nopreempt",)), "manual", None),
    # the preferred node's decides; a middle node without it moves the group up
    ((("nopreempt",), (), ("nopreempt",)), "manual", "lb2 (without nopreempt) takes"),
    # no nopreempt on the preferred node, the middle one's keeps the group between
    (((), ("nopreempt",), ()), "auto", None),
    # the last of nopreempt and preempt holds
    ((("nopreempt", "preempt"), ("nopreempt",), ()), "auto", None),
    ((("preempt", "nopreempt"), ("nopreempt",), ()), "manual", None),
])
def test_the_failback_is_the_preferred_node_s_and_a_disagreement_is_said(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], flags: tuple[tuple[str, ...], ...],
        failback: str, said: str | None) -> None:
    paths = [node(tmp_path, name, priority, *lines) for name, priority, lines
             in zip(("lb1", "lb2", "lb3"), (150, 120, 100), flags, strict=True)]
    config, err, text = imported(tmp_path, capsys, *paths)
    assert config.group("V").failback.value == failback
    if said is None:
        assert "without nopreempt" not in err, err
    else:
        assert f"{paths[1]}:4:1: warning: vrrp_instance V: {said}" in err, err
        assert "crg's failback manual moves a placed group nowhere" in err
        assert "# vrrp_instance V: lb2 (without nopreempt)" in text


def test_a_master_without_a_priority_has_keepalived_s_255(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # keepalived 2.0 and later: no priority and state MASTER is the address owner's 255.
    config, _, _ = imported(tmp_path, capsys, node(tmp_path, "lb1", None, state="MASTER"),
                            node(tmp_path, "lb2", 200))
    assert config.group("V").candidates == ("lb1", "lb2")


def test_a_state_keepalived_does_not_know_is_read_as_backup(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lb1 = node(tmp_path, "lb1", 100, state="master")
    config, err, _ = imported(tmp_path, capsys, lb1, node(tmp_path, "lb2", 100,
                                                          state="MASTER"))
    assert config.group("V").candidates == ("lb2", "lb1")  # the MASTER of the tie
    assert (f"{lb1}:5:3: warning: state master (on lb1): keepalived knows MASTER and BACKUP "
            "only") in err, err


# -- a single file ---------------------------------------------------------------------------


def test_the_invented_peer_is_named_on_stderr(tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    """One instance, no unicast_peer, no state: the preferred node is a node nobody named,
    and the summary said "everything mapped"."""
    path = tmp_path / "plain.conf"
    path.write_text("vrrp_instance V {\n  interface eth0\n  virtual_ipaddress {\n"
                    "    10.0.0.5/24\n  }\n}\n")
    config, err, _ = imported(tmp_path, capsys, path)
    assert config.cluster.nodes == ("plain", "peer")
    assert config.group("V").preferred == "peer"
    assert (f"{path}:1:1: warning: vrrp_instance V: only plain's file was given: peer is "
            "invented (no unicast_peer in the file) and assumed to mirror plain; the "
            "preferred node is peer") in err, err
    assert "everything mapped" not in err


def test_each_instance_has_its_own_unicast_peers(tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    """The peers of one instance were every instance's: A, unicast to .2 only, got .3 as a
    candidate too. An instance without peers is assumed to have the file's others'."""
    path = tmp_path / "lb1.conf"
    block = ("vrrp_instance {name} {{\n  state MASTER\n  interface eth0\n{peers}"
             "  virtual_ipaddress {{\n    10.0.0.{n}/24\n  }}\n}}\n")
    path.write_text(
        "global_defs {\n  router_id lb1\n}\n"
        + block.format(name="A", n=1, peers="  unicast_peer {\n    10.1.0.2\n  }\n")
        + block.format(name="B", n=2, peers="  unicast_peer {\n    10.1.0.3\n  }\n")
        + block.format(name="C", n=3, peers=""))
    config, err, _ = imported(tmp_path, capsys, path)
    assert config.group("A").candidates == ("lb1", "peer-10.1.0.2")
    assert config.group("B").candidates == ("lb1", "peer-10.1.0.3")
    assert config.group("C").candidates == ("lb1", "peer-10.1.0.2", "peer-10.1.0.3")
    assert ("vrrp_instance C: only lb1's file was given: peer-10.1.0.2, peer-10.1.0.3 are "
            "invented (the unicast_peer of the file's other instances)") in err, err
    assert "vrrp_instance A: only lb1's file was given: peer-10.1.0.2 is invented (its " \
           "unicast_peer)" in err, err
