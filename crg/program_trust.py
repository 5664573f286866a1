"""Whether another local user could change a program the configuration makes ``crg run``
run — as the runtime's user, root as often as not.

A configuration only its user can write (:mod:`crg.config_trust`) still names programs:
``start "/opt/shop/bin/serve"``, an ``exec`` monitor's script, a hook or an alert
command. Whoever may rewrite one of them, or put one where it will be looked for, runs
code as the runtime's user at its next start. So each command is taken as the runtime
will run it — its placeholders filled in as on each node, in the working directory and
with the ``PATH`` and environment it will have — and what it runs or loads
(:mod:`crg.command_files`) is judged, each file with every directory above it, as the
configuration is.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Iterator, Mapping

from crg.command_files import Launch, judged
from crg.dsl.diagnostics import Diagnostic, Severity
from crg.dsl.model import App, Command, Config, Group, MonitorKind, SinkKind
from crg.dsl.templates import placeholder_values, substitute
from crg.runtime.linefile import user_name


def untrusted(config: Config) -> list[Diagnostic]:
    """An error for each command of ``config`` whose program (or script, or what it
    imports) another user could change, at the command in the file."""
    found: list[Diagnostic] = []
    me = user_name(os.geteuid())
    seen: set[tuple[str, str]] = set()
    for launch in dict.fromkeys(launches(config)):
        for file, why in judged(launch):
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
            values = placeholder_values(group, node, config.cluster.name)
            app = group.app
            env = tuple((k, substitute(v, values)) for k, v in app.env)
            own = _path(dict(env))
            # as the runtime uses it: placeholders are not filled in
            folder = os.path.join(here, app.directory) if app.directory else here
            if env:  # what it makes the programs load, whichever command runs
                yield Launch(f"{group.name}'s env", app.span, (), own, folder, env)
            for what, command in _app_commands(group.name, app):
                words = (("/bin/sh", "-c", substitute(command.text, values)) if app.shell
                         else tuple(substitute(a, values) for a in command.argv))
                yield Launch(what, command.span, words, own, folder)
            for monitor in group.monitors:
                if monitor.kind is MonitorKind.EXEC and monitor.target:
                    # run in the application's directory, with its env
                    yield Launch(f"{group.name}'s exec monitor", monitor.span,
                                 _split(monitor.target, values), own, folder)
            yield from _sinks(group, values, _path({}), here)


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


