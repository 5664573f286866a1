"""``crg import keepalived``: an ``include`` is followed as keepalived follows it.

A keepalived.conf that only included ``conf.d/*.conf`` gave "no vrrp_instance to import"
with the hint to give the included files instead, and doing so made each fragment a node
named after its file (an outside tester's finding).
"""

from __future__ import annotations

import builtins
import errno
import os
from pathlib import Path
from typing import Any

import pytest

from crg import files
from crg.bridges.keepalived_include import MAX_DEPTH, braces
from crg.cli import main
from crg.dsl import MAX_SOURCE, load

INSTANCE = ("vrrp_instance {name} {{\n  state MASTER\n  interface eth0\n  priority 100\n"
            "  virtual_ipaddress {{\n    {address}/24\n  }}\n}}\n")


def instance(name: str, address: str) -> str:
    return INSTANCE.format(name=name, address=address)


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def run(*paths: Path, out: Path | None = None) -> int:
    return int(main(["import", "keepalived", *map(str, paths),
                     *(["-o", str(out)] if out else [])]))


def test_a_glob_reads_every_match_in_sorted_order_for_the_including_node(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # The tester's file: a router_id and an include, the instance in conf.d.
    main_file = write(tmp_path / "keepalived.conf",
                      "global_defs { router_id lb1 }\ninclude conf.d/*.conf\n")
    # Written in the reverse order: glob(3) sorts, the directory's order does not count.
    write(tmp_path / "conf.d" / "vi2.conf", instance("VI_2", "10.0.0.101"))
    write(tmp_path / "conf.d" / "vi1.conf", instance("VI_1", "10.0.0.100"))
    write(tmp_path / "conf.d" / "notes.txt", "not a configuration\n")
    write(tmp_path / "conf.d" / ".hidden.conf", "vrrp_instance HIDDEN {\n")  # glob skips it
    out = tmp_path / "lb.crg"
    assert run(main_file, out=out) == 0, capsys.readouterr().err
    config = load(out)
    assert config.cluster.nodes == ("lb1", "peer")  # no node named after a fragment
    assert [(g.name, str(g.vip), g.candidates) for g in config.groups] == [
        ("VI_1", "10.0.0.100/24", ("lb1", "peer")), ("VI_2", "10.0.0.101/24", ("lb1", "peer"))]
    text = out.read_text()
    assert f"(with {tmp_path}/conf.d/vi1.conf, {tmp_path}/conf.d/vi2.conf)" in \
        " ".join(line.lstrip("# ") for line in text.splitlines())


def test_a_relative_pattern_is_taken_from_the_including_file_s_directory(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    # From the including file's directory, not the one crg runs in; an included file's own
    # relative include from its directory (conf.d/), as keepalived changes into it.
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    write(elsewhere / "conf.d" / "vi1.conf", instance("DECOY", "10.9.9.9"))
    monkeypatch.chdir(elsewhere)
    main_file = write(tmp_path / "etc" / "keepalived.conf",
                      "global_defs {\n  router_id lb1\n}\ninclude conf.d/vi1.conf\n")
    write(tmp_path / "etc" / "conf.d" / "vi1.conf",
          instance("VI_1", "10.0.0.100").replace("  state MASTER\n",
                                                  "  state MASTER\n  include checks.conf\n"))
    write(tmp_path / "etc" / "conf.d" / "checks.conf",
          "track_script {\n  chk\n}\n")
    write(tmp_path / "etc" / "checks.conf", "garbage {\n")  # not this one: not conf.d/'s
    # The vrrp_script comes after the instance that tracks it, from yet another file.
    with (tmp_path / "etc" / "keepalived.conf").open("a") as handle:
        handle.write("include ./scripts/*.conf\n")
    write(tmp_path / "etc" / "scripts" / "chk.conf",
          'vrrp_script chk {\n  script "/bin/true"\n  interval 2\n}\n')
    out = tmp_path / "lb.crg"
    assert run(main_file, out=out) == 0, capsys.readouterr().err
    (group,) = load(out).groups
    assert (group.name, str(group.vip)) == ("VI_1", "10.0.0.100/24")
    (check,) = group.monitors
    assert (check.target, check.interval_ms) == ("/bin/true", 2000)


def test_an_include_inside_a_block_and_includes_nested_three_deep(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # keepalived reads an included file's lines in the place of the include: inside an
    # instance's block too, and an included file may include more.
    main_file = write(tmp_path / "lb1.conf", "include a/instance.conf\n")
    write(tmp_path / "a" / "instance.conf",
          "vrrp_instance VI_1 {\n  include b/body.conf\n}\n")
    write(tmp_path / "a" / "b" / "body.conf", "priority 150\ninclude c/vip.conf\n")
    write(tmp_path / "a" / "b" / "c" / "vip.conf",
          "virtual_ipaddress {\n  10.0.0.7/24 dev eth1\n}\nadvert_int 1\n")
    out = tmp_path / "lb.crg"
    assert run(main_file, out=out) == 0
    err = capsys.readouterr().err
    (group,) = load(out).groups
    assert (str(group.vip), group.vip.device) == ("10.0.0.7/24", "eth1")
    # A warning about a statement of an included file names that file, at its own line.
    assert f"{tmp_path}/a/b/c/vip.conf:4:1: warning: advert_int (on lb1)" in err, err
    assert f"{tmp_path}/lb1.conf:4:1" not in err


def test_a_cycle_is_refused_at_the_include_that_closes_it(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    main_file = write(tmp_path / "lb1.conf",
                      instance("VI_1", "10.0.0.1") + "include conf.d/a.conf\n")
    write(tmp_path / "conf.d" / "a.conf", "# a\ninclude b.conf\n")
    write(tmp_path / "conf.d" / "b.conf", "\n\n  include ../conf.d/a.conf\n")
    assert run(main_file) == 2
    err = capsys.readouterr().err
    assert (f"{tmp_path}/conf.d/b.conf:3:3: error: include ../conf.d/a.conf: an include "
            f"cycle ({tmp_path}/conf.d/a.conf -> {tmp_path}/conf.d/b.conf -> "
            f"{tmp_path}/conf.d/../conf.d/a.conf)") in err, err
    assert "hint: remove the include that leads back" in err
    assert "Traceback" not in err
    # A file that includes itself.
    write(tmp_path / "conf.d" / "a.conf", "include *.conf\n")
    assert run(main_file) == 2
    assert f"{tmp_path}/conf.d/a.conf:1:1: error: include *.conf: an include cycle" in \
        capsys.readouterr().err


def test_includes_nested_deeper_than_the_bound_are_refused(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # No cycle, only a chain of distinct files longer than any configuration nests.
    main_file = write(tmp_path / "lb1.conf",
                      instance("VI_1", "10.0.0.1") + "include f1.conf\n")
    for level in range(1, MAX_DEPTH + 2):
        write(tmp_path / f"f{level}.conf", f"include f{level + 1}.conf\n")
    write(tmp_path / f"f{MAX_DEPTH + 2}.conf", "")
    assert run(main_file) == 2
    err = capsys.readouterr().err
    assert (f"{tmp_path}/f{MAX_DEPTH}.conf:1:1: error: include f{MAX_DEPTH + 1}.conf: "
            f"includes nested more than {MAX_DEPTH} files deep") in err, err
    # One level less is read.
    write(tmp_path / f"f{MAX_DEPTH}.conf", "")
    assert run(main_file) == 0


def test_a_pattern_that_matches_nothing_is_a_warning_and_a_comment(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    main_file = write(tmp_path / "lb1.conf",
                      instance("VI_1", "10.0.0.1") + "   include  conf.d/*.conf  # later\n")
    out = tmp_path / "lb.crg"
    assert run(main_file, out=out) == 0
    err = capsys.readouterr().err
    said = (f"include conf.d/*.conf: no file matches {tmp_path}/conf.d/*.conf; keepalived "
            "logs this and reads on, and so does the import")
    assert f"{main_file}:9:4: warning: {said}" in err, err
    assert "did not map" in err  # counted with the rest
    comments = " ".join(line.lstrip("# ") for line in out.read_text().splitlines()
                        if line.startswith("#"))
    assert said in comments


def test_a_syntax_error_in_an_included_file_names_that_file(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    main_file = write(tmp_path / "lb1.conf",
                      "global_defs {\n  router_id lb1\n  script_user root\n}\n"
                      "include conf.d/*.conf\n")
    bad = write(tmp_path / "conf.d" / "vi1.conf",
                "vrrp_instance VI_1 {\n  priority high\n  virtual_ipaddress {\n"
                "    10.0.0.1/24\n  }\n}\n")
    assert run(main_file) == 2
    err = capsys.readouterr().err
    assert f"{bad}:2:12: error: priority must be a whole number from 1 to 255" in err, err
    assert " 2 |   priority high" in err  # the included file's line, quoted
    # What was said before the error still comes first.
    assert err.index(f"{main_file}:3:3: warning: global_defs script_user") < err.index(
        f"{bad}:2:12: error:")
    # An error of the tokenizer and one of the block structure, in the included file too.
    bad.write_text('vrrp_script chk {\n  script "/bin/true\n}\n')
    assert run(main_file) == 2
    assert f"{bad}:2:10: error: this quoted string is not closed" in capsys.readouterr().err
    bad.write_text("vrrp_instance VI_1 {\n  state MASTER\n")
    assert run(main_file) == 2
    assert f"{bad}:1:1: error: the block of 'vrrp_instance' is never closed" in \
        capsys.readouterr().err


def test_an_included_file_that_cannot_be_read_is_an_error_at_the_include(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    main_file = write(tmp_path / "lb1.conf",
                      instance("VI_1", "10.0.0.1") + "\ninclude conf.d/*.conf\n")
    (tmp_path / "conf.d").mkdir()
    # A link to nothing: what keepalived would read there is unknown.
    (tmp_path / "conf.d" / "vi2.conf").symlink_to(tmp_path / "missing.conf")
    assert run(main_file) == 2
    err = capsys.readouterr().err
    assert (f"{main_file}:10:1: error: include conf.d/*.conf: cannot read "
            f"'{tmp_path}/conf.d/vi2.conf': No such file or directory") in err, err
    assert "Traceback" not in err
    # A file that reading refuses (larger than any configuration; sparse, so cheap).
    (tmp_path / "conf.d" / "vi2.conf").unlink()
    with (tmp_path / "conf.d" / "vi2.conf").open("wb") as handle:
        handle.truncate(MAX_SOURCE + 1)
    assert run(main_file) == 2
    assert (f"{main_file}:10:1: error: include conf.d/*.conf: cannot read "
            f"'{tmp_path}/conf.d/vi2.conf': larger than") in capsys.readouterr().err


def test_an_included_file_without_read_permission_is_an_error_at_the_include(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    main_file = write(tmp_path / "lb1.conf",
                      instance("VI_1", "10.0.0.1") + "include vi2.conf\n")
    unreadable = write(tmp_path / "vi2.conf", instance("VI_2", "10.0.0.2"))
    unreadable.chmod(0)
    if os.geteuid() == 0:
        # root reads it all the same: the refusal another user gets, from the open call
        def refusing(path: Any, *args: Any, **kwargs: Any) -> Any:
            if Path(path) == unreadable:
                raise PermissionError(errno.EACCES, "Permission denied", str(path))
            return builtins.open(path, *args, **kwargs)

        monkeypatch.setattr(files, "open", refusing, raising=False)
    assert run(main_file) == 2
    assert (f"{main_file}:9:1: error: include vi2.conf: cannot read '{tmp_path}/vi2.conf': "
            "Permission denied") in capsys.readouterr().err


def test_what_keepalived_skips_the_import_skips_and_says(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # keepalived reads neither a directory nor an executable file a pattern matches.
    main_file = write(tmp_path / "lb1.conf", "include conf.d/*\n")
    write(tmp_path / "conf.d" / "vi1.conf", instance("VI_1", "10.0.0.1"))
    write(tmp_path / "conf.d" / "sub" / "vi2.conf", instance("VI_2", "10.0.0.2"))
    write(tmp_path / "conf.d" / "run.sh", "vrrp_instance VI_3 {\n").chmod(0o755)
    out = tmp_path / "lb.crg"
    assert run(main_file, out=out) == 0
    err = capsys.readouterr().err
    assert (f"{main_file}:1:1: warning: include conf.d/*: {tmp_path}/conf.d/sub is a "
            "directory; keepalived skips it") in err, err
    assert (f"{main_file}:1:1: warning: include conf.d/*: {tmp_path}/conf.d/run.sh is not a "
            "regular file without execute permission; keepalived skips it") in err, err
    assert [g.name for g in load(out).groups] == ["VI_1"]


def test_braces_and_spaces_are_the_pattern_s_as_glob_reads_them(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # glob(3) with GLOB_BRACE: the alternatives in their order, each one's matches sorted;
    # the rest of the line is one pattern, spaces and all.
    assert braces("{foo/{,cat,dog},bar}") == ["foo/", "foo/cat", "foo/dog", "bar"]
    assert braces("a{b,c{d,e}}f") == ["abf", "acdf", "acef"]
    assert braces("x{}y") == ["x{}y"] and braces("a{b") == []
    main_file = write(tmp_path / "lb1.conf", "include my conf/{web,api}*.conf\n")
    write(tmp_path / "my conf" / "api.conf", instance("VI_API", "10.0.0.2"))
    write(tmp_path / "my conf" / "web2.conf", instance("VI_WEB2", "10.0.0.3"))
    write(tmp_path / "my conf" / "web1.conf", instance("VI_WEB1", "10.0.0.1"))
    out = tmp_path / "lb.crg"
    assert run(main_file, out=out) == 0, capsys.readouterr().err
    assert [g.name for g in load(out).groups] == ["VI_WEB1", "VI_WEB2", "VI_API"]


def test_an_included_fragment_given_as_a_node_s_file_is_refused(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # What the old hint advised: the fragment became a node named vi1, without a word.
    main_file = write(tmp_path / "keepalived.conf",
                      "global_defs { router_id lb1 }\ninclude conf.d/*.conf\n")
    fragment = write(tmp_path / "conf.d" / "vi1.conf", instance("VI_1", "10.0.0.100"))
    assert run(main_file, fragment) == 2
    err = capsys.readouterr().err
    assert (f"{main_file}:2:1: error: include conf.d/*.conf: reads {fragment}, which is also "
            f"given as a node's file ({fragment})") in err, err
    assert "hint: give crg import each node's own keepalived.conf only" in err


def test_a_file_included_for_two_nodes_is_named(tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    # Both copies include one absolute path: read here, it is this machine's file for both.
    shared = write(tmp_path / "etc" / "conf.d" / "vi1.conf", instance("VI_1", "10.0.0.1"))
    lb1 = write(tmp_path / "lb1" / "keepalived.conf",
                f"global_defs {{\n  router_id lb1\n}}\ninclude {shared}\n")
    lb2 = write(tmp_path / "lb2" / "keepalived.conf",
                f"global_defs {{\n  router_id lb2\n}}\ninclude {shared}\n")
    out = tmp_path / "lb.crg"
    assert run(lb1, lb2, out=out) == 0
    err = capsys.readouterr().err
    assert (f"{lb2}:4:1: warning: include {shared}: {shared} is read for lb1 too; an include "
            "is read on this machine, not on the node") in err, err
    assert f"{lb1}:4:1: warning: include" not in err


def test_an_instance_in_the_file_and_in_one_it_includes_is_refused(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    main_file = write(tmp_path / "lb1.conf",
                      instance("VI_1", "10.0.0.1") + "include vi1-again.conf\n")
    again = write(tmp_path / "vi1-again.conf", "\n" + instance("VI_1", "10.0.0.2"))
    assert run(main_file) == 2
    assert (f"{again}:2:1: error: vrrp_instance VI_1 is defined twice in lb1's files (first "
            f"at {main_file}:1:1)") in capsys.readouterr().err


def test_an_included_file_in_latin_1_is_warned_about_by_its_own_name(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    main_file = write(tmp_path / "lb1.conf", "include vi1.conf\n")
    included = tmp_path / "vi1.conf"
    included.write_bytes(b"# Gr\xf6\xdfe\n" + instance("VI_1", "10.0.0.1").encode())
    assert run(main_file, out=tmp_path / "lb.crg") == 0
    assert f"{included}:1:5: warning: not UTF-8 (byte 0xf6" in capsys.readouterr().err


def test_a_file_included_twice_is_named_as_such(tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    # It said "defined twice in this file (first at line 1)", pointing at that very line.
    main_file = write(tmp_path / "lb1.conf", "include vi1.conf\ninclude {vi1,vi1}.conf\n")
    included = write(tmp_path / "vi1.conf", instance("VI_1", "10.0.0.1"))
    assert run(main_file) == 2
    assert (f"{included}:1:1: error: vrrp_instance VI_1 is read twice: its file is included "
            "twice for lb1") in capsys.readouterr().err


@pytest.mark.parametrize("named", ["as included", "through a link"])
def test_the_output_may_not_be_a_file_an_input_includes(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        named: str) -> None:
    """``-o sub/a.inc`` replaced the vrrp_script file main1.conf includes with the .crg,
    though the .crg's first comment listed it among the files read."""
    monkeypatch.chdir(tmp_path)
    main_file = write(tmp_path / "main1.conf", "global_defs {\n  router_id k1\n}\n"
                      "include conf.d/*.conf\ninclude sub/{a,b}.inc\n")
    write(tmp_path / "conf.d" / "10-web.conf", instance("WEB", "10.0.0.100").replace(
        "}\n}\n", "}\n  track_script {\n    chk\n  }\n}\n"))
    script = 'vrrp_script chk {\n  script "/bin/true"\n  interval 3\n}\n'
    included = write(tmp_path / "sub" / "a.inc", script)
    out = Path("sub/a.inc")
    if named == "through a link":
        (tmp_path / "link.crg").symlink_to(included)
        out = Path("link.crg")
    assert run(Path("main1.conf"), out=out) == 2
    err = capsys.readouterr().err
    assert included.read_text() == script
    assert (f"crg: error: cannot write '{out}': it is the input file sub/a.inc (which "
            "main1.conf includes): it would be replaced by the output; choose another -o"
            ) in err, err
    assert "Traceback" not in err and main_file.exists()
