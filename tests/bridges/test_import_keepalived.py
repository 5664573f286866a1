"""``crg import keepalived``: a pair of keepalived.conf files with two VRRP instances."""

from __future__ import annotations

from pathlib import Path

import pytest

from crg.bridges.keepalived_syntax import parse_keepalived
from crg.cli import main
from crg.dsl import ConfigError, Source, load
from crg.spec.present.simulation import ALERT_NOTIFICATIONS

DATA = Path(__file__).parent / "data"
LB1, LB2 = DATA / "keepalived-lb1.conf", DATA / "keepalived-lb2.conf"


def imported(tmp_path: Path, *paths: Path) -> tuple[Path, str]:
    out = tmp_path / "lb.crg"
    return out, str(main(["import", "keepalived", *map(str, paths), "-o", str(out)]))


def test_two_nodes_two_instances_import_and_check(tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    out, code = imported(tmp_path, LB1, LB2)
    assert code == "0"
    err = capsys.readouterr().err
    config = load(out)
    assert config.cluster.nodes == ("lb1", "lb2")
    web, api = config.groups
    assert (web.name, web.candidates, web.failback.value) == ("VI_WEB", ("lb1", "lb2"), "auto")
    assert (api.name, api.candidates, api.failback.value) == ("VI_API", ("lb2", "lb1"), "manual")
    assert str(web.vip) == "192.0.2.100/24" and web.vip.device == "eth0"
    assert api.vip.device == "eth0"  # the instance's interface
    (check,) = web.monitors
    assert (check.kind.value, check.target) == ("exec", "/usr/bin/killall -0 haproxy")
    assert (check.interval_ms, check.timeout_ms, check.fails) == (2000, 1000, 3)
    assert web.restarts == 0
    assert [s.target for s in web.alerts] == ["/etc/keepalived/page-oncall.sh"]
    # Every unmapped statement is named at its line, and commented in the .crg.
    assert f"{LB1}:35:5: warning: notify_master" in err
    assert f"{LB2}:22:5: warning: authentication" in err
    assert "# notify_master (on lb1)" in out.read_text()
    assert main(["check", str(out)]) == 0


def test_one_file_assumes_mirrored_peers(tmp_path: Path) -> None:
    out, code = imported(tmp_path, LB1)
    assert code == "0"
    config = load(out)
    assert config.cluster.nodes == ("lb1", "peer-192.0.2.12")
    web, api = config.groups
    assert web.candidates == ("lb1", "peer-192.0.2.12")  # MASTER here
    assert api.candidates == ("peer-192.0.2.12", "lb1")  # BACKUP here
    assert "assumed to mirror it" in out.read_text()


@pytest.mark.parametrize(("text", "where", "words"), [
    ("vrrp_instance VI_1 {\n  state MASTER\n", "1:1", "never closed"),
    ("vrrp_instance VI_1 {\n}\n}\n", "3:1", "closes no block"),
    ('vrrp_script chk {\n  script "/bin/true\n}\n', "2:10", "not closed"),
    ("vrrp_instance VI_1 {\n  priority high\n  virtual_ipaddress {\n    10.0.0.1\n  }\n}\n",
     "2:12", "whole number"),
    ("vrrp_instance VI_1 {\n  priority 0\n  virtual_ipaddress {\n    10.0.0.1\n  }\n}\n",
     "2:12", "from 1 to 255"),
    ("vrrp_instance VI_1 {\n  priority 300\n  virtual_ipaddress {\n    10.0.0.1\n  }\n}\n",
     "2:12", "from 1 to 255"),
    ("vrrp_instance VI_1 {\n  virtual_ipaddress {\n    10.0.0.1%eth0/24\n  }\n}\n", "3:5",
     "not an IP address"),
    ("vrrp_instance VI_1 {\n  virtual_ipaddress {\n    10.0.0.300/24\n  }\n}\n", "3:5",
     "not an IP address"),
    ("vrrp_instance VI_1 {\n  virtual_ipaddress {\n    10.0.0.1\n  }\n  track_script {\n"
     "    chk_missing\n  }\n}\n", "5:3", "chk_missing"),
    ("vrrp_instance VI_1 {\n  state MASTER\n}\n", "1:1", "no virtual_ipaddress"),
    ("global_defs {\n  router_id lb1\n}\n", "3:2", "no vrrp_instance"),
    ("", "1:1", "no vrrp_instance"),
    ("# all of it commented out\n! vrrp_instance VI_1 {\n\n", "2:23", "no vrrp_instance"),
    # keepalived's parameters: read as written they made an interface named ${IFACE}
    ("$IFACE=eth0\nvrrp_instance VI_1 {\n  interface ${IFACE}\n  virtual_ipaddress {\n"
     "    10.0.0.1\n  }\n}\n", "1:1", "'$IFACE=...': keepalived's parameter substitution "
     "is not supported"),
    ("vrrp_instance VI_1 {\n  virtual_ipaddress {\n    10.0.0.1\n  }\n}\n  $VIP=10.0.0.2\n",
     "6:3", "with $VIP and ${VIP} written out"),
])
def test_bad_input_is_an_error_at_its_line(tmp_path: Path, text: str, where: str, words: str,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "keepalived.conf"
    path.write_text(text)
    assert main(["import", "keepalived", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"{path}:{where}: error: " in err and words in err, err
    assert "Traceback" not in err


def test_a_file_without_an_instance_says_where_and_what_one_looks_like(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # The error came without a position ("lb1.conf: error: no vrrp_instance to import"),
    # where every other one has its file:line:col, and without a word of what was missing.
    path = tmp_path / "lb1.conf"
    path.write_text("global_defs {\n  router_id lb1\n}\n\n")
    assert main(["import", "keepalived", str(path)]) == 2
    assert capsys.readouterr().err == (
        f"{path}:3:2: error: no vrrp_instance to import\n"
        " 3 | }\n"
        "   |  ^\n"
        "   = hint: crg imports each 'vrrp_instance NAME { ... }' block as a group, with at "
        "least 'virtual_ipaddress { ADDRESS/PREFIX }' inside, one statement a line\n"
        "\n"
        f"{path}: 1 error\n")
    # Several files: the end of the last one. An include is followed now: the hint told
    # the operator to give the included files instead, and each became a node.
    other = tmp_path / "lb2.conf"
    other.write_text("include conf.d/*.conf\n")
    assert main(["import", "keepalived", str(path), str(other)]) == 2
    err = capsys.readouterr().err
    assert f"{other}:1:1: warning: include conf.d/*.conf: no file matches" in err, err
    assert f"{other}:1:22: error: no vrrp_instance to import in any of the 2 files" in err
    assert "give the included files to crg import" not in err, err


def test_two_empty_files_of_one_name_are_refused_at_a_position(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first, second = tmp_path / "a" / "lb.conf", tmp_path / "b" / "lb.conf"
    first.write_text("")
    second.write_text("")
    assert main(["import", "keepalived", str(first), str(second)]) == 2
    assert f"{second}:1:1: error: two files name the node 'lb'" in capsys.readouterr().err


def test_two_files_for_one_node_are_refused(tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["import", "keepalived", str(LB1), str(LB1)]) == 2
    assert "two files name the node 'lb1'" in capsys.readouterr().err


def test_the_tokenizer_keeps_positions_braces_quotes_and_comments() -> None:
    document = parse_keepalived(Source("k.conf", 'a {  # c\n b "x y" ! d\n c{d}\n}\n'))
    (a,) = document.statements
    assert a.children is not None
    assert [(s.name, s.words, s.span.line, s.span.column) for s in a.children] == [
        ("b", ["x y"], 2, 2), ("c", [], 3, 2)]
    c = a.children[1]
    assert c.children is not None and [s.name for s in c.children] == ["d"]


def test_a_block_opened_on_the_next_line() -> None:
    document = parse_keepalived(Source("k.conf", "vrrp_instance V\n{\n  state MASTER\n}\n"))
    (instance,) = document.statements
    assert instance.words == ["V"] and instance.find("state") is not None


def test_an_import_that_crg_rejects_points_into_the_written_file(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "keepalived.conf"
    # Two instances on one address: keepalived takes it, crg does not.
    path.write_text("vrrp_instance A {\n  virtual_ipaddress {\n    10.0.0.1/24\n  }\n}\n"
                    "vrrp_instance B {\n  virtual_ipaddress {\n    10.0.0.1/24\n  }\n}\n")
    out = tmp_path / "x.crg"
    assert main(["import", "keepalived", str(path), "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert f"{out}:" in err and "does not validate" in err
    with pytest.raises(ConfigError):
        load(out)


def test_what_another_node_says_differently_is_named(tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    # The group was read from the first file alone: lb2's own address, interface, check and
    # notify_fault for the same instance were dropped without a word.
    lb2 = tmp_path / "lb2.conf"
    lb2.write_text(LB2.read_text().replace("192.0.2.100/24 dev eth0", "192.0.2.199/24 dev eth1")
                   .replace('killall -0 haproxy"', 'killall -0 nginx"')
                   .replace("page-oncall.sh", "page-other.sh"))
    out, code = imported(tmp_path, LB1, lb2)
    assert code == "0"
    err = capsys.readouterr().err
    assert (f"{lb2}:16:1: warning: vrrp_instance VI_WEB on lb2: its virtual address "
            "(vip 192.0.2.199/24 dev eth1) differs from lb1's (vip 192.0.2.100/24 dev eth0)"
            in err)
    assert f"{lb2}:16:1: warning: vrrp_instance VI_WEB on lb2: its checks" in err
    assert "killall -0 nginx" in err
    assert (f"{lb2}:36:5: warning: notify_fault (on lb2) /etc/keepalived/page-other.sh: "
            "differs" in err)
    # VI_API has the same address in both files: nothing to say about it.
    assert "VI_API on lb2: its virtual address" not in err
    text = out.read_text()
    assert "192.0.2.199" in text and "page-other.sh" in text  # in comments
    web = load(out).groups[0]
    assert str(web.vip) == "192.0.2.100/24"


def test_notify_fault_names_every_alert_the_command_will_get(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # It said "the last-node and blocked alerts" after the stranded alert (no node of the
    # list left) had joined them: the command gets that one too.
    _, code = imported(tmp_path, LB1)
    assert code == "0"
    (warning,) = [w for w in capsys.readouterr().err.splitlines()
                  if "warning: notify_fault: becomes an alert command" in w]
    named = {"alert": "last-node", "blocked": "blocked", "stranded": "stranded"}
    assert set(named) == ALERT_NOTIFICATIONS
    assert all(named[kind] in warning for kind in ALERT_NOTIFICATIONS), warning


def test_an_instance_defined_twice_in_one_file_is_refused(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # The second one was dropped without a word ("everything mapped").
    path = tmp_path / "keepalived.conf"
    path.write_text("vrrp_instance VI_1 {\n  virtual_ipaddress {\n    10.0.0.1/24\n  }\n}\n"
                    "vrrp_instance VI_1 {\n  virtual_ipaddress {\n    10.0.0.2/24\n  }\n}\n")
    assert main(["import", "keepalived", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"{path}:6:1: error: vrrp_instance VI_1 is defined twice in this file" in err


def test_what_a_vrrp_script_says_that_crg_cannot_is_named(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # rise and user were dropped without a word, a timeout longer than the interval was cut
    # to the interval, a weight given in track_script was ignored, and interval 0.5 became 1s.
    path = tmp_path / "keepalived.conf"
    path.write_text('vrrp_script chk {\n  script "/bin/chk"\n  interval 0.5\n  timeout 3\n'
                    "  rise 2\n  user nobody\n}\n"
                    "vrrp_instance V {\n  virtual_ipaddress {\n    10.0.0.1/24\n  }\n"
                    "  track_script {\n    chk weight -20\n  }\n}\n")
    out = tmp_path / "k.crg"
    assert main(["import", "keepalived", str(path), "-o", str(out)]) == 0
    err = capsys.readouterr().err
    assert f"{path}:4:3: warning: vrrp_script chk: timeout 3s is longer than its interval" in err
    assert f"{path}:5:3: warning: vrrp_script chk: rise has no counterpart" in err
    assert f"{path}:6:3: warning: vrrp_script chk: user has no counterpart" in err
    assert f"{path}:13:5: warning: track_script chk weight -20: a weight changes" in err
    (check,) = load(out).groups[0].monitors
    assert (check.interval_ms, check.timeout_ms) == (500, 500)


def test_settings_on_a_script_s_line_are_named_as_its_arguments(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # vrrp_script on one line: keepalived's script takes the rest of its line, so the
    # settings are the script's arguments and the defaults apply; crg read it so without a
    # word, and an outside tester took it for a misreading.
    path = tmp_path / "keepalived.conf"
    path.write_text('vrrp_script chk { script "/bin/chk" interval 2 fall 2 }\n'
                    "vrrp_instance V {\n  virtual_ipaddress {\n    10.0.0.1/24\n  }\n"
                    "  track_script {\n    chk\n  }\n}\n")
    out = tmp_path / "k.crg"
    assert main(["import", "keepalived", str(path), "-o", str(out)]) == 0
    assert (f"{path}:1:19: warning: vrrp_script chk: the script's line goes on with "
            "'interval 2 fall 2', which keepalived reads as the script's arguments"
            ) in capsys.readouterr().err
    (check,) = load(out).groups[0].monitors
    assert (check.target, check.interval_ms, check.fails) == ("/bin/chk interval 2 fall 2",
                                                              1000, 1)


def test_an_ipv6_zone_is_the_vip_s_interface(tmp_path: Path) -> None:
    # ipaddress drops a zone given with a prefix: fe80::1%eth0/64 became fe80::1/64 on the
    # instance's interface, eth1.
    path = tmp_path / "keepalived.conf"
    path.write_text("vrrp_instance V {\n  interface eth1\n  virtual_ipaddress {\n"
                    "    fe80::1%eth0/64\n  }\n}\n")
    out = tmp_path / "k.crg"
    assert main(["import", "keepalived", str(path), "-o", str(out)]) == 0
    (group,) = load(out).groups
    assert (str(group.vip), group.vip.device) == ("fe80::1/64", "eth0")


def test_a_rejected_import_to_standard_output_says_where_it_went(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
        ) -> None:
    # "fix keepalived.crg where shown" named a file that was never written.
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "keepalived.conf"
    path.write_text("vrrp_instance A {\n  virtual_ipaddress {\n    10.0.0.1/24\n  }\n}\n"
                    "vrrp_instance B {\n  virtual_ipaddress {\n    10.0.0.1/24\n  }\n}\n")
    assert main(["import", "keepalived", str(path)]) == 2
    err = capsys.readouterr().err
    assert ("the imported configuration, written to standard output, does not validate; "
            "save it as keepalived.crg and fix it where shown") in err
    assert not (tmp_path / "keepalived.crg").exists()


def test_when_nothing_imports_the_warnings_say_why(tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    # A file whose instances are all in included files: the error came alone, without
    # the warning that the include is not followed. (Now followed: one that matches no
    # file is what says why.)
    path = tmp_path / "keepalived.conf"
    path.write_text(f"global_defs {{\n  router_id lb1\n}}\ninclude {tmp_path}/conf.d/*.conf\n")
    assert main(["import", "keepalived", str(path)]) == 2
    err = capsys.readouterr().err
    assert (f"{path}:4:1: warning: include {tmp_path}/conf.d/*.conf: no file matches "
            f"{tmp_path}/conf.d/*.conf (an absolute pattern is looked up on this machine, "
            "not on the node the file came from)") in err, err
    assert err.index("warning: include") < err.index("error: no vrrp_instance to import")


def test_a_hash_or_bang_inside_a_word_does_not_start_a_comment() -> None:
    # keepalived starts a comment only where a word starts: 'script /bin/chk --id=a#1'
    # was read as 'script /bin/chk --id=a', the rest dropped without a word.
    document = parse_keepalived(Source("k.conf", "vrrp_script c {\n  script /bin/chk "
                                                  "--id=a#1 x!y # a comment\n}\n"))
    (script,) = document.statements
    entry = script.find("script")
    assert entry is not None and entry.words == ["/bin/chk", "--id=a#1", "x!y"]


def test_a_name_that_is_not_a_crg_name_is_renamed_with_a_warning(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # router_id lb1@dc1 and vrrp_instance VI:WEB became lb1_dc1 and VI_WEB without a word
    # (an outside tester's finding)
    lb1, lb2 = tmp_path / "lb1.conf", tmp_path / "lb2.conf"
    lb1.write_text(LB1.read_text().replace("router_id lb1", "router_id lb1@dc1")
                   .replace("vrrp_instance VI_WEB", "vrrp_instance VI:WEB"))
    lb2.write_text(LB2.read_text().replace("vrrp_instance VI_WEB", "vrrp_instance VI:WEB"))
    out, code = imported(tmp_path, lb1, lb2)
    assert code == "0"
    err = capsys.readouterr().err
    assert "warning: router_id 'lb1@dc1': node renamed lb1_dc1 (not a crg name as it was)" \
        in err
    assert "warning: vrrp_instance VI:WEB: renamed VI_WEB (not a crg name as it was)" in err
    config = load(out)
    assert "lb1_dc1" in config.cluster.nodes and config.groups[0].name == "VI_WEB"


def test_a_script_tracked_twice_is_one_monitor(tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    # it became two monitors running the same check (an outside tester's finding)
    lb1 = tmp_path / "lb1.conf"
    lb1.write_text(LB1.read_text().replace("        chk_haproxy\n",
                                           "        chk_haproxy\n        chk_haproxy\n", 1))
    out, code = imported(tmp_path, lb1, LB2)
    assert code == "0"
    assert "warning: track_script lists chk_haproxy again; imported once" in \
        capsys.readouterr().err
    assert len(load(out).groups[0].monitors) == 1


def test_what_was_not_imported_before_an_error_is_said_with_it(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # The error came alone: the warnings said before it, in this file or an earlier one,
    # were met only on the next run, once it was fixed. They come first, then the error.
    first, second = tmp_path / "lb1.conf", tmp_path / "lb2.conf"
    first.write_text("global_defs {\n  router_id lb1\n  script_user root\n}\n"
                     "vrrp_instance VI_1 {\n  virtual_ipaddress {\n    10.0.0.1/24\n  }\n}\n")
    second.write_text("global_defs {\n  router_id lb2\n  enable_script_security\n}\n"
                      "vrrp_instance VI_1 {\n  virtual_ipaddress {\n    10.0.0.300/24\n"
                      "  }\n}\n")
    assert main(["import", "keepalived", str(first), str(second),
                 "-o", str(tmp_path / "x.crg")]) == 2
    err = capsys.readouterr().err
    said = [err.index(f"{first}:3:3: warning: global_defs script_user"),
            err.index(f"{second}:3:3: warning: global_defs enable_script_security"),
            err.index(f"{second}:7:5: error: '10.0.0.300/24' is not an IP address")]
    assert said == sorted(said), err
    assert "Traceback" not in err
    # A file that does not parse comes after what was said about the files before it.
    first.write_text(first.read_text().replace("router_id lb1", "router_id lb1@dc1"))
    second.write_text("vrrp_instance VI_1 {\n")
    assert main(["import", "keepalived", str(first), str(second)]) == 2
    err = capsys.readouterr().err
    assert (err.index(f"{first}:2:3: warning: router_id 'lb1@dc1': node renamed lb1_dc1")
            < err.index(f"{second}:1:1: error:")), err


def test_the_output_may_not_be_one_of_the_files(tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    """``crg import keepalived -o lb2.conf lb1.conf lb2.conf`` wrote the .crg over lb2's
    configuration."""
    data = DATA
    lb1, lb2 = tmp_path / "lb1.conf", tmp_path / "lb2.conf"
    lb1.write_bytes((data / "keepalived-lb1.conf").read_bytes())
    lb2.write_bytes((data / "keepalived-lb2.conf").read_bytes())
    assert main(["import", "keepalived", "-o", str(lb2), str(lb1), str(lb2)]) == 2
    assert lb2.read_bytes() == (data / "keepalived-lb2.conf").read_bytes()
    assert f"cannot write '{lb2}': it is the input file {lb2}" in capsys.readouterr().err


@pytest.mark.parametrize("authentication", [
    "authentication { auth_type PASS auth_pass s3cr3tpw }",
    "authentication {\n    auth_type PASS\n    auth_pass s3cr3tpw\n  }\n"
    "  garp_master_delay 2 auth_pass s3cr3tpw",
])
def test_the_vrrp_password_is_never_shown(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                          authentication: str) -> None:
    # A warning quotes its line: an authentication block written on one line put the
    # password on the terminal.
    path = tmp_path / "lb.conf"
    path.write_text("vrrp_instance VI_1 {\n  state MASTER\n  " + authentication + "\n"
                    "  virtual_ipaddress {\n    192.0.2.10/24\n  }\n}\nauth_pass s3cr3tpw\n")
    out, code = imported(tmp_path, path)
    assert code == "0"
    err = capsys.readouterr().err
    assert "warning: authentication" in err and "auth_pass ********" in err, err
    assert "s3cr3tpw" not in err + out.read_text()


def test_an_error_does_not_show_the_vrrp_password(tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "lb.conf"
    path.write_text('vrrp_instance VI_1 { auth_pass "s3cr3t\n')
    assert main(["import", "keepalived", str(path)]) == 2
    err = capsys.readouterr().err
    assert "not closed" in err and "s3cr3t" not in err, err


def test_a_line_for_one_config_id_is_refused(tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    # '@high priority 170' (for keepalived -i high) was a statement named '@high': the
    # priority stayed 100 without a word, and '@high script ...' gave a vrrp_script "has no
    # script".
    path = tmp_path / "lb.conf"
    path.write_text("vrrp_instance VI_1 {\n  state MASTER\n@high  priority 170\n"
                    "@^high priority 85\n  virtual_ipaddress {\n    192.0.2.10/24\n  }\n}\n")
    assert main(["import", "keepalived", str(path)]) == 2
    err = capsys.readouterr().err
    assert (f"{path}:3:1: error: '@high': a line for keepalived -i high only (conditional "
            "configuration) is not supported") in err, err
    assert "hint: import each node's configuration as keepalived reads it" in err


def test_a_comment_in_latin_1_is_read_as_keepalived_reads_it(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """keepalived reads bytes, so a comment typed in Latin-1 is legal there; the import
    refused the whole file as "not valid UTF-8"."""
    text = LB1.read_bytes().replace(b"vrrp_instance VI_WEB {",
                                    b"# Gr\xf6\xdfe der Webgruppe\nvrrp_instance VI_WEB {", 1)
    assert text != LB1.read_bytes()
    latin = tmp_path / "lb1.conf"
    latin.write_bytes(text)
    out, code = imported(tmp_path, latin, LB2)
    assert code == "0"
    offset = text.index(b"\xf6")
    line = text[:offset].count(b"\n") + 1
    assert (f"{latin}:{line}:5: warning: not UTF-8 (byte 0xf6 at offset {offset}: invalid "
            "start byte): read as Latin-1 (ISO 8859-1)"
            in capsys.readouterr().err)
    assert [g.name for g in load(out).groups] == ["VI_WEB", "VI_API"]


@pytest.mark.parametrize(("data", "where", "byte"), [
    # UTF-8 before the bad byte on its line: read as Latin-1, each of its bytes is a
    # character of the line shown, and the column counts them (it counted characters of
    # UTF-8, and the caret stood two columns short of the byte).
    (b"global_defs {\n  router_id lb1 # Gr\xc3\xb6\xc3\x9fe \xf6\n}\n", "2:27",
     "byte 0xf6 at offset 40: invalid start byte"),
    # The offset is the file's, byte order mark and all; the columns are the text's.
    (b"\xef\xbb\xbf# \xf6\n", "1:3", "byte 0xf6 at offset 5: invalid start byte"),
    (b"# \xc3\n", "1:3", "byte 0xc3 at offset 2: invalid continuation byte"),
    (b"# \xe2\x82", "1:3", "byte 0xe2 at offset 2: unexpected end of data"),
])
def test_the_latin_1_warning_names_the_first_bad_byte(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], data: bytes, where: str,
        byte: str) -> None:
    path = tmp_path / "lb1.conf"
    path.write_bytes(data)
    assert main(["import", "keepalived", str(path)]) == 2  # no vrrp_instance
    err = capsys.readouterr().err
    assert f"{path}:{where}: warning: not UTF-8 ({byte}): read as Latin-1" in err, err
    shown, caret = err.split("\n")[1:3]
    column = int(where.split(":")[1])
    bad = data.removeprefix(b"\xef\xbb\xbf").split(b"\n")[int(where.split(":")[0]) - 1]
    assert shown[caret.index("^")] == bytes([bad[column - 1]]).decode("latin-1"), err


def _tied(tmp_path: Path, name: str, extra: str = "", state: str = "MASTER") -> Path:
    path = tmp_path / f"{name}.conf"
    path.write_text(f"global_defs {{\n  router_id {name}\n}}\nvrrp_instance VI_1 {{\n"
                    f"  state {state}\n  interface eth0\n  priority 100\n{extra}"
                    "  virtual_ipaddress {\n    10.0.0.100/24\n  }\n}\n")
    return path


def test_equal_priorities_are_a_warning_that_says_how_keepalived_breaks_the_tie(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Both MASTER, both priority 100: the order of the files picked the preferred node,
    # said only in a comment of the .crg (an outside tester's finding).
    lb1, lb2 = _tied(tmp_path, "lb1"), _tied(tmp_path, "lb2")
    out, code = imported(tmp_path, lb1, lb2)
    assert code == "0"
    err = capsys.readouterr().err
    said = ("vrrp_instance VI_1: lb1 and lb2 have the same priority 100; crg orders them "
            "lb1, lb2 (MASTER first, then as the files were given), but keepalived gives a "
            "tie to the node whose advertisements come from the higher IP address (its "
            "unicast_src_ip or mcast_src_ip, else the interface's primary address; RFC 5798 "
            "6.4.3): check that order, or give the nodes different priorities")
    # At the priority of the node crg puts last, in its file.
    assert f"{lb2}:7:3: warning: {said}" in err, err
    comments = " ".join(line.strip().lstrip("# ") for line in out.read_text().splitlines()
                        if line.lstrip().startswith("#"))
    assert said in comments
    assert load(out).groups[0].candidates == ("lb1", "lb2")
    # The other order of the files, the other order of the nodes: the warning says it.
    out, code = imported(tmp_path, lb2, lb1)
    assert code == "0"
    assert load(out).groups[0].candidates == ("lb2", "lb1")
    assert f"{lb1}:7:3: warning: vrrp_instance VI_1: lb2 and lb1 have the same priority 100; " \
           "crg orders them lb2, lb1" in capsys.readouterr().err


def test_a_tie_names_keepalived_s_winner_when_the_files_give_the_addresses(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Each node's source address in its file: the lower one is lb1's, which crg prefers
    # (MASTER first), and keepalived gives the address to lb3's higher one.
    lb1 = _tied(tmp_path, "lb1", "  unicast_src_ip 192.0.2.11\n")
    lb2 = _tied(tmp_path, "lb2", "  unicast_src_ip 192.0.2.9\n", state="BACKUP")
    lb3 = _tied(tmp_path, "lb3", "  mcast_src_ip 192.0.2.12\n", state="BACKUP")
    _, code = imported(tmp_path, lb2, lb1, lb3)
    assert code == "0"
    err = capsys.readouterr().err
    assert (f"{lb3}:7:3: warning: vrrp_instance VI_1: lb1, lb2 and lb3 have the same priority "
            "100; crg orders them lb1, lb2, lb3 (MASTER first") in err, err
    assert "RFC 5798 6.4.3) (here lb3's, 192.0.2.12): check that order" in err, err
    # Without one node's address, the winner is not known: nothing is guessed.
    lb3.write_text(lb3.read_text().replace("  mcast_src_ip 192.0.2.12\n", ""))
    _, code = imported(tmp_path, lb2, lb1, lb3)
    assert code == "0"
    assert "(here" not in capsys.readouterr().err


def test_distinct_priorities_say_nothing_of_a_tie(tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    out, code = imported(tmp_path, LB1, LB2)
    assert code == "0"
    assert "same priority" not in capsys.readouterr().err + out.read_text()


def test_the_latin_1_warning_does_not_show_the_vrrp_password(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The decoding stage quoted its line as it was: the password, in clear."""
    path = tmp_path / "pw.conf"
    path.write_bytes(b"vrrp_instance A {\n  interface eth0\n  priority 100\n  authentication {\n"
                     b"    auth_type PASS\n    auth_pass Zp\xe4ssW0rd\n  }\n  virtual_ipaddress {\n"
                     b"    10.0.0.5/24\n  }\n}\n")
    out, code = imported(tmp_path, path)
    assert code == "0"
    err = capsys.readouterr().err
    assert f"{path}:6:17: warning: not UTF-8" in err and "auth_pass *********" in err, err
    assert "ssW0rd" not in err + out.read_text()


def test_output_that_replaces_a_file_says_so(tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "lb.crg"
    out.write_text("precious\n")
    assert imported(tmp_path, LB1, LB2)[1] == "0"
    assert f"into {out} (replaced the file that was there);" in capsys.readouterr().err
