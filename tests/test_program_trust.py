"""crg run refuses a configuration whose programs another local user could change
(crg.program_trust): they would run as the runtime's user — root, often."""

from __future__ import annotations

import getpass
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crg.command_files import Launch, judged
from crg.dsl import parse
from crg.dsl.model import Config
from crg.dsl.source import NO_SPAN as SPAN
from crg.program_trust import untrusted

ROOT = Path(__file__).resolve().parents[1]
SYSTEM_PATH = "/usr/local/bin:/usr/bin:/bin"


@pytest.fixture(autouse=True)
def _system_path(monkeypatch: pytest.MonkeyPatch) -> None:
    # The programs are looked up on the runtime's PATH: the developer's own (~/bin,
    # a pyenv) must not decide these tests.
    monkeypatch.setenv("PATH", SYSTEM_PATH)


def _config(app: str, extra: str = "") -> Config:
    return parse(f"""cluster c {{
  nodes n1 n2
}}

group web {{
  vip 127.0.0.11/8
  app {{
{app}
  }}
  monitor process every 1s
  preferred n1
  possible n2
{extra}}}
""", "shop.crg")


def _script(folder: Path, name: str = "serve", mode: int = 0o755) -> Path:
    folder.mkdir(exist_ok=True)
    path = folder / name
    path.write_text("#!/bin/sh\nexec sleep 100\n")
    path.chmod(mode)
    return path


def _private(tmp_path: Path) -> Path:
    folder = tmp_path / "private"
    folder.mkdir(mode=0o755, exist_ok=True)
    return folder


def test_programs_only_the_user_can_change_are_trusted(tmp_path: Path) -> None:
    serve = _script(_private(tmp_path))
    config = _config(f'    start "{serve} --port 1"\n    stop "sleep 1"\n'
                     '    status "true"',
                     f'  monitor exec "{serve} check" every 1s\n'
                     '  alert command "logger crg"\n  hook command "true"\n')
    assert untrusted(config) == []


def test_every_example_is_trusted() -> None:
    for path in sorted((ROOT / "examples").glob("*.crg")):
        config = parse(path.read_text(), str(path))
        assert untrusted(config) == [], path


def test_a_program_every_user_can_write_is_refused_at_its_command(tmp_path: Path) -> None:
    serve = _script(_private(tmp_path), mode=0o757)
    (problem,) = untrusted(_config(f'    start "{serve} --port 1"'))
    assert problem.code == "untrusted-program" and problem.is_error
    assert problem.message == (
        f"web's start command runs {serve}, which another user could change (it would "
        f"run as {getpass.getuser()}): {serve} (mode 0757) is writable by every user; "
        f"chmod o-w {serve}")
    assert (problem.span.line, problem.span.column) == (8, 11)


def test_a_directory_above_it_counts(tmp_path: Path) -> None:
    public = tmp_path / "public"
    serve = _script(public)
    public.chmod(0o777)
    (problem,) = untrusted(_config(f'    start "{serve}"'))
    assert problem.message.endswith(f"{public} (mode 0777) is writable by every user; "
                                    f"chmod o-w {public}")
    # as /tmp: only the owner of a file may replace it there
    public.chmod(0o1777)
    assert untrusted(_config(f'    start "{serve}"')) == []


def test_a_directory_of_the_path_searched_first_counts_even_sticky(tmp_path: Path) -> None:
    # `sleep` is /bin's, but a `sleep` anyone adds to /srv/public would be found first
    public = tmp_path / "public"
    public.mkdir()
    public.chmod(0o1777)
    config = _config(f'    start "sleep 100"\n    env {{\n      PATH = "{public}:'
                     f'{SYSTEM_PATH}"\n    }}')
    (problem,) = untrusted(config)
    assert "web's start command runs /" in problem.message
    assert problem.message.endswith(f"{public} (mode 1777) is writable by every user; "
                                    f"chmod o-w {public}")
    # after the directory that holds it, a directory is never searched
    later = _config(f'    start "sleep 100"\n    env {{\n      PATH = "{SYSTEM_PATH}:'
                    f'{public}"\n    }}')
    assert untrusted(later) == []


def test_the_script_an_interpreter_runs_counts(tmp_path: Path) -> None:
    app = _script(_private(tmp_path), "app.py", mode=0o666)
    for start in (f"sh {app}", f"python3 -u {app} --port 1", f"env -i A=1 python3 {app}"):
        (problem,) = untrusted(_config(f'    start "{start}"'))
        assert problem.message.startswith(f"web's start command runs {app}, "), start
    # code or a module, not a file: nothing more to judge
    assert untrusted(_config('    start "python3 -m http.server"')) == []
    assert untrusted(_config('    start "sh -c \'exec sleep 1\'"')) == []


def test_relative_paths_are_taken_from_the_application_directory(tmp_path: Path) -> None:
    folder = _private(tmp_path)
    _script(folder, mode=0o777)
    for app in (f'    start "./serve"\n    dir "{folder}"',
                f'    start "exec ./serve --port {{vip}}"\n    shell\n    dir "{folder}"'):
        (problem,) = untrusted(_config(app))
        assert problem.message.startswith(f"web's start command runs {folder}/./serve"), app


def test_monitors_alerts_and_hooks_count(tmp_path: Path) -> None:
    serve = _script(_private(tmp_path), mode=0o777)
    config = _config('    start "sleep 100"',
                     f'  monitor exec "{serve} check" every 1s\n'
                     f'  alert command "{serve} page"\n  hook command "{serve} hook"\n')
    assert [p.message.split(" runs ")[0] for p in untrusted(config)] == [
        "web's exec monitor", "web's alert command", "web's hook command"]


def test_a_program_not_there_yet_is_judged_by_where_it_would_be(tmp_path: Path) -> None:
    # An outside tester's finding: nothing was judged, and the attacker put the program
    # there after the start; every restart ran it, as root.
    assert untrusted(_config(f'    start "{_private(tmp_path)}/serve"')) == []
    for mode in (0o777, 0o1777):  # sticky or not: a new file is a change
        public = tmp_path / f"public{mode:o}"
        public.mkdir()
        public.chmod(mode)
        (problem,) = untrusted(_config(f'    start "{public}/late/serve"'))
        assert problem.message.startswith(
            f"web's start command runs {public}/late/serve (not there yet), which another "
            "user could change"), problem.message
        assert problem.message.endswith(f"{public} (mode {mode:04o}) is writable by every "
                                        f"user; chmod o-w {public}")


@pytest.mark.parametrize("start", [
    'sh -c \\"{evil} x\\"', "python3 -W ignore {evil}.py", "env -u FOO {evil}",
    "nohup {evil}", "timeout 3600 {evil}", "nice -n 5 {evil}", "sudo -u nobody {evil}",
    '/bin/sh -ec \\"exec A=1 {evil}\\"'])
def test_ordinary_ways_of_starting_a_program_are_followed(tmp_path: Path, start: str) -> None:
    # An outside tester's findings: each of these started the attacker's file as root
    evil = _script(tmp_path / "atk", "evil", mode=0o777)
    _script(tmp_path / "atk", "evil.py", mode=0o666)
    problems = untrusted(_config(f'    start "{start.format(evil=evil)}"'))
    assert any(f" runs {evil}" in p.message for p in problems), problems


def test_placeholders_are_filled_in_as_on_each_node(tmp_path: Path) -> None:
    # {group} in a program's path, or in PATH, turned the check off (an outside tester)
    atk = tmp_path / "atk"
    _script(atk, "web", mode=0o777)
    (problem,) = untrusted(_config(f'    start "{atk}/{{group}} x"'))
    assert problem.message.startswith(f"web's start command runs {atk}/web,")
    _script(atk, "sleep", mode=0o777)
    config = _config(f'    start "sleep 100"\n    env {{\n      PATH = "{atk}:{SYSTEM_PATH}:'
                     '{group}"\n    }')
    assert any(f" runs {atk}/sleep," in p.message for p in untrusted(config))
    # {node}: as on each node
    _script(atk, "n2", mode=0o777)
    assert [p.message.split(",")[0] for p in untrusted(_config(f'    start "{atk}/{{node}}"'))
            ] == [f"web's start command runs {atk}/n2"]


def test_python_s_first_import_directory_counts(tmp_path: Path) -> None:
    # python3 -m http.server started in /tmp imported an http package an attacker put
    # there (the quick start, run from /tmp): Python looks in the working directory first
    public = tmp_path / "public"
    public.mkdir()
    public.chmod(0o1777)
    (problem,) = untrusted(_config(f'    start "python3 -m http.server"\n    dir "{public}"'))
    assert problem.message.startswith(f"web's start command runs {public} (Python imports "
                                      "from it first)"), problem.message
    assert problem.message.endswith("or give the application a dir")
    # isolated: it does not
    assert untrusted(_config(f'    start "python3 -I -m http.server"\n    dir "{public}"')
                     ) == []
    # a script's own directory is the first for it
    script = public / "app.py"
    script.write_text("print(1)\n")
    problems = untrusted(_config(f'    start "python3 {script}"'))
    assert any(f"runs {public} (Python imports from it first)" in p.message
               for p in problems), problems


def test_crg_run_refuses_it_before_anything_starts(tmp_path: Path) -> None:
    serve = _script(_private(tmp_path), mode=0o777)
    config = _private(tmp_path) / "shop.crg"
    config.write_text((ROOT / "examples" / "quickstart.crg").read_text().replace(
        '"python3 -m http.server --bind {vip} 8081"', f'"{serve} --bind {{vip}}"'))
    run_dir = tmp_path / "run"
    result = subprocess.run([sys.executable, "-m", "crg", "run", str(config), "--run-dir",
                             str(run_dir)], capture_output=True, text=True, timeout=60,
                            check=False, env={**os.environ, "NO_COLOR": "1"})
    assert result.returncode == 2, result.stderr
    assert f"{config}:37:11: error: api's start command runs {serve}" in result.stderr
    assert "Traceback" not in result.stderr and not run_dir.exists()


def test_what_the_environment_makes_programs_load_counts(tmp_path: Path) -> None:
    # LD_PRELOAD, PYTHONPATH, BASH_ENV...: code loaded into every program started
    public = tmp_path / "public"
    public.mkdir()
    public.chmod(0o1777)
    for name, value in (("LD_PRELOAD", f"{public}/x.so"), ("PYTHONPATH", f"{public}"),
                        ("BASH_ENV", f"{public}/rc")):
        config = _config(f'    start "sleep 100"\n    env {{\n      {name} = "{value}"\n'
                         "    }")
        (problem,) = untrusted(config)
        assert problem.message.startswith("web's env runs "), problem.message
        assert f"({name} in its env)" in problem.message
    private = _private(tmp_path)
    config = _config(f'    start "sleep 100"\n    env {{\n      PYTHONPATH = "{private}"\n'
                     "    }")
    assert untrusted(config) == []


def test_a_script_s_interpreter_and_code_naming_a_program_count(tmp_path: Path) -> None:
    atk = tmp_path / "atk"
    interpreter = _script(atk, "interp", mode=0o777)
    script = _private(tmp_path) / "run"
    script.write_text(f"#!{interpreter} -x\nexit 0\n")
    script.chmod(0o755)
    assert any(f"runs {interpreter}," in p.message
               for p in untrusted(_config(f'    start "{script}"')))
    evil = _script(atk, "evil", mode=0o777)
    command = f"awk 'BEGIN {{{{ system(\"{evil} now\") }}}}'"  # {{ }}: crg's literal braces
    literal = command.replace("\\", "\\\\").replace('"', '\\"')
    assert any(f"runs {evil}," in p.message
               for p in untrusted(_config(f'    start "{literal}"')))


def _literal(command: str) -> str:
    """``command`` as a crg string's text."""
    return command.replace("\\", "\\\\").replace('"', '\\"').replace("{", "{{").replace(
        "}", "}}")


@pytest.mark.parametrize("command", [
    "/bin/bash -o pipefail -c 'sh {atk}/p.sh C; sleep 100'",
    "/bin/sh -c '/bin/true && sh {atk}/p.sh F; exec sleep 100'",
    "/bin/sh -c 'sleep 1 | A=1 sh {atk}/p.sh G > /dev/null'",
    "perl -I /usr/share/perl5 {atk}/p.pl",
    "awk -v a=1 -f {atk}/p.awk",
    "python3 --check-hash-based-pycs default {atk}/p.py",
    "env -S 'sh {atk}/p.sh D'",
    "env -C {atk} ./run",
    "env LD_PRELOAD={atk}/x.so sleep 1",
    "nohup {atk}/later.sh",
])
def test_what_a_second_tester_got_past_the_check_is_judged(tmp_path: Path,
                                                           command: str) -> None:
    # A second security tester's findings, each run as root before: options with
    # values, later commands of a shell line, env -S and -C, a launched program not
    # there yet, a preload given on env's line
    atk = tmp_path / "atk"
    atk.mkdir()
    atk.chmod(0o777)
    for name in ("p.sh", "p.pl", "p.awk", "p.py", "x.so"):
        _script(atk, name, mode=0o644)
    _script(atk, "run", mode=0o755)
    problems = untrusted(_config(f'    start "{_literal(command.format(atk=atk))}"'))
    assert any(f"runs {atk}" in p.message for p in problems), (command, problems)


def test_an_exec_monitor_runs_in_the_application_s_directory(tmp_path: Path) -> None:
    public = tmp_path / "public"
    public.mkdir()
    public.chmod(0o1777)
    check = _script(public, "check.sh", mode=0o777)
    config = _config(f'    start "sleep 100"\n    dir "{public}"',
                     '  monitor exec "./check.sh" every 1s\n')
    assert any(p.message.startswith(f"web's exec monitor runs {public}/./check.sh")
               or p.message.startswith(f"web's exec monitor runs {check}")
               for p in untrusted(config))


def test_node_s_node_modules_above_the_script_count(tmp_path: Path) -> None:
    public = tmp_path / "public"
    public.mkdir()
    public.chmod(0o1777)
    app = public / "app"
    app.mkdir(mode=0o700)
    (app / "app.js").write_text("require('left-pad')\n")
    problems = untrusted(_config(f'    start "node {app}/app.js"'))
    assert any(p.message.startswith(f"web's start command runs {public}/node_modules (Node "
                                    "looks there)") for p in problems), problems


def test_python_s_user_base_counts(tmp_path: Path) -> None:
    public = tmp_path / "public"
    public.mkdir()
    public.chmod(0o1777)
    for name in ("PYTHONUSERBASE",):
        config = _config(f'    start "sleep 100"\n    env {{\n      {name} = "{public}"\n'
                         "    }")
        assert any(f"({name} in its env)" in p.message for p in untrusted(config)), name


_SHELLISH = st.lists(st.sampled_from([*"ab/.-=$'\"\\ ;&|()<>\n\t#*~{}",
    "sh ", "-c ", "env ", "-S ", "python3 ", "-m ", "sudo ", "trap ", "'' ", '"" ',
    "exec ", "x=1 "]), max_size=30).map("".join)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(line=_SHELLISH)
def test_no_command_line_makes_the_judge_fail(line: str) -> None:
    # crg run judged every command before it started anything: a line the language
    # accepts (`sh -c 'trap "" TERM; ...'`, an empty quoted word) must be judged, not
    # end in an internal error.
    for words in (("/bin/sh", "-c", line), tuple(line.split(" ")), (line,)):
        launch = Launch("web's start command", SPAN, words, tuple(SYSTEM_PATH.split(":")),
                        "/")
        list(judged(launch))


def test_an_empty_quoted_word_in_a_shell_line_is_judged() -> None:
    config = _config("""    start "sh -c 'trap \\"\\" TERM; sleep 100'" """)
    assert untrusted(config) == []
