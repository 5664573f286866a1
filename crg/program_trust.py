"""Whether another local user could change a program the configuration makes ``crg run``
run — as the runtime's user, root as often as not.

A configuration only its user can write (:mod:`crg.config_trust`) still names programs:
``start "/opt/shop/bin/serve"``, an ``exec`` monitor's script, a hook or an alert
command. Whoever may rewrite one of them, or put one where it will be looked for, runs
code as the runtime's user at its next start. So each command is read as the runtime
will run it — its placeholders filled in as on each node, a word without a slash looked
up on the ``PATH`` the command will have (the application's ``env`` included), a
relative path taken from its working directory — and these are judged, each with every
directory above it, as the configuration is:

* the program, and every directory of ``PATH`` searched before the one that holds it (a
  program of the same name added there would be found first); a program that is not
  there (yet) by where it would be: its directory, or every directory of ``PATH``, must
  not take a new file from another user, since every restart looks again;
* after a launcher (``env``, ``nohup``, ``timeout``, ``nice``, ``setsid``...), the program
  it starts: the first word after it that is a program;
* after a shell's ``-c``, the command line it is given, read the same way (its first
  word after ``NAME=value`` and ``exec``); a ``shell`` application's commands are such
  command lines;
* for a script interpreter (``python3``, ``perl``, ``bash``...), the script it is given;
  and for Python, the directory it imports from first — the script's, or the working
  directory with ``-m`` or ``-c`` (``python3 -m http.server`` started in ``/tmp``
  imports an ``http`` package anyone may put there);
* a script's ``#!`` interpreter;
* any executable file named by its path on the line, a word or inside one (code given to
  ``awk`` or ``perl -e``);
* the paths the application's ``env`` makes programs load code from (``LD_PRELOAD``,
  ``PYTHONPATH``, ``BASH_ENV``...).

It cannot follow everything a program or a shell does with its arguments (a ``cd`` in a
shell command line, a program that reads its plugins from elsewhere): the README says
what is judged.
"""

from __future__ import annotations

import os
import re
import shlex
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

from crg.config_trust import others_can_change
from crg.dsl.diagnostics import Diagnostic, Severity
from crg.dsl.model import App, Command, Config, Group, MonitorKind, SinkKind
from crg.dsl.source import Span
from crg.dsl.templates import substitute
from crg.runtime.linefile import user_name

SHELL = re.compile(r"(?:ba|da|k|z|c|tc|mk|a)?sh")
PYTHON = re.compile(r"python[0-9.]*|pypy[0-9.]*")
INTERPRETER = re.compile(r"perl[0-9.]*|ruby[0-9.]*|node(?:js)?|php[0-9.]*|lua[0-9.]*"
                         r"|tclsh[0-9.]*|Rscript|bun|deno|g?awk")
"""Programs (besides shells and Python) whose first operand is a script they run."""
LAUNCHERS = frozenset({"env", "nohup", "timeout", "nice", "setsid", "stdbuf", "chrt",
                       "ionice", "taskset", "flock", "exec", "command", "time", "xargs",
                       "setpriv", "unshare", "nsenter", "prlimit", "runuser", "sudo",
                       "doas", "chroot", "systemd-run", "systemd-cat", "daemonize"})
"""Programs that start another program given later on their command line."""
PYTHON_VALUES = frozenset({"-W", "-X", "-Q"})
"""Python options whose value is the next word (not a script)."""
DEPTH = 6
"""Launchers and shells followed within one another at most."""


@dataclass(frozen=True, slots=True)
class Launch:
    """One command the runtime will run (on one node): what it is, where it is written,
    and how the runtime starts it."""

    what: str
    span: Span
    words: tuple[str, ...]
    path: tuple[str, ...]
    """The directories a program name is looked for in."""
    directory: str
    """Its working directory."""
    env: tuple[tuple[str, str], ...] = ()
    """What the configuration puts in its environment (the application's ``env``)."""


def untrusted(config: Config) -> list[Diagnostic]:
    """An error for each command of ``config`` whose program (or script, or what it
    imports) another user could change, at the command in the file."""
    found: list[Diagnostic] = []
    me = user_name(os.geteuid())
    seen: set[tuple[str, str]] = set()
    for launch in dict.fromkeys(launches(config)):
        for file, why in (*_judged(launch.words, launch, 0), *_loaded(launch)):
            if (launch.what, file) in seen:
                continue
            seen.add((launch.what, file))
            found.append(Diagnostic(
                Severity.ERROR, f"{launch.what} runs {file}, which another user could "
                f"change (it would run as {me}): {why}", launch.span,
                code="untrusted-program"))
    return found


def launches(config: Config) -> Iterator[Launch]:
    """Every command ``config`` makes the runtime run, as on each node (``{node}``, and
    with it anything built of placeholders, differs from node to node)."""
    here = os.getcwd()
    for node in config.nodes:
        for group in config.groups:
            values = _values(config, group, node)
            app = group.app
            env = tuple((k, substitute(v, values)) for k, v in app.env)
            own = _path(dict(env))
            folder = (os.path.join(here, substitute(app.directory, values)) if app.directory
                      else here)
            if env:  # what it makes the programs load, whichever command runs
                yield Launch(f"{group.name}'s env", app.span, (), own, folder, env)
            for what, command in _app_commands(group.name, app):
                words = (("/bin/sh", "-c", substitute(command.text, values)) if app.shell
                         else tuple(substitute(a, values) for a in command.argv))
                yield Launch(what, command.span, words, own, folder)
            for monitor in group.monitors:
                if monitor.kind is MonitorKind.EXEC and monitor.target:
                    yield Launch(f"{group.name}'s exec monitor", monitor.span,
                                 _split(monitor.target, values), own, here)
            yield from _sinks(group, values, _path({}), here)


def _values(config: Config, group: Group, node: str) -> dict[str, str]:
    """The placeholders' values for ``group`` on ``node`` (crg.runtime.machine)."""
    vip = group.vip
    return {"vip": vip.address, "prefix": str(vip.prefix), "dev": vip.device or "",
            "node": node, "group": group.name, "cluster": config.cluster.name}


def _app_commands(name: str, app: App) -> Iterator[tuple[str, Command]]:
    yield f"{name}'s start command", app.start
    if app.stop.command is not None:
        yield f"{name}'s stop command", app.stop.command
    if app.status is not None:
        yield f"{name}'s status command", app.status


def _sinks(group: Group, values: Mapping[str, str], path: tuple[str, ...],
           here: str) -> Iterator[Launch]:
    for role, sinks in (("alert", group.alerts), ("hook", group.hooks)):
        for sink in sinks:
            if sink.kind is SinkKind.COMMAND and sink.target:
                yield Launch(f"{group.name}'s {role} command", sink.span,
                             _split(sink.target, values), path, here)


def _path(extra: Mapping[str, str]) -> tuple[str, ...]:
    return tuple(os.get_exec_path({**os.environ, **extra}))


def _split(text: str, values: Mapping[str, str]) -> tuple[str, ...]:
    """A command given as text, split as the runtime splits it (then filled in)."""
    try:
        return tuple(substitute(word, values) for word in shlex.split(text))
    except (ValueError, KeyError):  # the configuration's check has said so already
        return ()


# -- judging ---------------------------------------------------------------------------


def _judged(words: Sequence[str], launch: Launch, depth: int) -> Iterator[tuple[str, str]]:
    """(file, why) for what the command ``words`` runs that another user could change."""
    if not words or depth > DEPTH:
        return
    found = _find(words[0], launch)
    if found is None:
        yield from _unfound(words[0], launch)
        yield from _named_programs(words[1:], launch)
        return
    file, before = found
    for folder in before:
        if (why := others_can_change(folder, adding=True)) is not None:
            yield file, why
    if (why := others_can_change(file)) is not None:
        yield file, why
    if (interpreter := _shebang(file)) and depth < DEPTH:
        # a script's interpreter runs it: its own, or what #!/usr/bin/env finds
        # (given the script as the kernel gives it: Python imports from its directory)
        yield from _judged([*interpreter, file], launch, depth + 1)
    base, rest = os.path.basename(file), list(words[1:])
    if base in LAUNCHERS:
        if "-c" in rest[:-1]:  # su -c, runuser -c, flock -c: a shell command line
            yield from _judged(_line(rest[rest.index("-c") + 1]), launch, depth + 1)
        started = next((i for i, w in enumerate(rest) if not w.startswith("-")
                        and _find(w, launch, executable=True) is not None), None)
        if started is not None:
            yield from _judged(rest[started:], launch, depth + 1)
    elif SHELL.fullmatch(base):
        yield from _shell(rest, launch, depth)
    elif PYTHON.fullmatch(base):
        yield from _python(rest, launch)
    elif INTERPRETER.fullmatch(base):
        yield from _script(next((w for w in rest if not w.startswith("-")), None), launch)
    yield from _named_programs(rest, launch)


def _named_programs(words: Sequence[str], launch: Launch) -> Iterator[tuple[str, str]]:
    """A program named by its path anywhere on the line, a word or inside one (code given
    to ``perl -e``, ``awk``, ``find -exec``...): whatever starts it, it is a program."""
    for word in words:
        named = [word] if "/" in word and not word.startswith("/") else []
        for candidate in (*named, *_ABSOLUTE.findall(word)):
            exe = _find(candidate, launch, executable=True)
            if exe is not None and (why := others_can_change(exe[0])) is not None:
                yield exe[0], why


_ABSOLUTE = re.compile(r"(?<![\w.~-])/[^\s'\"`;|&(){}<>$,]+")
"""An absolute path in a word (``system("/opt/x/run")``)."""


def _shebang(file: str) -> list[str]:
    """The interpreter line of a script (``#!/usr/bin/env python3``: its words); empty
    for a binary or a file that cannot be read."""
    try:
        with open(file, "rb") as handle:
            first = handle.readline(256)
    except OSError:
        return []
    if not first.startswith(b"#!"):
        return []
    return first[2:].decode(errors="replace").split()


LOADERS = {"LD_PRELOAD", "LD_LIBRARY_PATH", "LD_AUDIT", "GCONV_PATH", "PYTHONPATH",
           "PYTHONHOME", "PYTHONSTARTUP", "PERL5LIB", "PERLLIB", "PERL5OPT", "RUBYLIB",
           "RUBYOPT", "NODE_PATH", "NODE_OPTIONS", "BASH_ENV", "ENV", "JAVA_TOOL_OPTIONS",
           "CLASSPATH", "LUA_PATH", "LUA_CPATH", "TCLLIBPATH"}
"""Environment variables whose paths the dynamic loader or an interpreter reads code
from (``LD_PRELOAD=/tmp/x.so`` runs ``x.so`` in every program started)."""


def _loaded(launch: Launch) -> Iterator[tuple[str, str]]:
    """(file, why) for the paths in ``launch``'s environment that code is loaded from,
    where another user could change what is there, or put something there."""
    for name, value in launch.env:
        if name not in LOADERS:
            continue
        for part in re.split(r"[\s:;]+", value):
            path = part.split("=", 1)[-1]  # NODE_OPTIONS=--require=/x.js
            path = path.split(";", 1)[0].replace("?", "")  # LUA_PATH's /x/?.lua
            if not path.startswith("/"):
                continue
            if os.path.exists(path):
                why = others_can_change(path, adding=os.path.isdir(path))
                if why is not None:
                    yield f"{path} ({name} in its env)", why
            else:
                for shown, why in _unfound(path, launch):
                    yield f"{shown} ({name} in its env)", why


def _shell(rest: Sequence[str], launch: Launch, depth: int) -> Iterator[tuple[str, str]]:
    """``sh -c 'LINE'``: LINE's program; ``sh SCRIPT``: the script."""
    options = [w for w in rest if w.startswith("-") and not w.startswith("--")]
    operands = [w for w in rest if not w.startswith("-")]
    if any("c" in w[1:] for w in options):
        if operands:
            line = _line(operands[0])
            yield from _judged(line, launch, depth + 1)
        return
    yield from _script(operands[0] if operands else None, launch)


def _line(text: str) -> list[str]:
    """A shell command line's words from its program on (after ``NAME=value`` and
    ``exec``); as far as shlex reads a shell."""
    try:
        words = shlex.split(text, comments=True)
    except ValueError:
        return []
    while words and (words[0] == "exec" or re.fullmatch(r"[A-Za-z_]\w*=.*", words[0])):
        words = words[1:]
    return words


def _python(rest: Sequence[str], launch: Launch) -> Iterator[tuple[str, str]]:
    """Python's script, and the directory it imports from first: the script's, else
    (``-m``, ``-c``, standard input) the working directory."""
    i, isolated = 0, False
    while i < len(rest) and rest[i].startswith("-"):
        flag = rest[i]
        if flag.startswith(("-m", "-c")):
            break
        # -I and -P keep the script's directory and the working directory off the path
        isolated = isolated or (not flag.startswith("--") and bool(set(flag[1:]) & set("IP")))
        i += 2 if flag in PYTHON_VALUES else 1
    script = rest[i] if i < len(rest) and not rest[i].startswith("-") else None
    if script is None:
        first, fix = launch.directory, ("; or start crg run in a directory only you can "
                                        "write, or give the application a dir")
    else:
        yield from _script(script, launch)
        first, fix = os.path.dirname(os.path.join(launch.directory, script)), ""
    if not isolated and (why := others_can_change(first, adding=True)) is not None:
        yield f"{first} (Python imports from it first)", why + fix


def _script(script: str | None, launch: Launch) -> Iterator[tuple[str, str]]:
    """The script an interpreter is given: judged if it is there, by where it would be
    if not."""
    if script is None:
        return
    where = os.path.join(launch.directory, script)
    if os.path.isfile(where):
        if (why := others_can_change(where)) is not None:
            yield where, why
    elif not os.path.exists(where):
        yield from _unfound(where, launch)


def _unfound(name: str, launch: Launch) -> Iterator[tuple[str, str]]:
    """A program or script not there now: where it would be looked for must not take a
    new file from another user (the runtime looks again at every start)."""
    if "/" in name:
        where = os.path.join(launch.directory, name)
        folder = os.path.dirname(where)
        while folder and not os.path.isdir(folder) and folder != os.path.dirname(folder):
            folder = os.path.dirname(folder)
        if (why := others_can_change(folder, adding=True)) is not None:
            yield f"{where} (not there yet)", why
        return
    for folder in launch.path:
        where = os.path.join(launch.directory, folder)
        if (why := others_can_change(where, adding=True)) is not None:
            yield f"{os.path.join(where, name)} (not there yet)", why


def _find(name: str, launch: Launch, executable: bool = False
          ) -> tuple[str, list[str]] | None:
    """Where ``name`` is found as the runtime would find it, and the directories searched
    before (None: nowhere). ``executable``: only an executable file counts."""
    if not name:
        return None
    if "/" in name:
        where = os.path.join(launch.directory, name)
        if os.path.isfile(where) and (not executable or os.access(where, os.X_OK)):
            return where, []
        return None
    for i, folder in enumerate(launch.path):
        where = os.path.join(launch.directory, folder, name)
        if os.path.isfile(where) and os.access(where, os.X_OK):
            return where, [os.path.join(launch.directory, f) for f in launch.path[:i]]
    return None
