"""Interpretation of single statements into typed values, reporting what is wrong with each."""

from __future__ import annotations

import enum
import ipaddress
import re
import shlex
from typing import TypeVar
from urllib.parse import urlsplit

from crg.dsl import builtin_defaults as D
from crg.dsl.builder import unit_slip
from crg.dsl.diagnostics import Collector, did_you_mean
from crg.dsl.model import App, Command, Monitor, MonitorKind, Sink, SinkKind, Stop, Vip
from crg.dsl.source import Span
from crg.dsl.syntax import (
    AppStmt,
    CommandItem,
    DirItem,
    Duration,
    EnvItem,
    MonitorStmt,
    Name,
    Number,
    ShellItem,
    SinkStmt,
    StopSignalItem,
    Str,
    VipStmt,
)
from crg.dsl.templates import PLACEHOLDERS, problems, substitute

E = TypeVar("E", bound=enum.StrEnum)


def enum_value(enum_type: type[E], name: Name, what: str, diag: Collector) -> E | None:
    try:
        return enum_type(name.text)
    except ValueError:
        diag.error(f"unknown {what} '{name.text}'", name.span,
                   hint=did_you_mean(name.text, [e.value for e in enum_type]), code="value")
        return None


# Upper bounds, so that a slip of the keyboard is an error instead of a checker that
# explores a budget of 10^20 restarts, or a time that JSON readers cannot hold exactly
# (README.md, "Lexical rules", says why these values).
MAX_DURATION_MS = 24 * 3_600_000
MAX_RESTARTS = 100
MAX_FAILS = 100


def in_range_ms(ms: int) -> bool:
    return 0 < ms <= MAX_DURATION_MS


def positive_ms(value: Duration, what: str, diag: Collector) -> int:
    """A duration's milliseconds; longer than zero and at most 24h, or an error."""
    slip = unit_slip(value.text)
    if slip is not None:  # said here, not when parsed: crg fmt formats such a file
        diag.error(f"duration '{value.text}' {slip[0]}", value.span, hint=slip[1],
                   code="value")
    elif value.ms <= 0:
        diag.error(f"{what} must be longer than zero, got {shown(value.text)}", value.span,
                   code="value")
    elif value.ms > MAX_DURATION_MS:
        diag.error(f"{what} must be at most 24h, got {shown(value.text)}", value.span,
                   code="value")
    return value.ms


def count(value: Number, what: str, diag: Collector, minimum: int,
          maximum: int | None = None) -> int:
    if value.value < minimum:
        diag.error(f"{what} must be at least {minimum}, got {shown(value.text)}", value.span,
                   code="value")
    elif maximum is not None and value.value > maximum:
        diag.error(f"{what} must be at most {maximum}, got {shown(value.text)}", value.span,
                   code="value")
    return value.value


def shown(text: str) -> str:
    """A number as written, shortened for a message."""
    return text if len(text) <= 24 else text[:21] + "..."


def check_template(text: Str, diag: Collector) -> None:
    """Report unknown or malformed placeholders, pointing inside the string."""
    for problem in problems(text.value):
        column = text.column_of(problem.offset)
        span = Span.point(text.span.line, column,
                          text.column_of(problem.offset + problem.width) - column)
        hint: str | None = "a literal brace is written {{ or }}"
        if problem.word is not None and problem.word.isidentifier():
            hint = did_you_mean(problem.word, PLACEHOLDERS)
            if hint is None or not hint.startswith("did you mean"):
                hint = "placeholders: " + ", ".join("{" + p + "}" for p in PLACEHOLDERS)
            else:
                hint = hint.replace("did you mean ", "did you mean {").replace("?", "}?")
        diag.error(problem.message, span, hint=hint, code="template")


def command(text: Str, timeout: Duration | None, default_ms: int, diag: Collector,
            what: str) -> Command:
    check_template(text, diag)
    try:
        argv = tuple(shlex.split(text.value))
    except ValueError as exc:
        diag.error(f"cannot split {what} command: {exc}", text.span, code="value")
        argv = ()
    if not argv and text.value.strip() == "":
        diag.error(f"{what} command is empty", text.span, code="value")
    timeout_ms = positive_ms(timeout, f"{what} timeout", diag) if timeout else default_ms
    return Command(text.value, argv, timeout_ms, text.span)


def vip(stmt: VipStmt, diag: Collector) -> Vip | None:
    text = stmt.address.text
    span = stmt.address.span
    if "/" not in text:
        try:
            ipaddress.ip_address(text)
        except ValueError:  # say what is wrong first, not that a prefix is missing
            diag.error(f"'{text}' is not a valid IPv4 or IPv6 address", span, code="address")
            return None
        diag.error(f"VIP '{text}' needs a prefix length", span,
                   hint=f"for example {text}/{'64' if ':' in text else '24'}", code="address")
        return None
    try:
        interface = ipaddress.ip_interface(text)
    except ValueError as exc:
        address, _, prefix = text.partition("/")
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            diag.error(f"'{address}' is not a valid IPv4 or IPv6 address", span, code="address")
            return None
        limit = 32 if ip.version == 4 else 128
        if prefix.isdigit() and int(prefix) > limit:
            diag.error(f"prefix /{prefix} does not fit an IPv{ip.version} address (at most "
                       f"/{limit})", span, code="address")
        else:
            diag.error(f"invalid VIP '{text}': {exc}", span, code="address")
        return None
    if interface.ip.is_unspecified or interface.ip.is_multicast:
        diag.error(f"'{interface.ip}' cannot be a VIP (unspecified or multicast)", span,
                   code="address")
    elif interface.version == 4 and interface.network.prefixlen < 31 and interface.ip in (
        interface.network.network_address,
        interface.network.broadcast_address,
    ):
        diag.error(f"'{interface.ip}' is the network or broadcast address of "
                   f"{interface.network}", span, code="address")
    device = None
    if stmt.device is not None:
        device = stmt.device.text
        if len(device) > 15 or "/" in device:
            diag.error(f"'{device}' is not a valid interface name (at most 15 characters, no "
                       f"'/')", stmt.device.span, code="value")
    return Vip(interface, device, stmt.span)


# Stand-ins for the placeholders, to check a URL's shape before the runtime fills it in.
_SAMPLES = {"vip": "192.0.2.1", "prefix": "24", "dev": "eth0", "node": "n1", "group": "g",
            "cluster": "c"}


def url_problem(template: str) -> str | None:
    """What is wrong with an http(s) URL that may hold placeholders, as the end of a
    sentence (``has no host``), or None."""
    if problems(template):
        return None  # check_template reports those; the URL cannot be filled in
    # An IPv6 VIP is written in brackets, as URLs need: http://[{vip}]:8080/
    text = substitute(template.replace("[{vip}]", "[2001:db8::1]"), _SAMPLES)
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as exc:  # a bracketed host that is no IPv6 address, a bad port...
        reason = str(exc)
        return f"is not a valid URL ({reason[:1].lower()}{reason[1:]})"
    if parts.scheme not in ("http", "https"):
        return "must start with http:// or https://"
    if not parts.hostname:
        return "has no host"
    if port == 0:
        return "has port 0"
    return None


def vip_host_problem(template: str, version: int) -> tuple[str, str] | None:
    """What is wrong with ``{vip}`` as the host of an http(s) URL for a VIP of IP
    ``version`` — an IPv6 address needs brackets there, an IPv4 one must have none — as
    (the end of a sentence, the URL written as it should be), or None."""
    # the authority by hand: urlsplit refuses a bracketed host that is no address yet
    _, sep, rest = template.replace("{{", "").replace("}}", "").partition("://")
    netloc = re.split(r"[/?#]", rest, maxsplit=1)[0] if sep else ""
    if "{vip}" not in netloc:
        return None  # in the path or the query string: no brackets needed
    bracketed = "[{vip}]" in netloc
    if version == 6 and not bracketed:
        return ("puts an IPv6 VIP in a URL without brackets",
                template.replace("{vip}", "[{vip}]", 1))
    if version == 4 and bracketed:
        return ("puts an IPv4 VIP in brackets, which only an IPv6 address takes in a URL",
                template.replace("[{vip}]", "{vip}", 1))
    return None


def signal_name(text: str) -> str | None:
    """The canonical spelling of a stop signal (``sigterm`` is ``TERM``), or None."""
    name = text.upper().removeprefix("SIG")
    return name if name in D.SIGNALS else None


def _signal(name: Name, diag: Collector) -> str:
    canonical = signal_name(name.text)
    if canonical is None:
        diag.error(f"unknown signal '{name.text}'", name.span,
                   hint=did_you_mean(name.text.upper().removeprefix("SIG"), D.SIGNALS),
                   code="value")
        return D.STOP_SIGNAL
    return canonical


def app(stmt: AppStmt, diag: Collector) -> App | None:
    seen: dict[str, Span] = {}
    start: Command | None = None
    stop = Stop(None, D.STOP_SIGNAL, D.STOP_TIMEOUT_MS, stmt.span)
    status: Command | None = None
    env: dict[str, str] = {}
    shell = False
    directory: str | None = None
    for item in stmt.items:
        key = item.keyword if isinstance(item, CommandItem) else type(item).__name__
        if isinstance(item, StopSignalItem):
            key = "stop"
        if key in seen and not isinstance(item, EnvItem):
            first = seen[key]
            diag.error(f"'{_item_word(item)}' given twice in one app block (first at {first})",
                       item.span, code="duplicate")
        seen.setdefault(key, item.span)
        if isinstance(item, CommandItem):
            if item.keyword == "start":
                start = command(item.command, item.timeout, D.START_TIMEOUT_MS, diag, "start")
            elif item.keyword == "stop":
                cmd = command(item.command, item.timeout, D.STOP_TIMEOUT_MS, diag, "stop")
                stop = Stop(cmd, D.STOP_SIGNAL, cmd.timeout_ms, item.span)
            else:
                status = command(item.command, item.timeout, D.STATUS_TIMEOUT_MS, diag, "status")
        elif isinstance(item, StopSignalItem):
            timeout = (positive_ms(item.timeout, "stop timeout", diag) if item.timeout
                       else D.STOP_TIMEOUT_MS)
            stop = Stop(None, _signal(item.signal, diag), timeout, item.span)
        elif isinstance(item, EnvItem):
            for key_name, value in item.pairs:
                if key_name.text in env:
                    diag.error(f"environment variable '{key_name.text}' set twice",
                               key_name.span, code="duplicate")
                if not key_name.text.replace("_", "a").isalnum() or "." in key_name.text:
                    diag.error(f"'{key_name.text}' is not a valid environment variable name",
                               key_name.span, code="value")
                check_template(value, diag)
                env[key_name.text] = value.value
        elif isinstance(item, ShellItem):
            shell = True
        elif isinstance(item, DirItem):
            directory = _directory(item.path, diag)
    if start is None:
        diag.error("app block has no 'start' command", stmt.span,
                   hint='add a line such as: start "/usr/bin/myservice --bind {vip}"',
                   code="missing")
        return None
    return App(start, stop, status, tuple(sorted(env.items())), shell, directory, stmt.span)


def _directory(path: Str, diag: Collector) -> str:
    """The working directory of the commands. Empty is refused here because every start
    would fail on it at run time; a relative one is kept, but it is taken from the
    directory `crg run` was started in (`/` under systemd), not the configuration's."""
    if path.value == "":
        diag.error("dir is empty", path.span,
                   hint="leave 'dir' out to run the commands in crg's own directory",
                   code="value")
    elif not path.value.startswith("/"):
        diag.warning(f"dir '{path.value}' is relative: it is taken from the directory crg "
                     f"run is started in, not from the configuration file's",
                     path.span, hint="write an absolute path", code="relative-dir")
    named = [p for p in PLACEHOLDERS if "{" + p + "}" in path.value]
    if named:
        # the runtime uses dir as written: /srv/{group} is a directory of that name
        diag.warning(f"dir takes no placeholders: '{{{named[0]}}}' in '{path.value}' is read "
                     "as those very characters", path.span,
                     hint="write the directory itself (one per group), or cd in a shell "
                          "command: start \"cd /srv/{group} && exec ./serve\" with shell",
                     code="dir-placeholder")
    return path.value


def _item_word(item: object) -> str:
    if isinstance(item, CommandItem):
        return item.keyword
    if isinstance(item, StopSignalItem):
        return "stop"
    if isinstance(item, ShellItem):
        return "shell"
    return "dir"


def monitor(stmt: MonitorStmt, diag: Collector) -> Monitor | None:
    kind = enum_value(MonitorKind, stmt.kind, "monitor kind", diag)
    target = stmt.target.value if stmt.target is not None else None
    if kind is not None:
        if kind is MonitorKind.PROCESS and stmt.target is not None:
            diag.error("a process monitor watches the app's own process and takes no target",
                       stmt.target.span, code="value")
        if kind is not MonitorKind.PROCESS and stmt.target is None:
            example = {MonitorKind.TCP: '"{vip}:8080"', MonitorKind.HTTP: '"http://{vip}:8080/"',
                       MonitorKind.EXEC: '"/usr/local/bin/check {group}"'}[kind]
            diag.error(f"a {kind.value} monitor needs a target", stmt.span,
                       hint=f"for example: monitor {kind.value} {example}", code="missing")
    if stmt.target is not None:
        check_template(stmt.target, diag)
        if kind is MonitorKind.TCP:
            host, sep, port = stmt.target.value.rpartition(":")
            # ASCII digits only: str.isdigit() also takes '²', which int() refuses.
            if not sep or not host or not (port.isascii() and port.isdigit()
                                           and 0 < int(port) < 65536):
                diag.error(f"tcp target '{stmt.target.value}' must be host:port", stmt.target.span,
                           hint='for example "{vip}:5432"', code="value")
        elif kind is MonitorKind.HTTP:
            problem = url_problem(stmt.target.value)
            if problem is not None:
                diag.error(f"http target '{stmt.target.value}' {problem}", stmt.target.span,
                           hint='for example "http://{vip}:8080/health"', code="value")
        elif kind is MonitorKind.EXEC:
            try:
                if not shlex.split(stmt.target.value):
                    diag.error("exec monitor command is empty", stmt.target.span,
                               code="value")
            except ValueError as exc:
                diag.error(f"cannot split exec monitor command: {exc}", stmt.target.span,
                           code="value")
    interval = positive_ms(stmt.every, "monitor interval", diag) if stmt.every else (
        D.MONITOR_INTERVAL_MS)
    timeout = positive_ms(stmt.timeout, "monitor timeout", diag) if stmt.timeout else min(
        D.MONITOR_TIMEOUT_MS, interval)
    fails = count(stmt.fails, "fails", diag, 1, MAX_FAILS) if stmt.fails else D.MONITOR_FAILS
    if stmt.timeout is not None and stmt.every is not None and 0 < interval < timeout:
        diag.warning(f"monitor timeout {stmt.timeout.text} is longer than its interval "
                     f"{stmt.every.text}; checks will overlap", stmt.timeout.span, code="timing")
    if kind is None:
        return None
    return Monitor(kind, target, interval, timeout, fails, stmt.span)


def sink(stmt: SinkStmt, diag: Collector) -> Sink | None:
    kind = enum_value(SinkKind, stmt.kind, f"{stmt.keyword} kind", diag)
    if kind is None:
        return None
    if kind is SinkKind.LOG:
        if stmt.target is not None:
            diag.error(f"'{stmt.keyword} log' takes no target", stmt.target.span, code="value")
        return Sink(kind, None, stmt.span)
    if stmt.target is None:
        example = '"https://hooks.example.net/crg"' if kind is SinkKind.WEBHOOK else (
            '"/usr/local/bin/page-oncall {group}"')
        diag.error(f"'{stmt.keyword} {kind.value}' needs a target", stmt.span,
                   hint=f"for example: {stmt.keyword} {kind.value} {example}", code="missing")
        return None
    check_template(stmt.target, diag)
    if kind is SinkKind.WEBHOOK:
        problem = url_problem(stmt.target.value)
        if problem is not None:
            diag.error(f"webhook '{stmt.target.value}' {problem}", stmt.target.span,
                       hint='for example "https://hooks.example.net/crg"', code="value")
    else:
        try:
            if not shlex.split(stmt.target.value):
                diag.error("command is empty", stmt.target.span, code="value")
        except ValueError as exc:
            diag.error(f"cannot split command: {exc}", stmt.target.span, code="value")
    return Sink(kind, stmt.target.value, stmt.span)
