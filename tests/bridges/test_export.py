"""``crg export pacemaker``: what it writes, what it warns of, and that Pacemaker takes it."""

from __future__ import annotations

import json
import os
import shlex
import stat
import subprocess
import sys
import threading
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from pacemaker_scheduler import verify

from crg.bridges.cib_writer import cib_xml
from crg.bridges.to_pacemaker import scores, to_pacemaker
from crg.cli import main
from crg.dsl import load, parse
from crg.spec.present.simulation import ALERT_NOTIFICATIONS

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "examples").glob("*.crg")) + sorted(
    (ROOT / "examples" / "broken").glob("*.crg"))

GROUP = """
group web {{
  vip 10.0.0.5/24 dev eth0
  app {{
{app}
  }}
  monitor process every 2s timeout 1s fails 1
  preferred n1
  possible n2, n3
  {extra}
}}
"""


def config_text(app: str = '    start "/usr/bin/python3 -m http.server --bind {vip} 80"',
                extra: str = "", cluster: str = "") -> str:
    return (f"cluster shop {{\n  nodes n1 n2 n3\n{cluster}}}\n"
            + GROUP.format(app=app, extra=extra))


def export(text: str) -> tuple[ET.Element, list[str]]:
    exported, warnings = to_pacemaker(parse(text, "shop.crg"))
    return ET.fromstring(cib_xml(exported, [])), [w.message for w in warnings]


def params(root: ET.Element, primitive: str) -> dict[str, str]:
    element = root.find(f".//primitive[@id='{primitive}']")
    assert element is not None
    return {p.get("name", ""): p.get("value", "")
            for p in element.iterfind("instance_attributes/nvpair")}


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_crm_verify_accepts_the_export_of_every_example(pacemaker: None, path: Path,
                                                         tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]
                                                         ) -> None:
    out = tmp_path / "cib.xml"
    assert main(["export", "pacemaker", str(path), "-o", str(out)]) == 0
    done = verify(out)
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")
    # Every warning on stderr is also in the document's header comment.
    stderr = capsys.readouterr().err
    header = out.read_text().split("-->")[0]
    for line in stderr.splitlines():
        if ": warning: " in line:
            assert line.split(": warning: ", 1)[1] in header


def test_scores_make_pacemaker_decide_as_crg_does() -> None:
    config = parse(config_text(extra="failback manual\n  avoid db")
                   + GROUP.replace("web", "db").format(app='    start "/bin/db"',
                                                      extra="failback auto")
                   .replace("10.0.0.5", "10.0.0.6"), "x.crg")
    web, db = scores(config.group("web")), scores(config.group("db"))
    for numbers, avoided in ((web, 1), (db, 0)):
        preferred, *possible = numbers.candidates
        spread = preferred - possible[-1]
        assert list(numbers.candidates) == sorted(numbers.candidates, reverse=True)
        assert len(set(numbers.candidates)) == len(numbers.candidates)
        # Any node without an avoided group beats any node with one, even the node the
        # group is on (an auto group's stickiness counts once per running member)...
        assert numbers.avoid_penalty > spread + 2 * db.stickiness
        # ...avoidance stays soft: still allowed with every avoided group on the node.
        assert possible[-1] - numbers.avoid_penalty * avoided > 0
    # Manual failback keeps a placed group against the best alternative...
    assert web.stickiness > web.candidates[0] - web.candidates[-1] + web.avoid_penalty
    # ...auto keeps it between possible nodes, counted once (the VIP alone) or twice (the
    # VIP and the application), and lets it go home either way.
    preferred, *possible = db.candidates
    assert possible[0] - possible[-1] < db.stickiness
    assert 2 * db.stickiness < preferred - possible[0]


def test_a_group_is_an_ipaddr2_vip_then_the_application_in_an_opt_in_cluster() -> None:
    root, _ = export(config_text(extra="restarts 2 within 1m\n  failback manual"))
    properties = {p.get("name"): p.get("value") for p in root.iterfind(".//crm_config//nvpair")}
    assert properties["symmetric-cluster"] == "false"
    group = root.find(".//group[@id='web']")
    assert group is not None
    members = [p.get("id") for p in group.iterfind("primitive")]
    assert members == ["web-vip", "web-app"]
    assert params(root, "web-vip") == {"ip": "10.0.0.5", "cidr_netmask": "24", "nic": "eth0"}
    app = params(root, "web-app")
    assert app["binfile"] == "/usr/bin/python3"
    assert app["cmdline_options"] == "-m http.server --bind 10.0.0.5 80"
    meta = {p.get("name"): p.get("value") for p in group.iterfind("meta_attributes/nvpair")}
    assert meta["migration-threshold"] == "3" and meta["failure-timeout"] == "60s"
    assert int(meta["resource-stickiness"]) > 0
    locations = {(c.get("rsc"), c.get("node")): c.get("score")
                 for c in root.iterfind(".//rsc_location")}
    # The possible nodes 100 apart; the preferred node's lead larger than an auto group's
    # stickiness (200, counted twice) can bridge.
    assert [int(locations["web", n]) for n in ("n1", "n2", "n3")] == [700, 200, 100]


@pytest.mark.parametrize(("app", "agent", "expected"), [
    ('    start "systemctl start nginx.service"', ("systemd", None, "nginx.service"), {}),
    ('    start "/usr/lib/ocf/resource.d/heartbeat/apache start"\n'
     '    env {\n      OCF_RESKEY_configfile = "/etc/apache2/apache2.conf"\n    }',
     ("ocf", "heartbeat", "apache"), {"configfile": "/etc/apache2/apache2.conf"}),
    ('    start "/etc/init.d/postfix start"', ("lsb", None, "postfix"), {}),
    ('    start "/srv/app --node {node} --group {group}"\n    env {\n      A = "1 2"\n    }\n'
     '    dir "/srv"',
     ("ocf", "heartbeat", "anything"),
     {"binfile": "/usr/bin/env", "cmdline_options": "'A=1 2' /srv/app --node "
      "'$(crm_node -n)' --group web", "workdir": "/srv"}),
    ('    start "exec /srv/app > /var/log/app.log"\n    shell', ("ocf", "heartbeat", "anything"),
     {"binfile": "/bin/sh", "cmdline_options": "-c 'exec /srv/app > /var/log/app.log'"}),
])
def test_the_application_becomes_the_agent_it_names(app: str, agent: tuple[Any, ...],
                                                    expected: dict[str, str]) -> None:
    root, _ = export(config_text(app=app))
    primitive = root.find(".//primitive[@id='web-app']")
    assert primitive is not None
    assert (primitive.get("class"), primitive.get("provider"), primitive.get("type")) == agent
    got = params(root, "web-app")
    assert {k: got[k] for k in expected} == expected


@pytest.mark.parametrize(("statement", "words"), [
    ('  hook command "/usr/local/bin/fan"', "hook command"),
    ('  alert webhook "https://alerts.example.net/"', "alert webhook"),
    ('  alert command "/usr/local/bin/page ops"', "arguments are dropped"),
    ("  kind instance", "instance group"),
    ('  monitor tcp "{vip}:80" fails 3', "tcp check"),
    ("  restarts 1 within 1m", "raises no blocked alert"),
])
def test_what_has_no_counterpart_is_a_warning_at_its_statement(
        statement: str, words: str, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "shop.crg"
    text = config_text(extra=statement.strip())
    path.write_text(text)
    line = next(i for i, t in enumerate(text.splitlines(), 1) if statement.strip() in t)
    assert main(["export", "pacemaker", str(path)]) == 0
    captured = capsys.readouterr()
    warnings = [w for w in captured.err.splitlines() if ": warning: " in w and words in w]
    assert warnings and warnings[0].startswith(f"{path}:{line}:"), captured.err
    assert words in captured.out.split("-->")[0]  # and named in the document itself


def test_an_alert_command_warning_names_every_alert_crg_sends_it() -> None:
    # It said "the last-node and blocked alerts" after the stranded alert had joined them.
    _, warnings = export(config_text(extra='alert command "/usr/local/bin/page"'))
    (warning,) = [w for w in warnings if "alert command" in w]
    named = {"alert": "last-node", "blocked": "blocked", "stranded": "stranded"}
    assert set(named) == ALERT_NOTIFICATIONS
    assert all(named[kind] in warning for kind in ALERT_NOTIFICATIONS), warning


def test_fencing_none_is_the_cluster_wide_policy_when_every_group_says_it() -> None:
    root, warnings = export(config_text(extra="fencing none"))
    properties = {p.get("name"): p.get("value") for p in root.iterfind(".//crm_config//nvpair")}
    assert properties["no-quorum-policy"] == "ignore"
    assert not any("fencing none" in w for w in warnings)
    mixed = config_text(extra="fencing none") + GROUP.replace("web", "db").format(
        app='    start "/bin/db"', extra="").replace("10.0.0.5", "10.0.0.6")
    root, warnings = export(mixed)
    properties = {p.get("name"): p.get("value") for p in root.iterfind(".//crm_config//nvpair")}
    assert properties["no-quorum-policy"] == "stop"
    assert any("fencing none has no per-resource counterpart" in w for w in warnings)


def test_the_app_stop_status_and_timing_that_do_not_map_are_named() -> None:
    _, warnings = export(config_text(
        app='    start "/srv/db"\n    stop "/srv/db stop"\n    status "/srv/db status"',
        cluster="  lease 4s\n  heartbeat 1s\n  store-timeout 1s\n"))
    joined = "\n".join(warnings)
    for words in ("stop command is not exported", "status command is not exported",
                  "corosync", "stonith-enabled=false"):
        assert words in joined


@pytest.mark.parametrize("argv", [
    ["export", "pacemaker", "/nonexistent.crg"],
    ["export", "pacemaker"],
    ["export", "heartbeat", "x.crg"],
])
def test_bad_input_exits_2_without_a_traceback(argv: list[str],
                                               capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    assert "Traceback" not in capsys.readouterr().err


def test_an_invalid_configuration_exits_2_with_its_diagnostics(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "bad.crg"
    path.write_text(config_text().replace("preferred n1", "preferred n9"))
    assert main(["export", "pacemaker", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"{path}:" in err and "n9" in err


def test_clashing_pacemaker_ids_are_bad_input(tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "clash.crg"
    text = config_text() + GROUP.replace("group web", "group web-vip").format(
        app='    start "/bin/x"', extra="").replace("10.0.0.5", "10.0.0.7")
    path.write_text(text)
    assert main(["export", "pacemaker", str(path)]) == 2
    assert "web-vip" in capsys.readouterr().err


@pytest.mark.parametrize(("other", "extra"), [
    ("web-meta", ""),  # the meta_attributes of web
    ("web-on-n1", ""),  # web's location on n1
    ("alert-1", 'alert command "/usr/local/bin/page"'),  # the first alert
    ("web-vip-instance_attributes", ""),  # web-vip's parameters
])
def test_every_id_of_the_exported_cib_is_unique(pacemaker: None, tmp_path: Path, other: str,
                                                extra: str) -> None:
    # The ids crg derives from a group's name could be another group's name: crm_verify
    # rejected the document, and the export had exited 0.
    text = config_text(extra=extra) + GROUP.replace("group web", f"group {other}").format(
        app='    start "/bin/x"', extra="").replace("10.0.0.5", "10.0.0.7")
    path, out = tmp_path / "shop.crg", tmp_path / "cib.xml"
    path.write_text(text)
    assert main(["export", "pacemaker", str(path), "-o", str(out)]) == 0
    ids = [e.get("id") for e in ET.parse(out).iter() if e.get("id") and e.tag != "node"]
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)
    assert ET.parse(out).find(f".//group[@id='{other}']") is not None  # named as in crg
    done = verify(out)
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")


def test_help_lists_the_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["export", "pacemaker", "--help"]) == 0
    assert "exit status:\n  0    " in capsys.readouterr().out


# -- the pcs script, run for real on a CIB file ------------------------------------------------


def _normalised(root: ET.Element) -> dict[str, Any]:
    """What a CIB configures, without ids and spellings that differ between writers."""
    def seconds(text: str | None) -> float:
        text = text or "0"
        return float(text[:-2]) / 1000 if text.endswith("ms") else float(text.rstrip("s"))

    resources = {}
    for group in root.iterfind(".//resources/group"):
        members = []
        for p in group.iterfind("primitive"):
            members.append((p.get("id"), p.get("class"), p.get("provider"), p.get("type"),
                            frozenset((n.get("name"), n.get("value"))
                                      for n in p.iterfind("instance_attributes/nvpair")),
                            frozenset((o.get("name"), seconds(o.get("interval")),
                                       seconds(o.get("timeout")))
                                      for o in p.iterfind("operations/op"))))
        meta = frozenset((n.get("name"), n.get("value"))
                         for n in group.iterfind("meta_attributes/nvpair"))
        resources[group.get("id")] = (tuple(members), meta)
    return {
        "properties": frozenset((n.get("name"), n.get("value"))
                                for n in root.iterfind(".//crm_config//nvpair")
                                if n.get("name") != "cluster-name"),
        "resources": resources,
        "locations": frozenset((c.get("rsc"), c.get("node"), c.get("score"))
                               for c in root.iterfind(".//rsc_location")),
        "colocations": frozenset((c.get("rsc"), c.get("with-rsc"), c.get("score"),
                                  c.get("influence"))
                                 for c in root.iterfind(".//rsc_colocation")),
        "alerts": frozenset(a.get("path") for a in root.iterfind(".//alerts/alert")),
    }


def _pcs_script(name: str, tmp_path: Path) -> tuple[Path, Path]:
    """``crg export --format pcs`` of example ``name``, and an empty CIB file to run it on."""
    script = tmp_path / "apply.sh"
    assert main(["export", "pacemaker", str(ROOT / "examples" / name), "--format", "pcs",
                 "-o", str(script)]) == 0
    cib = tmp_path / "cib.xml"
    cib.write_text(subprocess.run(["cibadmin", "--empty"], capture_output=True, text=True,
                                  check=True, timeout=30).stdout)
    return script, cib


@pytest.mark.slow
@pytest.mark.parametrize("name", ["anti-affinity.crg", "rac.crg"])
def test_the_pcs_script_builds_the_same_configuration(pacemaker: None, pcs: str, name: str,
                                                      tmp_path: Path) -> None:
    exported, _ = to_pacemaker(load(ROOT / "examples" / name))
    script, cib = _pcs_script(name, tmp_path)
    done = subprocess.run(["sh", str(script), "--cluster-properties", str(cib)],
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    assert verify(cib).returncode == 0
    assert _normalised(ET.parse(cib).getroot()) == _normalised(
        ET.fromstring(cib_xml(exported, [])))


@pytest.mark.slow
def test_the_pcs_script_leaves_the_cluster_properties_unless_asked(
        pacemaker: None, pcs: str, tmp_path: Path) -> None:
    # Without --cluster-properties an existing cluster's fencing and symmetry are left as
    # they are (they hold for its other resources too), and the script says so. (One
    # example is enough: that part of the script is the same for all, and pcs is slow.)
    script, cib = _pcs_script("anti-affinity.crg", tmp_path)
    done = subprocess.run(["sh", str(script), str(cib)], capture_output=True, text=True,
                          timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    assert "cluster properties left as they are" in done.stderr
    names = {p.get("name") for p in ET.parse(cib).getroot().iterfind(".//crm_config//nvpair")}
    assert not names & {"stonith-enabled", "symmetric-cluster", "no-quorum-policy"}, names
    assert ET.parse(cib).getroot().find(".//resources/group") is not None


def test_output_to_a_fifo_writes_into_it_and_leaves_it_a_fifo(tmp_path: Path) -> None:
    # -o /dev/stdout, /dev/null or a named pipe: the file was written beside the target and
    # renamed over it, so a device or a pipe became a regular file (as root, /dev/null).
    source, fifo = tmp_path / "shop.crg", tmp_path / "out.pipe"
    source.write_text(config_text())
    os.mkfifo(fifo)
    received: list[str] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_text()), daemon=True)
    reader.start()
    try:
        assert main(["export", "pacemaker", str(source), "-o", str(fifo)]) == 0
    finally:
        if reader.is_alive():  # nothing opened the pipe for writing: let the reader end
            fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
            os.close(fd)
        reader.join(10)
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)
    assert received and "<cib " in received[0]


def test_an_exec_check_s_node_placeholder_is_expanded_by_the_agent_s_eval(
        tmp_path: Path) -> None:
    # ocf:heartbeat:anything runs monitor_hook with eval "$OCF_RESKEY_monitor_hook": a
    # '$(crm_node -n)' in single quotes reached the check as those very characters.
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "crm_node").write_text("#!/bin/sh\necho n2\n")
    (fake / "crm_node").chmod(0o755)
    root, _ = export(config_text(extra='monitor exec "/bin/echo {node} --on={node} \'a b\'"'))
    hook = params(root, "web-app")["monitor_hook"]
    run = subprocess.run(["/bin/sh", "-c", 'eval "$OCF_RESKEY_monitor_hook"'],
                         env={"PATH": f"{fake}:/usr/bin:/bin", "OCF_RESKEY_monitor_hook": hook},
                         capture_output=True, text=True, timeout=30, check=True)
    assert run.stdout == "n2 --on=n2 a b\n"


ANYTHING = Path("/usr/lib/ocf/resource.d/heartbeat/anything")


@pytest.mark.skipif(os.geteuid() != 0 or not ANYTHING.exists(),
                    reason="needs root (the agent starts the command with su) and "
                           "resource-agents' ocf:heartbeat:anything")
def test_the_real_agent_starts_the_exported_command_with_its_arguments(
        tmp_path: Path) -> None:
    # An outside tester's finding: an argument holding a single quote ("it's") was quoted
    # '"'"', whose double quote ended the agent's su -c "...", and the start failed
    # ("eval: Syntax error: Unterminated quoted string") without a word from the export.
    dump, out = tmp_path / "argdump.py", tmp_path / "args.json"
    dump.write_text("import json, os, sys, time\n"
                    f"open({str(out)!r} + '.new', 'w').write(json.dumps(sys.argv[1:]))\n"
                    f"os.rename({str(out)!r} + '.new', {str(out)!r})\n"
                    "time.sleep(60)\n")
    args = ["it's", "a b", "--x={node}", "*", "semi;colon", "'quoted'", "amp&"]
    start = shlex.join([sys.executable, str(dump), *args])
    literal = start.replace("\\", "\\\\").replace('"', '\\"')
    root, warnings = export(config_text(app=f'    start "{literal}"'))
    assert not any("eval" in w or "blanks" in w for w in warnings), warnings
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "OCF_ROOT": "/usr/lib/ocf",
           "OCF_RESOURCE_INSTANCE": "web-app", "OCF_RESKEY_pidfile": str(tmp_path / "pid"),
           **{f"OCF_RESKEY_{k}": v for k, v in params(root, "web-app").items()}}
    try:
        started = subprocess.run([str(ANYTHING), "start"], env=env, capture_output=True,
                                 text=True, timeout=60, check=False)
        assert started.returncode == 0, started.stderr
        deadline = time.monotonic() + 30  # the agent starts it in the background
        while not out.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        subprocess.run([str(ANYTHING), "stop"], env=env, capture_output=True, timeout=60,
                       check=False)
    node = subprocess.run(["crm_node", "-n"], capture_output=True, text=True, timeout=30,
                          check=False).stdout.strip()
    assert json.loads(out.read_text()) == [*args[:2], f"--x={node}", *args[3:]]


def test_blanks_the_agent_would_squeeze_are_named() -> None:
    # The agent expands its command unquoted before its eval: 'a  b' reaches the
    # application as 'a b'.
    _, warnings = export(config_text(app='    start "/opt/app/run \'a  b\'"'))
    assert any("an argument with two blanks in a row" in w for w in warnings), warnings
    _, warnings = export(config_text(app='    start "/opt/app/run \'a b\'"'))
    assert not any("blanks" in w for w in warnings), warnings


def test_a_binfile_or_workdir_the_agent_s_shell_would_split_is_named() -> None:
    # ocf:heartbeat:anything starts su -c "cd $workdir; nohup $binfile $cmdline_options":
    # '/srv/my app' became cd /srv/my app, and the application ran in root's home, without
    # a word from the export.
    _, warnings = export(config_text(app='    start "\'/opt/my app/run\' --x"\n'
                                         '    dir "/srv/my app"'))
    assert ("ocf:heartbeat:anything puts its binfile unquoted into a shell command line: "
            "'/opt/my app/run' would be split or interpreted there") in warnings[0]
    assert any("its workdir unquoted" in w and "'/srv/my app'" in w for w in warnings)
    _, warnings = export(config_text(app='    start "/opt/app/run --x"\n    dir "/srv/app"'))
    assert not any("unquoted" in w for w in warnings)


def test_the_header_comments_hold_any_file_and_cluster_name(tmp_path: Path) -> None:
    # "--" in a file's or cluster's name (a--b is a crg name) made the CIB's comment invalid
    # XML, which crg's own import refused; a line break in a file's name ended the pcs
    # script's comment and made the rest of the name a command.
    path = tmp_path / "my--shop---x\ntouch PWNED\n.crg"
    path.write_text(config_text().replace("cluster shop", "cluster a--b"))
    cib, script = tmp_path / "out.xml", tmp_path / "out.sh"
    assert main(["export", "pacemaker", str(path), "-o", str(cib)]) == 0
    assert main(["export", "pacemaker", str(path), "--format", "pcs", "-o", str(script)]) == 0
    assert main(["import", "pacemaker", str(cib), "-o", str(tmp_path / "back.crg")]) == 0
    assert load(tmp_path / "back.crg").cluster.name == "a--b"
    assert not any(line.startswith(("touch", ".crg")) for line in script.read_text().splitlines())


def test_a_control_character_a_cib_cannot_hold_is_bad_input(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # It was written into the CIB as it was: invalid XML that crg import refused, and that
    # pcs resource create refuses with a traceback (lxml: "All strings must be XML
    # compatible").
    path = tmp_path / "shop.crg"
    path.write_text(config_text(app='    start "/bin/printf \x1b[1mbold"'))
    assert main(["export", "pacemaker", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"{path}:7:3: error: group web's web-app cmdline_options holds the control " \
           "character U+001B, which a CIB cannot hold" in err


@pytest.mark.parametrize("through", ["itself", "a link"])
def test_the_output_may_not_be_the_configuration(tmp_path: Path, through: str,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    """``crg export pacemaker -o web.crg web.crg`` wrote the CIB over the configuration
    it was made from, and exited 0."""
    source = tmp_path / "web.crg"
    source.write_text(config_text())
    output = source
    if through == "a link":
        output = tmp_path / "link.xml"
        output.symlink_to(source)
    assert main(["export", "pacemaker", "-o", str(output), str(source)]) == 2
    assert source.read_text() == config_text()
    assert (f"crg: error: cannot write '{output}': it is the input file {source}: it would "
            "be replaced by the output; choose another -o") in capsys.readouterr().err


@pytest.mark.parametrize("argv", [["export", "pacemaker"], ["import", "keepalived"]])
def test_output_dash_is_standard_output(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                        capsys: pytest.CaptureFixture[str],
                                        argv: list[str]) -> None:
    """``-o -`` wrote a file named ``-`` (where ``-`` is standard input for every file
    crg reads)."""
    monkeypatch.chdir(tmp_path)
    source = ROOT / "examples" / "quickstart.crg" if argv[0] == "export" else (
        Path(__file__).parent / "data" / "keepalived-lb1.conf")
    assert main([*argv, "-o", "-", str(source)]) == 0
    assert capsys.readouterr().out.startswith("<cib " if argv[0] == "export" else "# Imported")
    assert not (tmp_path / "-").exists()


# -- an outside tester's findings --------------------------------------------------------------


def overflow_config(nodes: int = 10, groups: int = 220) -> str:
    """The tester's generator: ``g0`` avoids every other group, each on every node."""
    names = [f"n{i}" for i in range(1, nodes + 1)]
    lines = [f"cluster big {{\n  nodes {' '.join(names)}\n}}",
             'defaults {\n  app { start "sleep 1000" }\n  monitor process\n}']
    for g in range(groups):
        preferred = names[g % nodes]
        possible = [n for n in names if n != preferred]
        lines.append(f"group g{g} {{\n  vip 10.{g // 250}.{g % 250}.1/8\n  preferred "
                     f"{preferred}\n  possible {', '.join(possible)}")
        if g == 0:
            lines.append("  avoid " + ", ".join(f"g{k}" for k in range(1, groups)))
        lines.append("}")
    return "\n".join(lines) + "\n"


def test_scores_that_would_reach_infinity_are_compressed(pacemaker: None,
                                                         tmp_path: Path) -> None:
    """10 nodes, g0 avoiding 219 groups: every g0-on-* location was INFINITY (the order of
    the candidates gone, and INFINITY absorbed the avoid penalties); crm_verify took it."""
    path, out = tmp_path / "ov.crg", tmp_path / "ov.xml"
    path.write_text(overflow_config())
    assert main(["export", "pacemaker", str(path), "-o", str(out)]) == 0
    done = verify(out)
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")
    root = ET.parse(out).getroot()
    located = [int(c.get("score", "")) for c in root.iterfind(".//rsc_location[@rsc='g0']")]
    assert [c.get("node") for c in root.iterfind(".//rsc_location[@rsc='g0']")] == [
        f"n{i}" for i in range(1, 11)]
    assert located == sorted(located, reverse=True) and len(set(located)) == 10
    penalties = [-int(c.get("score", "")) for c in root.iterfind(".//rsc_colocation[@rsc='g0']")]
    assert len(penalties) == 219 and penalties[0] > 0
    (stickiness,) = [int(p.get("value", "")) for p in root.iterfind(
        ".//group[@id='g0']/meta_attributes/nvpair[@name='resource-stickiness']")]
    # The largest sum Pacemaker makes stays below INFINITY, and the lowest candidate stays
    # allowed with every avoided group on it (avoid is soft).
    assert located[0] + 2 * stickiness < 1_000_000
    assert located[-1] - sum(penalties) > 0
    # An avoided group beats the whole spread and the stickiness of an auto group
    assert penalties[0] > located[0] - located[-1]
    # The other groups keep the usual step of 100.
    g1 = [int(c.get("score", "")) for c in root.iterfind(".//rsc_location[@rsc='g1']")]
    assert g1[1] - g1[2] == 100


def test_scores_no_step_can_keep_below_infinity_are_an_error(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    # A smaller INFINITY stands for a group too large for steps of 1.
    monkeypatch.setattr("crg.bridges.to_pacemaker.INFINITY", 4_000)
    path = tmp_path / "ov.crg"
    path.write_text(overflow_config(nodes=10, groups=30))
    assert main(["export", "pacemaker", str(path), "-o", str(tmp_path / "ov.xml")]) == 2
    err = capsys.readouterr().err
    assert f"{path}:12:3: error: group g0: with 10 candidates and 29 avoided groups its " \
           "Pacemaker scores would reach INFINITY" in err, err
    assert "Traceback" not in err and not (tmp_path / "ov.xml").exists()


def test_an_alert_path_is_split_as_crg_runs_it() -> None:
    """``'/opt/my alerts/page.sh' --urgent`` became ``path="'/opt/my"``."""
    root, warnings = export(config_text(
        extra="alert command \"'/opt/my alerts/page.sh' --urgent\""))
    (alert,) = root.iterfind(".//alert")
    assert alert.get("path") == "/opt/my alerts/page.sh"
    (warning,) = [w for w in warnings if "alert command" in w]
    assert ("Pacemaker runs the path '/opt/my alerts/page.sh' alone, so the arguments are "
            "dropped (--urgent;") in warning


@pytest.mark.parametrize(("app", "words"), [
    ('    start "systemctl start foo"\n    status "systemctl is-active baz"',
     "systemd:foo checks the application itself; this status command is not exported"),
    ('    start "/usr/lib/ocf/resource.d/heartbeat/pgsql start"\n'
     '    env {\n      OCF_ROOT = "/opt/ocf"\n    }',
     "env OCF_ROOT=/opt/ocf has no counterpart and is not exported"),
    ('    start "/usr/lib/ocf/resource.d/heartbeat/pgsql start"\n'
     '    env {\n      OCF_RESOURCE_INSTANCE = "pg"\n    }',
     "Pacemaker sets OCF_RESOURCE_INSTANCE to the resource's id, web-app"),
])
def test_app_items_an_agent_has_no_place_for_are_named(app: str, words: str) -> None:
    _, warnings = export(config_text(app=app))
    assert any(words in w for w in warnings), warnings


def test_a_status_of_the_unit_itself_is_not_named() -> None:
    _, warnings = export(config_text(app='    start "systemctl start foo"\n'
                                         '    status "systemctl is-active --quiet foo"'))
    assert not any("status command" in w for w in warnings), warnings


def test_output_that_replaces_a_file_says_so(tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    source, out = tmp_path / "web.crg", tmp_path / "web.xml"
    source.write_text(config_text())
    assert main(["export", "pacemaker", str(source), "-o", str(out)]) == 0
    assert capsys.readouterr().err.splitlines()[-1].startswith(f"wrote {out} (")
    assert main(["export", "pacemaker", str(source), "-o", str(out)]) == 0
    assert capsys.readouterr().err.splitlines()[-1].startswith(f"replaced {out} (")


@pytest.mark.parametrize("argv", [["export", "pacemaker", "web.crg"],
                                  ["import", "pacemaker", "cib.xml"],
                                  ["import", "keepalived", "lb1.conf"]])
def test_an_empty_output_name_is_a_usage_error(argv: list[str],
                                               capsys: pytest.CaptureFixture[str]) -> None:
    """``-o ''`` wrote to standard output without a word."""
    assert main([*argv, "-o", ""]) == 2
    captured = capsys.readouterr()
    assert "argument -o/--output: an empty file name" in captured.err
    assert captured.out == "" and "Traceback" not in captured.err
