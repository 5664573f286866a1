"""The crg command line: subcommands, output and the exit codes that the error handler owns."""

from __future__ import annotations

import argparse
import io
import json
import os
import socket
import stat
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cli_run import Run

from crg import __version__, cli
from crg.commands import _client, check, status
from crg.dsl import MAX_SOURCE, Source
from crg.dsl.diagnostics import Diagnostic, Severity
from crg.dsl.source import Span
from crg.output import Output
from crg.runtime.control import ControlError, NoRuntime
from crg.runtime.operator import MAX_TIMEOUT_S

ROOT = Path(__file__).resolve().parents[1]
QUICKSTART = str(ROOT / "examples" / "quickstart.crg")
NO_STANDBY = str(ROOT / "examples" / "broken" / "no-standby.crg")
BAD = 'cluster c { nodes n1 n2 }\ngroup g { vip 10.0.0.1/24 preferd n1 }\n'
UGLY = 'cluster c { nodes n1 n2 }  # two\ngroup g { app { start "x" } }\n'


@pytest.fixture
def write(tmp_path: Path) -> Callable[[str, str], str]:
    def make(name: str, text: str) -> str:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return str(path)

    return make


# --- the program -----------------------------------------------------------------------


def test_version(crg: Callable[..., Run]) -> None:
    result = crg("--version")
    assert (result.code, result.out) == (0, f"crg {__version__}\n")


def test_help_lists_every_command(crg: Callable[..., Run]) -> None:
    result = crg("--help")
    assert result.code == 0
    for name in ("check", "fmt", "show"):
        assert name in result.out


@pytest.mark.parametrize("argv", [[], ["frobnicate"], ["check"], ["show", "--format", "xml",
                                                                   "x.crg"]])
def test_usage_errors_exit_2(crg: Callable[..., Run], argv: list[str]) -> None:
    result = crg(*argv)
    assert result.code == 2
    assert "usage: crg" in result.err
    assert "Traceback" not in result.err


@pytest.mark.parametrize("argv", [["run", "x.crg"], ["status"], ["drain", "n1"]])
def test_an_empty_run_dir_is_a_usage_error(crg: Callable[..., Run], argv: list[str]) -> None:
    # crg run took '' for its default and the other commands for the current directory:
    # a script with an unset variable started a runtime it could not reach (an outside
    # tester's finding)
    result = crg(*argv, "--run-dir", "")
    assert result.code == 2
    assert result.err.splitlines()[-1].endswith(
        "argument --run-dir: an empty path: give the directory, or leave --run-dir out "
        "for the default")


def test_maintenance_without_a_switch_asks_for_the_switch_alone(
        crg: Callable[..., Run]) -> None:
    # it said "the following arguments are required: on|off, GROUP", though --all can
    # stand for GROUP (an outside tester's finding)
    result = crg("maintenance")
    assert result.code == 2
    assert result.err.splitlines()[-1].endswith("the following arguments are required: on|off")


@pytest.mark.parametrize(("argv", "message"), [
    (["cleanup"], "cleanup needs the GROUP whose failure record to clear (or --store-reset)"),
    (["cleanup", "--store-reset", "web"],
     "--store-reset clears the store's note, not a group's record: drop 'web'")])
def test_cleanup_takes_a_group_or_the_store_reset(crg: Callable[..., Run], argv: list[str],
                                                  message: str) -> None:
    # said before looking for a runtime: a mistake of usage, whichever runs here
    result = crg(*argv)
    assert (result.code, result.out, result.err) == (2, "", f"crg: error: {message}\n")


@pytest.mark.parametrize("argv", [["switchover", "web", "n2", "n3"], ["drain", "n1", "n2"],
                                  ["status", "now"], ["cleanup", "web", "n1", "n2"]])
def test_an_extra_argument_is_the_subcommands_usage_error(crg: Callable[..., Run],
                                                          argv: list[str]) -> None:
    # argparse hands what a subcommand leaves over up to the top-level parser, whose usage
    # ("crg [-h] [--version] COMMAND ...") says nothing of the subcommand's arguments.
    result = crg(*argv)
    assert result.code == 2 and result.out == ""
    assert result.err.startswith(f"usage: crg {argv[0]} "), result.err
    assert result.err.endswith(f"crg {argv[0]}: error: unrecognized arguments: {argv[-1]}\n")


@pytest.mark.parametrize("argv", [["status", "examples/quickstart.crg"],
                                  ["switchover", "web.crg", "web", "n2"],
                                  ["crash", "--cluster", "shop", "shop.crg", "n1"]])
def test_a_config_file_given_to_a_runtime_command_is_named(crg: Callable[..., Run],
                                                           argv: list[str]) -> None:
    # Operators type `crg status web.crg` by analogy with `crg run web.crg`: argparse alone
    # says "unrecognized arguments"; the message must say what to do instead.
    result = crg(*argv)
    assert result.code == 2
    file = next(a for a in argv if a.endswith(".crg"))
    assert f"crg {argv[0]} reads no configuration file" in result.err
    assert f"drop '{file}'" in result.err and "--cluster NAME" in result.err


@pytest.mark.parametrize("argv", [["status", "--run-dir", "/nonexistent/web.crg"],
                                  ["status", "--run-dir=/nonexistent/web.crg"],
                                  ["drain", "--cluster", "web.crg", "n1"]])
def test_an_option_value_ending_in_crg_is_not_a_misplaced_config(crg: Callable[..., Run],
                                                                 argv: list[str]) -> None:
    """A run directory may be named anything: ``--run-dir /srv/web.crg`` was refused with
    "crg status reads no configuration file ... drop '/srv/web.crg'"."""
    result = crg(*argv)
    assert result.code == 2
    assert "reads no configuration file" not in result.err
    assert "no crg runtime" in result.err


def test_every_registered_command_has_register_and_run() -> None:
    for command in cli.COMMANDS:
        assert callable(command.register) and callable(command.run)


# --- check -------------------------------------------------------------------------------


def test_check_ok(crg: Callable[..., Run]) -> None:
    result = crg("check", "--validate-only", QUICKSTART)
    assert (result.code, result.err) == (0, "")
    assert result.out == f"{QUICKSTART}: ok (3 nodes, 3 groups)\n"


def test_check_prints_warnings_and_counts_them(crg: Callable[..., Run]) -> None:
    result = crg("check", "--validate-only", NO_STANDBY)
    assert result.code == 0
    assert result.out.endswith(": ok (2 nodes, 2 groups, 1 warning)\n")
    assert "no-standby.crg:17:3: warning: group 'ledger' has no possible node" in result.err


def test_check_reports_every_file(crg: Callable[..., Run], write: Callable[[str, str], str],
                                  tmp_path: Path) -> None:
    bad = write("bad.crg", BAD)
    missing = str(tmp_path / "missing.crg")
    result = crg("check", "--validate-only", bad, QUICKSTART, missing, str(tmp_path))
    assert result.code == 2
    assert result.out == f"{QUICKSTART}: ok (3 nodes, 3 groups)\n"
    assert result.err == (
        f"{bad}:2:27: error: unknown statement 'preferd'\n"
        " 2 | group g { vip 10.0.0.1/24 preferd n1 }\n"
        "   |                           ^^^^^^^\n"
        "   = hint: did you mean preferred?\n"
        "\n"
        f"{bad}: 1 error\n"
        f"crg: error: cannot read '{missing}': No such file or directory\n"
        f"crg: error: cannot read '{tmp_path}': Is a directory\n"
    )


def test_a_file_too_large_to_be_a_configuration_is_not_read_whole(
        crg: Callable[..., Run], tmp_path: Path) -> None:
    # /dev/zero or a log named by mistake: read until memory ran out (exit 3 under a
    # limit); now it stops after the largest configuration crg reads.
    huge = tmp_path / "huge.crg"
    with open(huge, "wb") as handle:
        handle.truncate(MAX_SOURCE + 1)  # sparse: costs no disk
    result = crg("check", str(huge))
    assert result.code == 2
    assert result.err == (f"crg: error: cannot read '{huge}': larger than 16 MiB: not a "
                          "configuration\n")


def test_check_json(crg: Callable[..., Run], write: Callable[[str, str], str],
                    tmp_path: Path) -> None:
    bad = write("bad.crg", BAD)
    result = crg("check", "--validate-only", "--format", "json", QUICKSTART, bad, NO_STANDBY,
                 str(tmp_path / "nope.crg"))
    assert result.code == 2
    assert result.err == ""
    data = json.loads(result.out)
    assert [f["status"] for f in data["files"]] == ["ok", "invalid", "ok", "unreadable"]
    assert (data["errors"], data["warnings"]) == (2, 1)
    invalid = data["files"][1]["diagnostics"][0]
    assert invalid == {"severity": "error", "line": 2, "column": 27,
                       "message": "unknown statement 'preferd'", "code": "syntax",
                       "hint": "did you mean preferred?", "end_line": 2, "end_column": 34}
    assert data["files"][0]["nodes"] == 3 and data["files"][0]["groups"] == 3


def test_check_calls_verify_on_valid_configs_only(
        crg: Callable[..., Run], write: Callable[[str, str], str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[str] = []

    def verify(report: check.Report, args: object, progress: object = None) -> int:
        assert report.config is not None
        seen.append(report.config.cluster.name)
        return check.ExitCode.VIOLATED

    monkeypatch.setattr(check, "verify", verify)
    result = crg("check", "--format", "json", QUICKSTART, write("bad.crg", BAD))
    assert seen == ["quickstart"]
    assert result.code == 2  # bad input outranks a violated property
    first = json.loads(result.out)["files"][0]
    assert first["status"] == "violated"


# --- show --------------------------------------------------------------------------------


def test_show_text(crg: Callable[..., Run]) -> None:
    result = crg("show", QUICKSTART)
    assert result.code == 0
    lines = result.out.splitlines()
    assert lines[0] == "cluster quickstart: nodes n1 n2 n3"
    assert lines[4].split() == ["group", "kind", "vip", "preferred", "possible", "failback",
                                "restarts", "monitors", "notify", "avoid", "fencing", "alerts",
                                "hooks"]
    assert lines[5].split()[:4] == ["web", "failover", "127.0.0.11/8", "n1"]
    # what decides placement and who hears of a failure (the summary left them out)
    assert lines[5].split()[-4:] == ["-", "self", "log", "-"], lines[5]
    anti = crg("show", str(Path(QUICKSTART).with_name("anti-affinity.crg"))).out.splitlines()
    assert anti[5].split()[0] == "blue" and anti[5].split()[-4] == "green", anti[5]
    assert "\x1b[" not in result.out + result.err  # plain text when not a terminal


def test_show_json(crg: Callable[..., Run]) -> None:
    result = crg("show", "--format", "json", QUICKSTART)
    assert result.code == 0
    data = json.loads(result.out)
    assert [g["name"] for g in data["groups"]] == ["web", "api", "report"]


SECRET = Path(QUICKSTART).read_text().replace(
    "  alert log\n",
    '  alert log\n  alert webhook "https://ops:hunter2@hooks.example.net/crg?token=s3cr3t"\n'
    '  hook webhook "http://hooks.example.net/in#key=s3cr3t"\n', 1).replace(
    'monitor http "http://{vip}:8080/"', 'monitor http "http://probe:pw@{vip}:8080/?k=v"')


def test_show_hides_the_secrets_of_urls(crg: Callable[..., Run],
                                        write: Callable[[str, str], str]) -> None:
    path = write("secret.crg", SECRET)
    for fmt in ("text", "json"):
        result = crg("show", "--format", fmt, path)
        assert result.code == 0, result.err
        for secret in ("hunter2", "s3cr3t", "ops:", "probe:pw", "k=v"):
            assert secret not in result.out + result.err, (fmt, secret)
    data = json.loads(crg("show", "--format", "json", path).out)
    assert data["groups"][0]["alerts"][1]["target"] == "https://***@hooks.example.net/crg?***"
    assert data["groups"][0]["hooks"][0]["target"] == "http://hooks.example.net/in#***"
    assert data["groups"][0]["monitors"][0]["target"] == "http://***@{vip}:8080/?***"


def test_diagnostics_hide_the_secrets_of_urls(crg: Callable[..., Run],
                                              write: Callable[[str, str], str]) -> None:
    """An error on a line holding a secret URL — in its message and its quoted source
    line — shows it hidden, with the caret still under the word it points at, in crg
    check, crg show and crg run (whose diagnostics go to the journal under systemd)."""
    path = write("bad-secret.crg", SECRET.replace(
        '"https://ops:hunter2@hooks.example.net/crg?token=s3cr3t"',
        '"ftp://ops:hunter2@hooks.example.net/crg?token=s3cr3t" every'))
    for command in (("check",), ("show",), ("run",), ("check", "--format", "json")):
        result = crg(*command, path)
        assert result.code == 2, (command, result.err)
        for secret in ("hunter2", "s3cr3t", "ops:"):
            assert secret not in result.out + result.err, (command, secret)
    lines = crg("check", path).err.splitlines()
    quoted = next(i for i, line in enumerate(lines) if "every" in line and "|" in line)
    assert '"ftp://***@hooks.example.net/crg?***" every' in lines[quoted]
    caret = lines[quoted + 1]
    assert lines[quoted][caret.index("^"):caret.rindex("^") + 1] == "every"


def test_show_invalid(crg: Callable[..., Run], write: Callable[[str, str], str]) -> None:
    result = crg("show", write("bad.crg", BAD))
    assert (result.code, result.out) == (2, "")
    assert result.err.endswith("bad.crg: 1 error\n")


@pytest.mark.parametrize(("name", "status"), [("bad.crg", "invalid"), ("none.crg", "unreadable")])
def test_show_json_invalid_is_json(crg: Callable[..., Run], write: Callable[[str, str], str],
                                   name: str, status: str) -> None:
    path = write(name, BAD) if status == "invalid" else str(Path(write("x", "")).parent / name)
    result = crg("show", "--format", "json", path)
    assert result.code == 2
    assert json.loads(result.out) == json.loads(crg("check", "--format", "json", path).out)
    [entry] = json.loads(result.out)["files"]
    assert (entry["path"], entry["status"]) == (path, status)
    assert entry["diagnostics"][0]["severity"] == "error"


def every_command() -> list[tuple[str, argparse.ArgumentParser, str]]:
    """Every subcommand's parser, nested ones too (``export pacemaker``), with its line in
    its parent's --help."""
    found = []

    def walk(prefix: str, parser: argparse.ArgumentParser) -> None:
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                summaries = {a.dest: a.help for a in action._choices_actions}
                for name, sub in action.choices.items():
                    found.append((f"{prefix}{name}", sub, str(summaries.get(name))))
                    walk(f"{prefix}{name} ", sub)

    walk("", cli.build_parser())
    return found


@pytest.mark.parametrize(("name", "parser", "summary"), every_command(),
                         ids=[name for name, _, _ in every_command()])
def test_every_command_help_is_alike_and_lists_its_exit_codes(
        crg: Callable[..., Run], name: str, parser: argparse.ArgumentParser,
        summary: str) -> None:
    assert summary[0].isupper(), f"crg --help: {name}: {summary}"
    assert parser.description and parser.description[0].isupper(), name
    result = crg(*name.split(), "--help")
    assert result.code == 0
    listed = result.out.split("exit status:\n", 1)[1]
    codes = [int(line.split()[0]) for line in listed.splitlines()
             if line.startswith("  ") and line.split()[0].isdigit()]
    assert codes == sorted(codes) and {0, 2, 3, 130, 143} <= set(codes), (name, codes)


def test_show_help_lists_exit_codes(crg: Callable[..., Run]) -> None:
    out = " ".join(crg("show", "--help").out.split())
    assert "exit status: 0 valid (warnings do not count) 2 bad input" in out


# --- fmt ---------------------------------------------------------------------------------


def test_fmt_rewrites_in_place_keeping_the_mode(crg: Callable[..., Run],
                                                write: Callable[[str, str], str]) -> None:
    path = write("ugly.crg", UGLY)
    os.chmod(path, 0o640)
    result = crg("fmt", path)
    assert (result.code, result.out, result.err) == (0, "", f"reformatted {path}\n")
    assert Path(path).read_text() == (
        "cluster c {\n  nodes n1 n2\n}  # two\n\ngroup g {\n  app {\n    start \"x\"\n  }\n}\n")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o640
    assert crg("fmt", path) == Run(0, "", "")


def test_fmt_writes_through_no_link_planted_beside_the_file(
        crg: Callable[..., Run], write: Callable[[str, str], str], tmp_path: Path) -> None:
    # A security tester's finding: the temporary file had a fixed name (ugly.crg.crg-tmp),
    # opened by path: in a directory others may write, a link planted under that name
    # made the write replace the file it pointed at.
    path = write("ugly.crg", UGLY)
    victim = tmp_path / "victim"
    victim.write_text("precious\n")
    Path(f"{path}.crg-tmp").symlink_to(victim)
    assert crg("fmt", path).code == 0
    assert victim.read_text() == "precious\n"
    assert Path(path).read_text().startswith("cluster c {\n  nodes n1 n2\n}")
    assert [p.name for p in Path(path).parent.iterdir() if p.name.endswith(".crg-tmp")] == [
        "ugly.crg.crg-tmp"]  # the planted link, left alone; no temporary file of ours


def test_fmt_check(crg: Callable[..., Run], write: Callable[[str, str], str]) -> None:
    path = write("ugly.crg", UGLY)
    result = crg("fmt", "--check", path, QUICKSTART)
    assert (result.code, result.err) == (1, f"would reformat {path}\n")
    assert Path(path).read_text() == UGLY
    assert crg("fmt", "--check", QUICKSTART).code == 0


def test_fmt_diff(crg: Callable[..., Run], write: Callable[[str, str], str]) -> None:
    path = write("ugly.crg", UGLY)
    result = crg("fmt", "--diff", path)
    assert result.code == 0
    # git's labels: an absolute path loses its leading slash (a/tmp/..., not a//tmp/...)
    label = path.lstrip("/")
    assert result.out.startswith(f"--- a/{label}\n+++ b/{label}\n@@")
    assert "-group g { app { start \"x\" } }\n" in result.out
    assert Path(path).read_text() == UGLY


def test_fmt_stdin(crg: Callable[..., Run], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"group g{kind instance}")))
    result = crg("fmt", "-")
    assert (result.code, result.out) == (0, "group g {\n  kind instance\n}\n")


def _stdin(monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(text.encode())))


def test_check_stdin_names_it_as_its_diagnostics_do(
        crg: Callable[..., Run], monkeypatch: pytest.MonkeyPatch) -> None:
    """``crg check -`` said ``-: ok`` while its diagnostics said ``<stdin>:2:30``: the
    verdict now names standard input as they, and crg fmt, do."""
    _stdin(monkeypatch, Path(QUICKSTART).read_text())
    assert crg("check", "--validate-only", "-") == Run(0, "<stdin>: ok (3 nodes, 3 groups)\n",
                                                       "")
    _stdin(monkeypatch, BAD)
    bad = crg("check", "-")
    assert bad.code == 2 and bad.err.startswith("<stdin>:2:"), bad.err
    _stdin(monkeypatch, Path(NO_STANDBY).read_text())
    checked = crg("check", "-")
    assert checked.code == 1, checked.err
    named = [line.split(":")[0] for line in checked.out.splitlines()
             if line.startswith(("<stdin>", "-"))]
    assert named and set(named) == {"<stdin>"}, checked.out
    assert checked.out.splitlines()[-1].startswith("<stdin>: violated: "), checked.out


@pytest.mark.parametrize("argv", [["check", "--validate-only", "-", "-"],
                                  ["fmt", "--check", "-", QUICKSTART, "-"],
                                  ["import", "keepalived", "-", "-"]])
def test_stdin_named_twice_is_said_so(crg: Callable[..., Run],
                                      monkeypatch: pytest.MonkeyPatch, argv: list[str]) -> None:
    """The second ``-`` read what the first left — nothing — and was reported as an
    empty configuration ("no cluster block") after the first was said to be fine."""
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(Path(QUICKSTART).read_bytes())))
    result = crg(*argv)
    assert result.code == 2
    assert result.err == ("crg: error: cannot read '-': named 2 times, and standard input "
                          "can be read only once\n")
    assert result.out == ""


def test_fmt_bad_syntax(crg: Callable[..., Run], write: Callable[[str, str], str]) -> None:
    path = write("bad.crg", "group g {")
    result = crg("fmt", path, QUICKSTART)
    assert result.code == 2
    assert f"{path}:1:10: error: unexpected end of file" in result.err
    assert Path(path).read_text() == "group g {"


# --- the error handler -------------------------------------------------------------------


def broken_validate(exc: BaseException) -> Callable[[str], object]:
    def validate(path: str) -> object:
        raise exc

    return validate


def test_internal_error(crg: Callable[..., Run], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CRG_DEBUG", raising=False)
    monkeypatch.setattr(check, "validate", broken_validate(RuntimeError("boom")))
    result = crg("check", QUICKSTART)
    assert result.code == 3
    assert "crg: error: internal error: RuntimeError: boom" in result.err
    assert "please report it" in result.err.lower()
    assert "Traceback" not in result.err


def test_internal_error_traceback_on_request(crg: Callable[..., Run],
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRG_DEBUG", "1")
    monkeypatch.setattr(check, "validate", broken_validate(RuntimeError("boom")))
    result = crg("check", QUICKSTART)
    assert result.code == 3
    assert "Traceback (most recent call last)" in result.err


@pytest.mark.parametrize("debug", ["0", "1"])
def test_internal_error_hides_secrets(crg: Callable[..., Run], monkeypatch: pytest.MonkeyPatch,
                                      debug: str) -> None:
    """An unforeseen error that carries a URL (an HTTP library's message names the URL it
    called) reaches stderr — the journal under systemd — without its secrets."""
    monkeypatch.setenv("CRG_DEBUG", debug)
    monkeypatch.setattr(check, "validate", broken_validate(
        RuntimeError("POST https://ops:hunter2@hooks.example.net/crg?token=s3cr3t failed")))
    result = crg("check", QUICKSTART)
    assert result.code == 3
    assert "POST https://***@hooks.example.net/crg?*** failed" in result.err
    assert "hunter2" not in result.err and "s3cr3t" not in result.err


def test_interrupt(crg: Callable[..., Run], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(check, "validate", broken_validate(KeyboardInterrupt()))
    result = crg("check", QUICKSTART)
    assert result.code == 130
    assert "Traceback" not in result.err


def test_broken_pipe(crg: Callable[..., Run], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(check, "validate", broken_validate(BrokenPipeError()))
    assert crg("check", QUICKSTART).code == 141


# --- output ------------------------------------------------------------------------------


def test_terminal_output_is_coloured_with_the_same_words() -> None:
    source = Source("x.crg", "group g {\n")
    diagnostic = Diagnostic(Severity.ERROR, "bad", Span(1, 7, 1, 8), "a hint", "syntax")
    plain, coloured = io.StringIO(), io.StringIO()
    Output(plain, plain, color=False).diagnostics(source, [diagnostic], with_summary=True)
    Output(coloured, coloured, color=True).diagnostics(source, [diagnostic],
                                                       with_summary=True)
    assert "\x1b[" not in plain.getvalue()
    assert "\x1b[" in coloured.getvalue()
    without_escapes = "".join(part.split("m", 1)[-1] if i else part
                              for i, part in enumerate(coloured.getvalue().split("\x1b[")))
    assert without_escapes == plain.getvalue()


# --- a real process ----------------------------------------------------------------------


def test_python_dash_m_crg(tmp_path: Path) -> None:
    bad = tmp_path / "bad.crg"
    bad.write_text(BAD)
    env = {**os.environ, "CRG_DEBUG": "0"}
    ok = subprocess.run([sys.executable, "-m", "crg", "check", "--validate-only", QUICKSTART],
                        capture_output=True, text=True, env=env, check=False)
    assert (ok.returncode, ok.stdout) == (0, f"{QUICKSTART}: ok (3 nodes, 3 groups)\n")
    failed = subprocess.run([sys.executable, "-m", "crg", "check", str(bad)],
                            capture_output=True, text=True, env=env, check=False)
    assert failed.returncode == 2
    assert "Traceback" not in failed.stderr
    assert f"{bad}:2:27: error: unknown statement 'preferd'" in failed.stderr


def _crg_process(*argv: str, **popen: Any) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CRG_DEBUG": "0"}
    return subprocess.run([sys.executable, "-m", "crg", *argv], text=True, env=env,
                          check=False, **popen)


@pytest.mark.parametrize("argv", [["show", QUICKSTART], ["show", "--format", "json", QUICKSTART],
                                  ["check", "--validate-only", QUICKSTART],
                                  ["export", "pacemaker", QUICKSTART]])
def test_a_full_disk_on_stdout_is_bad_input_not_a_bug(argv: list[str]) -> None:
    """``crg show x.crg > /dev/full`` (or a full disk): the result cannot be given. It was
    an OSError out of the command, reported as a bug in crg (exit 3)."""
    with open("/dev/full", "w", encoding="utf-8") as full:
        done = _crg_process(*argv, stdout=full, stderr=subprocess.PIPE)
    assert done.returncode == 2
    assert done.stderr.splitlines()[-1] == (
        "crg: error: cannot write standard output: No space left on device")
    assert "internal error" not in done.stderr


def test_a_closed_stdout_is_bad_input_not_a_bug() -> None:
    """``crg show x.crg >&-``: Python leaves ``sys.stdout`` None, whose ``write`` was an
    AttributeError reported as a bug in crg."""
    done = _crg_process("show", QUICKSTART, stderr=subprocess.PIPE,
                        preexec_fn=lambda: os.close(1))
    assert (done.returncode, done.stderr) == (
        2, "crg: error: cannot write standard output: it is closed\n")


@pytest.mark.parametrize("stderr", ["full", "closed"])
def test_an_unwritable_stderr_keeps_the_exit_code(stderr: str) -> None:
    """The diagnostics have nowhere to go, but the exit code still says what happened: it
    was 1, Python's own for the traceback of a failed write of the error message."""
    with open("/dev/full", "w", encoding="utf-8") as full:
        popen: dict[str, Any] = ({"stderr": full} if stderr == "full"
                                 else {"preexec_fn": lambda: os.close(2)})
        bad = _crg_process("check", "--validate-only", "/nonexistent.crg",
                           stdout=subprocess.PIPE, **popen)
        good = _crg_process("check", "--validate-only", QUICKSTART,
                            stdout=subprocess.PIPE, **popen)
    assert bad.returncode == 2
    assert (good.returncode, good.stdout) == (0, f"{QUICKSTART}: ok (3 nodes, 3 groups)\n")


@pytest.mark.parametrize("argv", [["check", "--validate-only", "-"], ["fmt", "-"],
                                  ["import", "pacemaker", "-"], ["conform", QUICKSTART, "-"]])
def test_a_closed_stdin_named_as_the_file_is_unreadable(argv: list[str]) -> None:
    """``crg check - <&-``: ``sys.stdin`` is None, and ``.buffer`` of it was an internal
    error (exit 3)."""
    done = _crg_process(*argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                        preexec_fn=lambda: os.close(0))
    assert (done.returncode, done.stderr) == (
        2, "crg: error: cannot read '-': standard input is closed\n")


# --- operator commands ------------------------------------------------------------------


@pytest.mark.parametrize(("timeout", "why"), [("9999999h", "too long"), ("25h", "too long"),
                                              ("86401", "too long"), ("-5s", "negative"),
                                              ("-1", "negative")])
def test_a_timeout_the_runtime_would_not_take_is_a_usage_error(
        crg: Callable[..., Run], tmp_path: Path, timeout: str, why: str) -> None:
    """Checked before any runtime is asked (there is none here): too long overflowed the
    socket's timeout (an internal error) or came back as the runtime's bad request, and a
    negative one was "expected one argument"."""
    for argv in (["switchover", "web", "n2"], ["drain", "n1"]):
        result = crg(*argv, "--timeout", timeout, "--run-dir", str(tmp_path))
        assert result.code == 2, result.err
        assert f"argument --timeout: '{timeout}' is {why}: a timeout is a duration from 0 " \
               "to 24h" in result.err
        assert f"usage: crg {argv[0]}" in result.err and "Traceback" not in result.err


def test_the_longest_timeout_is_the_runtimes(crg: Callable[..., Run], tmp_path: Path) -> None:
    assert MAX_TIMEOUT_S == 24 * 3600
    for timeout in ("24h", "86400", "0"):
        result = crg("drain", "n1", "--timeout", timeout, "--run-dir", str(tmp_path))
        assert result.code == 2 and "no crg runtime is running here" in result.err


def test_the_live_status_table_fits_an_80_column_terminal() -> None:
    # crg status --watch on a terminal: a boxed table squeezed its cells to "127.0.…",
    # "failov…", "disabl…" on 80 columns, where crg status prints them whole.
    from rich.console import Console

    group = {"group": "report", "node": "n3", "mode": "failover", "address": "127.0.0.213",
             "vip_holder": "n3", "app": "stopping", "restarts": {"used": 2, "budget": 2},
             "switching": False, "alerted": True, "blocked_alerted": False,
             "maintenance": False}
    live = {"cluster": "quickstart", "mode": "embedded", "drained": [],
            "nodes": {"n1": "down", "n2": "up", "n3": "up"}, "groups": [group]}
    console = Console(width=80, record=True, file=io.StringIO(), force_terminal=True)
    console.print(status.table(live, console.width))
    shown = console.export_text()
    row = next(line for line in shown.splitlines() if line.startswith("report"))
    assert row.split() == ["report", "n3", "failover", "127.0.0.213", "n3", "stopping",
                           "2/2", "disabled", "last", "node"], shown


def test_status_watch_ends_once_the_runtime_is_gone(
        crg: Callable[..., Run], monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Into a pipe: two refreshes, a runtime slow to answer (said once, waited out), then
    gone — said once, exit 2, where it looped for ever printing the error and blank
    lines."""
    answers: list[dict[str, Any] | ControlError] = [
        {"status": {"n": 0}},  # asked once before watching: is there a runtime at all?
        {"status": {"n": 1}}, ControlError("the runtime did not answer within 10 s"),
        ControlError("the runtime did not answer within 10 s"), {"status": {"n": 2}},
        NoRuntime("no crg runtime is running here (no socket x)")]

    def call(args: argparse.Namespace, op: str, **fields: Any) -> dict[str, Any]:
        answer = answers.pop(0)  # IndexError (exit 3) if it asked again: bounded
        if isinstance(answer, ControlError):
            raise answer
        return answer

    monkeypatch.setattr(_client, "call", call)
    monkeypatch.setattr(status, "show",
                        lambda out, doc, as_json: out.print(f"status {doc['n']}"))
    monkeypatch.setattr(status, "WATCH_INTERVAL_S", 0.0)
    result = crg("status", "--watch", "--run-dir", str(tmp_path))
    assert result.code == 2, result.err
    assert result.out == "status 1\n\nstatus 2\n\n"
    assert result.err.count("did not answer") == 1
    assert result.err.count("no crg runtime is running here") == 1
    # What happened comes first, not "no crg runtime is running here ... start one".
    last = result.err.strip().splitlines()[-1]
    assert last.startswith("crg: error: the runtime stopped while watched"), last
    assert answers == []


# --- which runtime ----------------------------------------------------------------------


def test_a_misspelt_cluster_gets_a_did_you_mean_and_the_running_ones(
        crg: Callable[..., Run], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two runtimes' control sockets under the default base directory (bound for real,
    nobody answering): ``--cluster shpo`` is bad input that names them."""
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    sockets = []
    try:
        for name in ("shop", "billing"):
            (tmp_path / "crg" / name).mkdir(parents=True)
            listening = socket.socket(socket.AF_UNIX)
            sockets.append(listening)
            listening.bind(str(tmp_path / "crg" / name / "control.sock"))
        result = crg("status", "--cluster", "shpo")
    finally:
        for listening in sockets:
            listening.close()
    assert result.code == 2 and result.out == ""
    assert "no crg runtime of cluster 'shpo' is running here" in result.err
    assert "did you mean shop?" in result.err and "(running here: billing, shop)" in result.err
    assert "one started with --run-dir DIR is found with the same --run-dir DIR" in result.err


def test_no_runtime_found_says_how_one_with_its_own_run_dir_is_found(
        crg: Callable[..., Run], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A runtime started with --run-dir is not under the default base: the operator who
    # forgot that is told how to reach it.
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    result = crg("status")
    assert result.code == 2
    assert "one started with --run-dir DIR is found with the same --run-dir DIR" in result.err


def test_a_cluster_found_nowhere_says_how_one_with_its_own_run_dir_is_found(
        crg: Callable[..., Run], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # o2f runs with --run-dir elsewhere (its socket bound for real): --cluster looks only
    # under the default base, and must say so as plain crg status does.
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path / "xdg"))
    (tmp_path / "r17").mkdir()
    with socket.socket(socket.AF_UNIX) as listening:
        listening.bind(str(tmp_path / "r17" / "control.sock"))
        result = crg("status", "--cluster", "o2f")
    assert result.code == 2 and result.out == ""
    assert result.err == (
        f"crg: error: no crg runtime of cluster 'o2f' is running here (no socket "
        f"{tmp_path}/xdg/crg/o2f/control.sock), nor of any other cluster under "
        f"{tmp_path}/xdg/crg; one started with --run-dir DIR is found with the same "
        f"--run-dir DIR\n")


def test_run_help_says_ctrl_c_exits_130_after_the_drain(crg: Callable[..., Run]) -> None:
    # SIGTERM is a service stop (0), Ctrl-C an interrupted command (130), both after the
    # same drain (tests/test_signals.py runs them).
    out = " ".join(crg("run", "--help").out.split())
    assert "0 stopped by SIGTERM after every group halted in order 2 " in out
    assert "130 stopped by Ctrl-C (SIGINT) after every group halted in order; " in out
