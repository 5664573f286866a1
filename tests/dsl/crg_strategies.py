"""Hypothesis strategies that write *valid* .crg files in varied layouts.

The text is assembled by hand (not with crg.dsl.format) so that the formatter is tested
against an independent writer: random spacing, list separators, duration spellings,
escapes, and comments on their own lines or at the end of lines.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from hypothesis import strategies as st

# Every keyword of the grammar: a name that is also a keyword would be read as the keyword.
_GRAMMAR_WORDS = set(re.findall(r'"([a-z-]+)"', """
"cluster" "defaults" "group" "nodes" "node" "lease" "heartbeat" "store-timeout"
"fence-margin" "assume" "at" "most" "down" "faults" "kind" "vip" "dev" "app" "monitor"
"preferred" "possible" "failback" "restarts" "within" "notify" "avoid" "alert" "hook"
"fencing" "every" "timeout" "fails" "start" "stop" "signal" "status" "env" "shell" "dir"
"all" "none"
"""))

names = st.from_regex(r"[A-Za-z_][A-Za-z0-9_.-]{0,7}", fullmatch=True).filter(
    lambda n: n not in _GRAMMAR_WORDS)

_UNITS = (("h", 3_600_000), ("m", 60_000), ("s", 1000), ("ms", 1))


@functools.cache  # building strategies is slow; each parameter set is built once
def durations(min_ms: int = 1, max_ms: int = 600_000) -> st.SearchStrategy[tuple[int, str]]:
    return _durations(min_ms, max_ms)


@st.composite
def _durations(draw: st.DrawFn, min_ms: int, max_ms: int) -> tuple[int, str]:
    """A duration in milliseconds and one of its spellings (``90s``, ``1m30s``, ``90000ms``)."""
    ms = draw(st.integers(min_ms, max_ms))
    spellings = [f"{ms}ms"]
    if ms % 1000 == 0:
        spellings.append(f"{ms // 1000}s")
    parts, rest = [], ms
    for unit, size in _UNITS:
        count, rest = divmod(rest, size)
        if count:
            parts.append(f"{count}{unit}")
    spellings.append("".join(parts))
    return ms, draw(st.sampled_from(spellings))


def _escape(value: str, raw_tabs: bool) -> str:
    out = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return out if raw_tabs else out.replace("\t", "\\t")


# Command text: words, spaces, tabs and newlines (escaped), placeholders, literal braces.
_word = st.text(alphabet="abcxyz019-_./:=@%+", min_size=1, max_size=8)
_piece = st.one_of(_word, st.sampled_from(["{vip}", "{node}", "{group}", "{prefix}",
                                           "{dev}", "{cluster}", "{{", "}}"]))
_separator = st.sampled_from([" ", "  ", "\t", "\n"])


@functools.cache
def strings(first: str = "/usr/bin/x") -> st.SearchStrategy[str]:
    return _strings(first)


@st.composite
def _strings(draw: st.DrawFn, first: str) -> str:
    """A quoted string literal whose value splits like a command (shlex never fails on it)."""
    pieces = [first]
    for piece in draw(st.lists(_piece, max_size=5)):
        pieces += [draw(_separator), piece]
    return '"' + _escape("".join(pieces), draw(_flag)) + '"'


comment_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\n\r"),
    max_size=20).map(lambda t: "#" + t)


# What goes between two statements: spaces, newlines, blank lines or comments.
glue = st.one_of(
    st.sampled_from([" ", "\n", "\n  ", "\n\n", "\n\n\n  ", "\t"]),
    comment_text.map(lambda c: f"  {c}\n"),  # at the end of a line
    comment_text.map(lambda c: f"\n{c}\n"),  # on a line of its own
    comment_text.map(lambda c: f"\n\n    {c}\n\n"),
)
_list_separator = st.sampled_from([", ", " ", ",", " , ", ",\n  "])
_flag = st.booleans()


def _join(draw: st.DrawFn, items: list[str]) -> str:
    out = ""
    for item in items:
        out += draw(glue) + item
    return out + draw(glue)


def _name_list(draw: st.DrawFn, items: list[str]) -> str:
    out = items[0]
    for item in items[1:]:
        out += draw(_list_separator) + item
    return out


@dataclass(frozen=True)
class Plan:
    """The skeleton of a valid configuration."""

    nodes: list[str]
    groups: list[str]


@st.composite
def _cluster(draw: st.DrawFn, plan: Plan) -> str:
    heartbeat, heartbeat_text = draw(durations(1, 2000))
    store, store_text = draw(durations(1, 2000))
    margin, margin_text = draw(durations(1, 2000))
    _, lease_text = draw(durations(heartbeat + 2 * store + margin,
                                   heartbeat + 2 * store + margin + 10_000))
    down = draw(st.integers(0, len(plan.nodes) - 1))
    chosen = ["nodes " + _name_list(draw, plan.nodes)]
    if draw(_flag):  # all four or none: the timing rule relates them
        chosen += [f"lease {lease_text}", f"heartbeat {heartbeat_text}",
                   f"store-timeout {store_text}", f"fence-margin {margin_text}"]
    if draw(_flag):
        chosen.append(f"assume at most {down} {draw(st.sampled_from(['node', 'nodes']))} down")
    if draw(_flag):
        chosen.append("assume faults " + _name_list(draw, draw(st.lists(
            st.sampled_from(["crash", "app-fault", "switchover", "partition"]),
            min_size=1, max_size=4, unique=True))))
    chosen = draw(st.permutations(chosen))
    return f"cluster {draw(names)} {{" + _join(draw, list(chosen)) + "}"


@st.composite
def _app(draw: st.DrawFn) -> str:
    items = [f"start {draw(strings())}"]
    timeout = st.one_of(st.just(""), durations().map(lambda d: f" timeout {d[1]}"))
    if draw(_flag):
        items.append(f"stop {draw(strings('/bin/stop'))}{draw(timeout)}")
    elif draw(_flag):
        signal = draw(st.sampled_from(["TERM", "INT", "KILL", "SIGHUP", "usr1"]))
        items.append(f"stop signal {signal}{draw(timeout)}")
    if draw(_flag):
        items.append(f"status {draw(strings('/bin/status'))}{draw(timeout)}")
    if draw(_flag):
        keys = draw(st.lists(st.from_regex(r"[A-Z_][A-Z0-9_]{0,6}", fullmatch=True)
                             .filter(lambda k: k.lower() not in _GRAMMAR_WORDS),
                             max_size=3, unique=True))
        pairs = [f"{key} = {draw(strings('v'))}" for key in keys]
        items.append("env {" + _join(draw, pairs) + "}")
    if draw(_flag):
        items.append("shell")
    if draw(_flag):
        items.append(f"dir {draw(strings('/srv'))}")
    return "app {" + _join(draw, list(draw(st.permutations(items)))) + "}"


@st.composite
def _monitor(draw: st.DrawFn) -> str:
    kind = draw(st.sampled_from(["process", "tcp", "http", "exec"]))
    target = {"process": "", "tcp": ' "{vip}:8080"', "http": ' "http://{vip}:8080/health"',
              "exec": f" {draw(strings('/bin/check'))}"}[kind]
    options = []
    interval, interval_text = draw(durations(1, 60_000))
    if draw(_flag):
        options.append(f" every {interval_text}")
    if draw(_flag):
        _, timeout_text = draw(durations(1, interval))
        options.append(f" timeout {timeout_text}")
    if draw(_flag):
        options.append(f" fails {draw(st.integers(1, 9))}")
    return f"monitor {kind}{target}" + "".join(draw(st.permutations(options)))


@st.composite
def _sink(draw: st.DrawFn, keyword: str) -> str:
    kind = draw(st.sampled_from(["log", "command", "webhook"]))
    target = {"log": "", "command": f" {draw(strings('/bin/page'))}",
              "webhook": ' "https://hooks.example.net/{group}"'}[kind]
    return f"{keyword} {kind}{target}"


@st.composite
def _shared(draw: st.DrawFn, plan: Plan, own: str | None) -> list[str]:
    """Statements that a group or the defaults block may hold."""
    others = [g for g in plan.groups if g != own]
    statements = []
    if draw(_flag):
        statements.append(f"kind {draw(st.sampled_from(['failover', 'instance']))}")
    if draw(_flag):
        statements.append(f"failback {draw(st.sampled_from(['auto', 'manual']))}")
    if draw(_flag):
        statements.append(f"fencing {draw(st.sampled_from(['self', 'none']))}")
    if draw(_flag):
        window = draw(st.one_of(st.just(""), durations().map(lambda d: f" within {d[1]}")))
        statements.append(f"restarts {draw(st.integers(0, 5))}{window}")
    if draw(_flag):
        chosen = draw(st.lists(st.sampled_from(others), unique=True)) if others else []
        words = chosen or [draw(st.sampled_from(["all", "none"]))]
        statements.append("notify " + _name_list(draw, words))
    statements += draw(st.lists(_sink("alert"), max_size=2))
    statements += draw(st.lists(_sink("hook"), max_size=2))
    return statements


@st.composite
def _group(draw: st.DrawFn, plan: Plan, index: int, defaults: bool) -> str:
    name = plan.groups[index]
    order = draw(st.permutations(plan.nodes))
    preferred, standbys = order[0], order[1:draw(st.integers(1, len(order)))]
    statements = [
        f"vip 10.{index // 250}.{index % 250}.{draw(st.integers(1, 254))}/24"
        + draw(st.sampled_from(["", " dev eth0", " dev br-1.2"])),
        f"preferred {preferred}",
    ]
    if standbys:
        statements.append("possible " + _name_list(draw, list(standbys)))
    # With defaults in play, the defaults block provides app and a monitor.
    if not defaults or draw(_flag):
        statements.append(draw(_app()))
    if not defaults or draw(_flag):
        statements += draw(st.lists(_monitor(), min_size=1, max_size=2))
    others = [g for g in plan.groups if g != name]
    if others and draw(_flag):
        statements.append("avoid " + _name_list(
            draw, draw(st.lists(st.sampled_from(others), min_size=1, unique=True))))
    statements += draw(_shared(plan, name))
    return f"group {name} {{" + _join(draw, list(draw(st.permutations(statements)))) + "}"


@st.composite
def configs(draw: st.DrawFn) -> str:
    """The text of a configuration that validates."""
    nodes = draw(st.lists(names, min_size=1, max_size=4, unique=True))
    groups = draw(st.lists(names.filter(lambda n: n not in ("all", "none")), min_size=1,
                           max_size=3, unique=True))
    plan = Plan(nodes, groups)
    with_defaults = draw(_flag)
    blocks = [draw(_cluster(plan))]
    if with_defaults:
        defaults = [draw(_app()), draw(_monitor()), *draw(_shared(plan, None))]
        blocks.append("defaults {" + _join(draw, list(draw(st.permutations(defaults)))) + "}")
    blocks += [draw(_group(plan, i, with_defaults)) for i in range(len(groups))]
    return _join(draw, list(draw(st.permutations(blocks))))
