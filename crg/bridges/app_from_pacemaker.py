"""A Pacemaker application primitive as a crg ``app`` and monitors (``crg import pacemaker``).

The reverse of :mod:`crg.bridges.app_to_pacemaker`: ``ocf:heartbeat:anything`` gives back
the command (``/usr/bin/env`` prefixes become ``env``, ``/bin/sh -c`` becomes ``shell``,
``$(crm_node -n)`` becomes ``{node}``), ``systemd:UNIT`` and ``lsb:NAME`` become the
commands that drive them, and any other OCF agent is run as crg would run it: the agent
itself with ``start``, ``stop`` and ``monitor``, its parameters as ``OCF_RESKEY_*``.
"""

from __future__ import annotations

import re
import shlex
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, field

from crg.bridges.app_to_pacemaker import ENV, NODE_NAME, OCF_ROOT, SHELL, STOP_MARGIN_MS
from crg.bridges.crg_writer import braced, literal
from crg.bridges.import_secrets import pair_text
from crg.bridges.pacemaker_boolean import boolean
from crg.bridges.pacemaker_nvpairs import first_values, ordered_pairs
from crg.bridges.pacemaker_time import duration_ms, duration_text
from crg.dsl.format import quote

Note = Callable[[ET.Element, str], object]
_SHELL_OPERATORS = {"|", "||", "&&", ";", "&", ">", ">>", "<", "2>&1", "<<"}
_IGNORED_ANYTHING = {"pidfile": "crg tracks the process itself",
                     "logfile": "crg writes the output to RUN_DIR/logs/NODE/GROUP.log",
                     "errlogfile": "crg writes the output to RUN_DIR/logs/NODE/GROUP.log",
                     "user": "crg runs the application as its own user; change user in the "
                             "command if needed"}


class BadElement(ValueError):
    """Bad input at an element inside the primitive (an operation), not at the primitive."""

    def __init__(self, element: ET.Element, message: str) -> None:
        super().__init__(message)
        self.element = element


@dataclass
class AppDraft:
    items: list[str] = field(default_factory=list)
    """The lines inside ``app { }``."""
    monitors: list[str] = field(default_factory=list)


def primitive_params(primitive: ET.Element) -> dict[str, str]:
    return first_values(ordered_pairs(primitive, "instance_attributes"))


DEFAULT_OP_TIMEOUT_MS = 20_000
"""Pacemaker's timeout of an operation that gives none (and no op_defaults does either)."""


def app_from_primitive(primitive: ET.Element, note: Note,
                       default_timeout_ms: int = DEFAULT_OP_TIMEOUT_MS) -> AppDraft:
    """``default_timeout_ms``: what Pacemaker gives an operation without a timeout (its
    own 20 s, or op_defaults'), so that crg's shorter defaults (a monitor's 1 s) do not
    take its place."""
    standard, provider = primitive.get("class", ""), primitive.get("provider", "")
    kind = primitive.get("type", "")
    params = primitive_params(primitive)
    for op in primitive.iterfind("operations/op"):
        if not op.get("name"):
            raise BadElement(op, "an operation without a name (start, stop, monitor...): "
                                 "Pacemaker's schema requires one")
    ops = {(op.get("name", ""), duration_ms(op.get("interval", "0"))): op
           for op in primitive.iterfind("operations/op")}
    draft = AppDraft()
    start_timeout = _timeout(ops.get(("start", 0))) or default_timeout_ms
    stop_timeout = _timeout(ops.get(("stop", 0))) or default_timeout_ms
    if standard == "ocf" and provider == "heartbeat" and kind == "anything":
        _anything(primitive, params, draft, start_timeout, stop_timeout, note)
    else:
        if standard == "service":
            # Pacemaker's "service" runs the systemd unit where there is one, else the LSB
            # script; systemctl does both (an init.d script gets a generated unit).
            note(primitive, f"service:{kind} is imported as the systemd unit {kind} "
                            "(systemctl also runs an init.d script of that name)")
        elif standard not in ("systemd", "lsb", "ocf") or (standard == "ocf"
                                                          and not provider):
            # Written as an OCF agent all the same (the group keeps its app), but said:
            # it was written as /usr/lib/ocf/resource.d//fence_xvm without a word.
            note(primitive, f"class={standard!r} provider={provider!r}: crg runs OCF "
                            "agents (with a provider), LSB scripts and systemd units only; "
                            "imported as the OCF agent below, which does not exist: "
                            "replace the app's commands")
        if standard in ("systemd", "service"):
            start, stop, status = (f"systemctl start {kind}", f"systemctl stop {kind}",
                                   f"systemctl is-active --quiet {kind}")
        elif standard == "lsb":
            script = f"/etc/init.d/{kind}"
            start, stop, status = f"{script} start", f"{script} stop", f"{script} status"
        else:
            agent = f"{OCF_ROOT}/resource.d/{provider}/{kind}"
            start, stop, status = f"{agent} start", f"{agent} stop", f"{agent} monitor"
        draft.items += [f"start {literal(start)}{_opt(start_timeout)}",
                        f"stop {literal(stop)}{_opt(stop_timeout)}",
                        f"status {literal(status)}"]
        if standard == "ocf":
            env = [f'OCF_ROOT = {literal(OCF_ROOT)}'] + [
                f"OCF_RESKEY_{k} = {literal(v)}" for k, v in _env_params(primitive, params,
                                                                         note).items()]
            draft.items.append("env {\n" + "\n".join(f"  {e}" for e in env) + "\n}")
        elif params:
            note(primitive, f"{standard} resources take no parameters; "
                            f"{', '.join(params)} not imported")
    hook = params.get("monitor_hook") if kind == "anything" else None
    # The agent runs its monitor_hook at every monitor operation, once it has found its
    # process alive, which crg sees for itself (the application's exit is a fault): each
    # operation is the hook, checked at its interval with its timeout.
    check = (f"exec {quote(braced(hook).replace(NODE_NAME, '{node}'))}" if hook
             else "process")
    for (name, interval), op in ops.items():
        if name in ("start", "stop", "monitor"):
            unread_op_settings(op, note)
        if name == "monitor" and interval:
            if op.get("role") not in (None, "Started"):
                note(op, f"a monitor for role {op.get('role')} has no counterpart; not "
                         "imported")
                continue
            if boolean(op.get("enabled", "true")) is False:
                note(op, "a disabled monitor (enabled=false): Pacemaker does not run it; "
                         "not imported")
                continue
            draft.monitors.append(f"monitor {check} every {duration_text(interval)}"
                                  f"{_opt(_timeout(op) or default_timeout_ms)} fails 1")
        elif name not in ("start", "stop", "monitor"):
            note(op, f"the {name} operation has no counterpart in crg; not imported")
    if not draft.monitors:
        note(primitive, "no recurring monitor operation: Pacemaker never checks it once "
                        f"started{' (nor runs its monitor_hook)' if hook else ''}; crg needs "
                        f"a monitor: imported as monitor {check.split()[0]}")
        draft.monitors.append(f"monitor {check} fails 1")
    return draft


_ENV_NAME = re.compile(r"[A-Za-z0-9_]+")


def _env_params(primitive: ET.Element, params: dict[str, str], note: Note) -> dict[str, str]:
    """The parameters an OCF agent can be given as ``OCF_RESKEY_name``: a name such as
    ``target-role`` (a meta attribute written among the parameters) makes a variable that
    no shell agent can read, and that crg refuses to set, so the imported file would not
    have validated."""
    bad = [name for name in params if not _ENV_NAME.fullmatch(name)]
    if bad:
        note(primitive, f"parameter{'s' * (len(bad) > 1)} {', '.join(repr(n) for n in bad)}: "
                        "not a name an environment variable can have (crg gives an OCF "
                        "agent its parameters as OCF_RESKEY_name); not imported")
    return {name: value for name, value in params.items() if name not in bad}


def _anything(primitive: ET.Element, params: dict[str, str], draft: AppDraft,
              start_timeout: int | None, stop_timeout: int | None, note: Note) -> None:
    binfile = params.get("binfile", "")
    try:
        argv = [binfile, *shlex.split(params.get("cmdline_options", ""))]
    except ValueError:
        argv = []
    env: list[tuple[str, str]] = []
    if argv and argv[0] in (ENV, "env"):
        argv.pop(0)
        while argv and "=" in argv[0] and not argv[0].startswith("="):
            key, value = argv.pop(0).split("=", 1)
            env.append((key, value))
    if len(argv) == 3 and argv[:2] == [SHELL, "-c"]:
        shell, text = True, braced(argv[2])
    elif argv and not any(_shell_syntax(a) for a in argv):
        shell, text = False, shlex.join(braced(a) for a in argv)
    else:
        # Unbalanced quotes or shell syntax: the agent ran it through its shell; so do we.
        shell = True
        text = braced(f"{binfile} {params.get('cmdline_options', '')}".strip())
    if not binfile:
        note(primitive, "ocf:heartbeat:anything without binfile: there is no command to run")
    text = text.replace(shlex.quote(NODE_NAME), "{node}").replace(NODE_NAME, "{node}")
    draft.items.append(f"start {quote(text)}{_opt(start_timeout)}")
    stop_seconds = params.get("stop_timeout")
    if stop_seconds and stop_seconds.isdigit():
        draft.items.append(f"stop signal TERM timeout {stop_seconds}s")
    elif stop_timeout:
        draft.items.append(f"stop signal TERM timeout "
                           f"{duration_text(max(stop_timeout - STOP_MARGIN_MS, 1000))}")
    if env:
        draft.items.append("env {\n" + "\n".join(
            f"  {k} = {quote(braced(v).replace(NODE_NAME, '{node}'))}" for k, v in env)
            + "\n}")
    if shell:
        draft.items.append("shell")
    if params.get("workdir"):
        draft.items.append(f"dir {literal(params['workdir'])}")
    for name, why in _IGNORED_ANYTHING.items():
        if params.get(name):
            note(primitive, f"{pair_text(name, params[name])}: {why}; not imported")


_READ_OP = {"id", "name", "interval", "timeout", "role", "enabled"}


_ON_FAIL = {"block": "Pacemaker leaves a resource that failed this way as it is, "
                     "unmanaged, until an operator cleans it up; ",
            "ignore": "Pacemaker carries on as if this operation had not failed; ",
            "stop": "Pacemaker stops the resource and leaves it stopped; ",
            "fence": "Pacemaker fences the node; ",
            "standby": "Pacemaker moves every resource off the node; "}
"""What an operation's ``on-fail`` makes Pacemaker do that crg does not."""


def unread_op_settings(op: ET.Element, note: Note) -> None:
    """An operation's settings that crg has no place for (on-fail=block, start-delay,
    OCF_CHECK_LEVEL...): said, not dropped in silence."""
    settings = [f"{k}={v}" for k, v in op.attrib.items() if k not in _READ_OP]
    settings += [pair_text(p.get("name"), p.get("value"))
                 for attributes in op.iterfind("instance_attributes")
                 for p in attributes.iterfind("nvpair")]
    settings += [pair_text(p.get("name"), p.get("value"))
                 for attributes in op.iterfind("meta_attributes")
                 for p in attributes.iterfind("nvpair")]
    if settings:
        why = (f" ({_ON_FAIL.get(op.get('on-fail', '').lower(), '')}on a failure crg restarts, "
               "then fails over, by its restart budget)" if op.get("on-fail") else "")
        note(op, f"{', '.join(settings)}: no counterpart in crg{why}; not imported")


def _shell_syntax(word: str) -> bool:
    """A word the agent's shell would have interpreted (``{node}``'s spelling aside)."""
    word = word.replace(NODE_NAME, "")
    return word in _SHELL_OPERATORS or "$" in word or "`" in word


def _timeout(op: ET.Element | None) -> int | None:
    if op is None or not op.get("timeout"):
        return None
    return duration_ms(op.get("timeout", ""))


def _opt(ms: int | None) -> str:
    return f" timeout {duration_text(ms)}" if ms else ""
