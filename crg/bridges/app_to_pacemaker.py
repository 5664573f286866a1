"""One group's application as a Pacemaker primitive (``crg export pacemaker``).

Four shapes, tried in this order (the importer reads each back, so they round-trip):

* ``systemctl start UNIT`` becomes ``systemd:UNIT``: Pacemaker then starts, stops and
  watches the unit through systemd itself. Wrapping ``systemctl start`` in
  ``ocf:heartbeat:anything`` would not work: that agent records the pid of the command
  it starts and calls the application dead as soon as ``systemctl`` returns.
* ``/usr/lib/ocf/resource.d/PROVIDER/TYPE start`` (with ``OCF_RESKEY_*`` in ``env``)
  becomes ``ocf:PROVIDER:TYPE`` with those parameters: crg was running the agent itself.
* ``/etc/init.d/NAME start`` becomes ``lsb:NAME``.
* Anything else becomes ``ocf:heartbeat:anything``, the agent for a long-running
  command: ``binfile`` and ``cmdline_options`` are the start command with every static
  placeholder filled in (``{node}`` becomes ``$(crm_node -n)``, which the agent's shell
  expands to the Pacemaker node name), ``env`` is put in front through ``/usr/bin/env``,
  ``shell`` through ``/bin/sh -c``, ``dir`` is ``workdir``, an ``exec`` monitor's command
  is ``monitor_hook``.

What a shape cannot carry is returned as warnings, each at the statement it concerns.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from crg.bridges.pacemaker_model import Op, Primitive
from crg.dsl import Group, MonitorKind, templates
from crg.dsl.source import Span
from crg.dsl.templates import substitute

OCF_ROOT = "/usr/lib/ocf"
NODE_NAME = "$(crm_node -n)"
"""What ``{node}`` becomes: expanded when the agent's shell runs the command."""
ENV = "/usr/bin/env"
SHELL = "/bin/sh"
SYSTEMCTL = ("systemctl", "/bin/systemctl", "/usr/bin/systemctl")
STOP_MARGIN_MS = 10_000
"""The stop operation's timeout beyond the agent's own wait before SIGKILL: Pacemaker
fences a node whose stop times out, so the agent must always finish first."""

_OCF_AGENT = re.compile(r"/usr/lib/ocf/resource\.d/([A-Za-z0-9_.-]+)/([A-Za-z0-9_.-]+)")
_INIT_SCRIPT = re.compile(r"/etc/init\.d/([A-Za-z0-9_.@-]+)")
_UNSAFE_IN_ANYTHING = re.compile(r'["`\\$]')
"""Characters that ocf:heartbeat:anything's ``eval`` inside double quotes interprets."""
_SPACES = re.compile(r"\s\s|[\t\n\r\v\f]")
"""Blanks the agent's unquoted ``$cmd`` would split on and its ``eval`` join with one space."""

Warn = Callable[[str, Span], None]


@dataclass(frozen=True, slots=True)
class AppShape:
    standard: str
    provider: str | None
    type: str
    params: tuple[tuple[str, str], ...]


def placeholder_values(group: Group, cluster: str) -> dict[str, str]:
    """The static placeholders of ``group`` and ``{node}`` as the agent's shell spells it."""
    return templates.placeholder_values(group, NODE_NAME, cluster)


def app_primitive(group: Group, cluster: str, warn: Warn) -> Primitive:
    values = placeholder_values(group, cluster)
    app = group.app
    argv = [substitute(arg, values) for arg in app.start.argv]
    env = {k: substitute(v, values) for k, v in app.env}
    shape = (_systemd(group, argv, warn) or _ocf(group, argv, env, warn)
             or _lsb(group, argv, warn) or _anything(group, argv, env, values, warn))
    return Primitive(f"{group.name}-app", shape.standard, shape.provider, shape.type,
                     shape.params, _ops(group, shape, warn))


# -- the four shapes ------------------------------------------------------------------------


def _systemd(group: Group, argv: list[str], warn: Warn) -> AppShape | None:
    if len(argv) != 3 or argv[0] not in SYSTEMCTL or argv[1] != "start":
        return None
    unit = argv[2]
    _managed_elsewhere(group, f"systemd:{unit}", ("systemctl", "stop", unit),
                       ("systemctl", "is-active"), warn, unit=unit)
    return AppShape("systemd", None, unit, ())


def _ocf(group: Group, argv: list[str], env: Mapping[str, str], warn: Warn) -> AppShape | None:
    match = _OCF_AGENT.fullmatch(argv[0]) if len(argv) == 2 and argv[1] == "start" else None
    if match is None:
        return None
    provider, kind = match.groups()
    agent = f"ocf:{provider}:{kind}"
    params = tuple((k.removeprefix("OCF_RESKEY_"), v) for k, v in env.items()
                   if k.startswith("OCF_RESKEY_"))
    other = [k for k in env if not k.startswith("OCF_RESKEY_")
             and k not in ("OCF_ROOT", "OCF_RESOURCE_INSTANCE")]
    if other:
        warn(f"{agent} takes its parameters as OCF_RESKEY_*; env {', '.join(other)} has no "
             "counterpart and is not exported", group.app.span)
    # Pacemaker sets both itself: its own agent root, and the resource's id.
    if env.get("OCF_ROOT", OCF_ROOT).rstrip("/") != OCF_ROOT:
        warn(f"{agent}: Pacemaker runs its agents from {OCF_ROOT}; env OCF_ROOT="
             f"{env['OCF_ROOT']} has no counterpart and is not exported (install the agent "
             f"under {OCF_ROOT}/resource.d)", group.app.span)
    if "OCF_RESOURCE_INSTANCE" in env:
        warn(f"{agent}: Pacemaker sets OCF_RESOURCE_INSTANCE to the resource's id, "
             f"{group.name}-app; env OCF_RESOURCE_INSTANCE={env['OCF_RESOURCE_INSTANCE']} "
             "is not exported", group.app.span)
    _managed_elsewhere(group, agent, (argv[0], "stop"), (argv[0], "monitor"), warn,
                       check_env=False)
    return AppShape("ocf", provider, kind, params)


def _lsb(group: Group, argv: list[str], warn: Warn) -> AppShape | None:
    match = _INIT_SCRIPT.fullmatch(argv[0]) if len(argv) == 2 and argv[1] == "start" else None
    if match is None:
        return None
    name = match.group(1)
    _managed_elsewhere(group, f"lsb:{name}", (argv[0], "stop"), (argv[0], "status"), warn)
    return AppShape("lsb", None, name, ())


def _managed_elsewhere(group: Group, agent: str, stop: tuple[str, ...],
                       status: tuple[str, ...], warn: Warn, *, check_env: bool = True,
                       unit: str | None = None) -> None:
    """The agent starts, stops and checks the application itself: crg's own stop and
    status commands, environment and directory have no place to go. ``unit``: a systemd
    unit, which the status command (``systemctl is-active [--quiet] UNIT``) must name."""
    app = group.app
    if app.stop.command is not None and tuple(app.stop.command.argv) != stop:
        warn(f"{agent} stops the application itself; this stop command is not exported",
             app.stop.span)
    if app.status is not None and (
            tuple(app.status.argv[:len(status)]) != status
            or (unit is not None
                and [a for a in app.status.argv[len(status):] if a != "--quiet"] != [unit])):
        warn(f"{agent} checks the application itself; this status command is not exported",
             app.status.span)
    if check_env and app.env:
        warn(f"{agent} runs in the environment its manager gives it; env is not exported",
             app.span)
    if app.directory is not None:
        warn(f"{agent} chooses its own working directory; dir is not exported", app.span)
    if app.shell:
        warn(f"{agent} runs no shell command; shell is not exported", app.span)


def _anything(group: Group, argv: list[str], env: Mapping[str, str],
              values: Mapping[str, str], warn: Warn) -> AppShape:
    app = group.app
    if app.shell:
        argv = [SHELL, "-c", substitute(app.start.text, values)]
    if env:
        argv = [ENV, *(f"{k}={v}" for k, v in env.items()), *argv]
    binfile, options = argv[0], " ".join(_option_word(word) for word in argv[1:])
    unsafe = _UNSAFE_IN_ANYTHING.findall(
        " ".join(argv).replace(NODE_NAME, ""))
    if unsafe:
        warn("ocf:heartbeat:anything runs the command through `eval` inside double quotes: "
             f"{' '.join(sorted(set(unsafe)))} in it would be interpreted by that shell; "
             "check the exported cmdline_options", app.start.span)
    if any(_SPACES.search(word) for word in argv[1:]):
        warn("ocf:heartbeat:anything splits its command line on blanks before its `eval`: "
             "an argument with two blanks in a row, a tab or a line break reaches the "
             "application with one space instead; check the exported cmdline_options",
             app.start.span)
    for name, value, span in (("binfile", binfile, app.start.span),
                              ("workdir", app.directory or "", app.span)):
        if shlex.quote(value) != value and value:
            # The agent runs su -c "cd $workdir; nohup $binfile $cmdline_options ...".
            warn(f"ocf:heartbeat:anything puts its {name} unquoted into a shell command line: "
                 f"{value!r} would be split or interpreted there; choose a path without "
                 "spaces or shell characters", span)
    params = [("binfile", binfile)]
    if options:
        params.append(("cmdline_options", options))
    if app.directory is not None:
        params.append(("workdir", app.directory))
    hooks = [" ".join(_hook_word(substitute(arg, values)) for arg in shlex.split(m.target or ""))
             for m in group.monitors if m.kind is MonitorKind.EXEC]
    if hooks:
        params.append(("monitor_hook", " && ".join(hooks)))
    params.append(("stop_timeout", str(-(-app.stop.timeout_ms // 1000))))
    if app.stop.command is not None:
        warn("ocf:heartbeat:anything stops the application with SIGTERM, then SIGKILL; "
             "this stop command is not exported", app.stop.span)
    elif app.stop.signal != "TERM":
        warn(f"ocf:heartbeat:anything stops the application with SIGTERM, not SIG"
             f"{app.stop.signal}", app.stop.span)
    if app.status is not None:
        warn("ocf:heartbeat:anything watches the process it started (by its pid) and has "
             "no status command: a start command that daemonises needs its own agent or a "
             "systemd unit; the status command is not exported", app.status.span)
    return AppShape("ocf", "heartbeat", "anything", tuple(params))


def _option_word(word: str) -> str:
    """One word of ``cmdline_options``, which reaches the application through two shells:
    the agent's ``eval`` of ``su -c "... $cmdline_options ..."``, inside double quotes,
    then the shell of ``su -c``. Single quotes are plain characters to the first and
    quote for the second; a single quote in the word is closed, escaped and reopened
    (``'it'\\''s'``): shlex's ``'"'"'`` would end the first shell's double quotes."""
    if shlex.quote(word) == word:
        return word
    return "'" + word.replace("'", "'\\''") + "'"


def _hook_word(word: str) -> str:
    """One word of ``monitor_hook``, which the agent runs with ``eval "$hook"``: quoted,
    but with ``$(crm_node -n)`` in double quotes, where that shell expands it (in single
    quotes it would reach the check as those very characters)."""
    if NODE_NAME not in word:
        return shlex.quote(word)
    return f'"{NODE_NAME}"'.join(shlex.quote(part) if part else ""
                                 for part in word.split(NODE_NAME))


# -- operations ------------------------------------------------------------------------------


def _ops(group: Group, shape: AppShape, warn: Warn) -> tuple[Op, ...]:
    """One monitor operation per distinct interval (Pacemaker allows one per interval),
    then start and stop with crg's timeouts."""
    app = group.app
    by_interval: dict[int, int] = {}
    for monitor in group.monitors:
        if monitor.kind in (MonitorKind.TCP, MonitorKind.HTTP):
            warn(f"a {monitor.kind.value} check has no counterpart in {_agent(shape)}: "
                 "Pacemaker's monitor only asks the agent whether the application runs; the "
                 "interval and timeout are exported", monitor.span)
        elif monitor.kind is MonitorKind.EXEC and shape.type != "anything":
            warn(f"{_agent(shape)} has no hook for an exec check; the interval and timeout "
                 "are exported", monitor.span)
        if monitor.fails > 1:
            warn(f"Pacemaker acts on the first failed monitor; 'fails {monitor.fails}' has no "
                 "counterpart", monitor.span)
        by_interval[monitor.interval_ms] = max(by_interval.get(monitor.interval_ms, 0),
                                               monitor.timeout_ms)
    checks = [m for m in group.monitors if m.kind is MonitorKind.EXEC]
    if shape.type == "anything" and checks and len(group.monitors) > 1:
        warn("ocf:heartbeat:anything has one monitor_hook (every exec check, joined by &&), "
             "which it runs at every monitor operation once its process is found alive: "
             "the checks run at each exported interval, and crg import reads every monitor "
             "operation back as that exec check", group.monitors[1].span)
    ops = [Op("monitor", interval, timeout) for interval, timeout in sorted(by_interval.items())]
    ops.append(Op("start", 0, app.start.timeout_ms))
    stop_ms = app.stop.timeout_ms
    if shape.type == "anything":
        stop_ms = -(-stop_ms // 1000) * 1000 + STOP_MARGIN_MS
    ops.append(Op("stop", 0, stop_ms))
    return tuple(ops)


def _agent(shape: AppShape) -> str:
    return ":".join(p for p in (shape.standard, shape.provider, shape.type) if p)
