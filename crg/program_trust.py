"""Whether another local user could change a program the configuration makes ``crg run``
run — as the runtime's user, root as often as not.

A configuration only its user can write (:mod:`crg.config_trust`) still names programs:
``start "/opt/shop/bin/serve"``, an ``exec`` monitor's script, a hook or an alert
command. Whoever may rewrite one of them runs code as the runtime's user at its next
start. Each is looked up as the runtime will look it up — a word without a slash on the
``PATH`` the command will have (the application's ``env`` included), a relative path from
the application's ``directory`` — and judged with everything above it, as the
configuration is. So is every directory of ``PATH`` searched before the one that holds
it: a program of the same name added there would be found first. Where the program is a
shell or a script interpreter (``sh``, ``bash``, ``python3``, ``perl``...), the script it is
given is judged too, and after ``env`` the program it starts. A program that is not
there is not judged: starting it says what is wrong. What a shell command line does
beyond its first word (``shell`` applications) is the shell's business and not followed.
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
from crg.runtime.linefile import user_name

INTERPRETER = re.compile(r"(?:ba|da|k|z|c|tc)?sh|python[0-9.]*|pypy[0-9.]*|perl[0-9.]*"
                         r"|ruby[0-9.]*|node(?:js)?|php[0-9.]*|lua[0-9.]*|tclsh[0-9.]*"
                         r"|Rscript|bun|deno|awk|gawk")
"""Programs whose first argument that is not an option is a script they run."""

@dataclass(frozen=True, slots=True)
class Launch:
    """One command the runtime will run: what it is, where it is written, and how the
    runtime starts it."""

    what: str
    span: Span
    words: Sequence[str]
    path: Sequence[str]
    """The directories a program name is looked for in."""
    directory: str


def untrusted(config: Config) -> list[Diagnostic]:
    """An error for each command of ``config`` whose program (or script) another user
    could change, at the command in the file."""
    found: list[Diagnostic] = []
    me = user_name(os.geteuid())
    seen: set[tuple[str, str]] = set()
    for launch in launches(config):
        for file, why in _judged(launch):
            if (launch.what, file) in seen:
                continue
            seen.add((launch.what, file))
            found.append(Diagnostic(
                Severity.ERROR, f"{launch.what} runs {file}, which another user could "
                f"change (it would run as {me}): {why}", launch.span,
                code="untrusted-program"))
    return found


def launches(config: Config) -> Iterator[Launch]:
    """Every command ``config`` makes the runtime run, with how it will be started."""
    here = os.getcwd()
    for group in config.groups:
        app = group.app
        own = _path({k: v for k, v in app.env if "{" not in v})
        folder = os.path.join(here, app.directory) if app.directory else here
        for what, command in _app_commands(group.name, app):
            # A shell's first word (after NAME=value and exec) is the program it runs.
            words = (_program([w for w in _split(command.text) if w != "exec"])[:1]
                     if app.shell else command.argv)
            yield Launch(what, command.span, words, own, folder)
        for monitor in group.monitors:
            if monitor.kind is MonitorKind.EXEC and monitor.target:
                yield Launch(f"{group.name}'s exec monitor", monitor.span,
                             _split(monitor.target), own, here)
        yield from _sinks(group, _path({}), here)


def _app_commands(name: str, app: App) -> Iterator[tuple[str, Command]]:
    yield f"{name}'s start command", app.start
    if app.stop.command is not None:
        yield f"{name}'s stop command", app.stop.command
    if app.status is not None:
        yield f"{name}'s status command", app.status


def _sinks(group: Group, path: Sequence[str], here: str) -> Iterator[Launch]:
    for role, sinks in (("alert", group.alerts), ("hook", group.hooks)):
        for sink in sinks:
            if sink.kind is SinkKind.COMMAND and sink.target:
                yield Launch(f"{group.name}'s {role} command", sink.span,
                             _split(sink.target), path, here)


def _path(extra: Mapping[str, str]) -> list[str]:
    return os.get_exec_path({**os.environ, **extra})


def _split(text: str) -> list[str]:
    try:
        return shlex.split(text)
    except ValueError:  # the configuration's check has said so already
        return []


def _judged(launch: Launch) -> Iterator[tuple[str, str]]:
    """(file, why) for each file the command runs that another user could change."""
    words = list(launch.words)
    while words and "{" not in words[0]:  # a placeholder is known only when it runs
        found = _find(words[0], launch)
        if found is None:
            return
        file, before = found
        for folder in before:
            if (why := others_can_change(folder, adding=True)) is not None:
                yield file, why
        if (why := others_can_change(file)) is not None:
            yield file, why
        base, words = os.path.basename(file), _program(words[1:])
        if base != "env":  # env [-i] [NAME=value]... program: that program is next
            if INTERPRETER.fullmatch(base):
                yield from _script(words[:1], launch)
            return


def _program(words: Sequence[str]) -> list[str]:
    """``words`` from the first that is neither an option nor an assignment."""
    for i, word in enumerate(words):
        if not word.startswith("-") and "=" not in word:
            return list(words[i:])
    return []


def _script(words: Sequence[str], launch: Launch) -> Iterator[tuple[str, str]]:
    """The script an interpreter is given, if it is a file (``-c code``, ``-m module``:
    no file, nothing judged)."""
    for script in words:
        where = os.path.join(launch.directory, script)
        if ("{" not in script and os.path.isfile(where)
                and (why := others_can_change(where)) is not None):
            yield where, why


def _find(name: str, launch: Launch) -> tuple[str, list[str]] | None:
    """Where ``name`` is found as the runtime would find it, and the directories searched
    before (None: nowhere)."""
    if "/" in name:
        where = os.path.join(launch.directory, name)
        return (where, []) if os.path.isfile(where) else None
    for i, folder in enumerate(launch.path):
        where = os.path.join(launch.directory, folder, name)
        if os.path.isfile(where) and os.access(where, os.X_OK):
            return where, [os.path.join(launch.directory, f) for f in launch.path[:i]]
    return None
