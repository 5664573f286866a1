"""Build the syntax tree (:mod:`crg.dsl.syntax`) from lark's parse tree."""

from __future__ import annotations

import re
from itertools import pairwise
from typing import Any

from lark import Token, Tree

from crg.dsl.diagnostics import Collector
from crg.dsl.export import duration_text
from crg.dsl.source import Span
from crg.dsl.syntax import (
    AppItem,
    AppStmt,
    AssumeDownStmt,
    AssumeFaultsStmt,
    Block,
    ClusterBlock,
    ClusterStmt,
    CommandItem,
    Comment,
    DefaultsBlock,
    DirItem,
    Document,
    Duration,
    EnvItem,
    GroupBlock,
    GroupStmt,
    ListStmt,
    MonitorStmt,
    Name,
    NodesStmt,
    Number,
    RestartsStmt,
    ShellItem,
    SinkStmt,
    StopSignalItem,
    Str,
    TimingStmt,
    VipStmt,
    WordStmt,
)

_UNIT_MS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000}
_DURATION_PART = re.compile(r"([0-9]+)(ms|s|m|h)")
HUGE = 10**18
"""Where whole numbers saturate: beyond every limit of the language (values.py), so the
value is still rejected, with the number as written in the message."""
_ESCAPES = {'"': '"', "\\": "\\", "n": "\n", "t": "\t"}


def whole(digits: str) -> int:
    """The value of a string of decimal digits, saturating at :data:`HUGE`."""
    digits = digits.lstrip("0") or "0"
    return int(digits) if len(digits) < len(str(HUGE)) else HUGE


def duration_ms(text: str) -> int:
    sign = -1 if text.startswith("-") else 1
    total = sum(whole(n) * _UNIT_MS[unit] for n, unit in _DURATION_PART.findall(text))
    return sign * min(total, HUGE)


def unit_slip(text: str) -> tuple[str, str] | None:
    """Why duration ``text`` is likely a slip, and how to write it: a unit repeated
    (``3s3s``, read as 6 s) or a smaller one before a larger (``30s1m``, 90 s). None when
    each unit comes once, larger first."""
    units = [unit for _, unit in _DURATION_PART.findall(text)]
    sizes = [_UNIT_MS[unit] for unit in units]
    if all(a > b for a, b in pairwise(sizes)):
        return None
    repeated = next((u for u in units if units.count(u) > 1), None)
    why = (f"repeats the unit '{repeated}'" if repeated is not None
           else "puts a smaller unit before a larger one")
    ms = duration_ms(text)
    written = ("-" if ms < 0 else "") + duration_text(abs(ms))
    return why, f"write it {written}, larger units first, each once"


def _span_of(node: Tree[Token] | Token) -> Span:
    if isinstance(node, Token):
        line, column = node.line or 1, node.column or 1
        return Span(line, column, node.end_line or line, node.end_column or column + len(node))
    meta = node.meta
    if getattr(meta, "empty", True):
        return Span.point(1, 1)
    return Span(meta.line, meta.column, meta.end_line, meta.end_column)


class Builder:
    """Walks lark's tree; problems with literal values (escapes) go to ``diagnostics``."""

    def __init__(self, diagnostics: Collector) -> None:
        self.diagnostics = diagnostics

    # -- leaves --------------------------------------------------------------------

    def name(self, token: Token) -> Name:
        return Name(str(token), _span_of(token))

    def string(self, token: Token) -> Str:
        raw = str(token)[1:-1]
        out: list[str] = []
        i = 0
        while i < len(raw):
            ch = raw[i]
            if ch == "\\" and i + 1 < len(raw):
                nxt = raw[i + 1]
                if nxt in _ESCAPES:
                    out.append(_ESCAPES[nxt])
                else:
                    span = _span_of(token)
                    col = span.column + 1 + i
                    self.diagnostics.error(f"unknown escape '\\{nxt}' in string",
                                           Span.point(span.line, col, 2),
                                           hint='use \\" \\\\ \\n or \\t', code="syntax")
                    out.append(nxt)
                i += 2
                continue
            out.append(ch)
            i += 1
        return Str("".join(out), _span_of(token), raw)

    def number(self, token: Token) -> Number:
        text = str(token)
        sign = -1 if text.startswith("-") else 1
        return Number(sign * whole(text.lstrip("-")), _span_of(token), text)

    def duration(self, token: Token) -> Duration:
        return Duration(duration_ms(str(token)), str(token), _span_of(token))

    def names(self, tree: Tree[Token]) -> tuple[Name, ...]:
        return tuple(self.name(t) for t in tree.children if isinstance(t, Token))

    # -- document --------------------------------------------------------------------

    def document(self, tree: Tree[Token], comments: tuple[Comment, ...]) -> Document:
        blocks: list[Block] = []
        for child in tree.children:
            if isinstance(child, Tree):
                blocks.append(self.block(child))
        return Document(tuple(blocks), comments)

    def block(self, tree: Tree[Token]) -> Block:
        span = _span_of(tree)
        kids = tree.children
        if tree.data == "cluster_block":
            assert isinstance(kids[0], Token)
            stmts = tuple(self.cluster_stmt(k) for k in kids[1:] if isinstance(k, Tree))
            return ClusterBlock(self.name(kids[0]), stmts, span)
        if tree.data == "defaults_block":
            return DefaultsBlock(tuple(self.group_stmt(k) for k in kids if isinstance(k, Tree)),
                                 span)
        assert isinstance(kids[0], Token)
        stmts_g = tuple(self.group_stmt(k) for k in kids[1:] if isinstance(k, Tree))
        return GroupBlock(self.name(kids[0]), stmts_g, span)

    # -- cluster ---------------------------------------------------------------------

    def cluster_stmt(self, tree: Tree[Token]) -> ClusterStmt:
        span, kids, kind = _span_of(tree), tree.children, str(tree.data)
        if kind == "nodes_stmt":
            return NodesStmt(self.names(_tree(kids[0])), span)
        if kind == "assume_down_stmt":
            return AssumeDownStmt(self.number(_token(kids[0])), span)
        if kind == "assume_faults_stmt":
            return AssumeFaultsStmt(self.names(_tree(kids[0])), span)
        keyword = kind.removesuffix("_stmt").replace("_", "-")
        return TimingStmt(keyword, self.duration(_token(kids[0])), span)

    # -- groups ----------------------------------------------------------------------

    def group_stmt(self, tree: Tree[Token]) -> GroupStmt:
        span, kids, kind = _span_of(tree), tree.children, str(tree.data)
        keyword = kind.removesuffix("_stmt")
        if keyword in ("kind", "preferred", "failback", "fencing"):
            return WordStmt(keyword, self.name(_token(kids[0])), span)
        if keyword in ("possible", "notify", "avoid"):
            return ListStmt(keyword, self.names(_tree(kids[0])), span)
        if keyword == "vip":
            device = self.name(_token(kids[1])) if kids[1] is not None else None
            return VipStmt(self.name(_token(kids[0])), device, span)
        if keyword == "app":
            return AppStmt(tuple(self.app_item(_tree(k)) for k in kids), span)
        if keyword == "monitor":
            return self.monitor(tree)
        if keyword == "restarts":
            window = self.duration(_token(kids[1])) if kids[1] is not None else None
            return RestartsStmt(self.number(_token(kids[0])), window, span)
        # alert / hook
        target = self.string(_token(kids[1])) if kids[1] is not None else None
        return SinkStmt(keyword, self.name(_token(kids[0])), target, span)

    def monitor(self, tree: Tree[Token]) -> MonitorStmt:
        kids = tree.children
        target = self.string(_token(kids[1])) if kids[1] is not None else None
        every: Duration | None = None
        timeout: Duration | None = None
        fails: Number | None = None
        for opt in kids[2:]:
            opt_tree = _tree(opt)
            token = _token(opt_tree.children[0])
            if opt_tree.data == "every_opt":
                every = self._once(every, self.duration(token), "every")
            elif opt_tree.data == "timeout_opt":
                timeout = self._once(timeout, self.duration(token), "timeout")
            else:
                fails = self._once(fails, self.number(token), "fails")
        return MonitorStmt(self.name(_token(kids[0])), target, every, timeout, fails,
                           _span_of(tree))

    def _once(self, old: Any, new: Any, word: str) -> Any:
        if old is not None:
            self.diagnostics.error(f"'{word}' given twice for one monitor", new.span,
                                   code="duplicate")
        return new

    def app_item(self, tree: Tree[Token]) -> AppItem:
        span, kids, kind = _span_of(tree), tree.children, str(tree.data)
        timeout = self._timeout(kids[1]) if len(kids) > 1 else None
        if kind in ("start_item", "stop_command_item", "status_item"):
            keyword = {"start_item": "start", "stop_command_item": "stop",
                       "status_item": "status"}[kind]
            return CommandItem(keyword, self.string(_token(kids[0])), timeout, span)
        if kind == "stop_signal_item":
            return StopSignalItem(self.name(_token(kids[0])), timeout, span)
        if kind == "env_item":
            pairs = []
            for pair in kids:
                p = _tree(pair)
                pairs.append((self.name(_token(p.children[0])),
                              self.string(_token(p.children[1]))))
            return EnvItem(tuple(pairs), span)
        if kind == "shell_item":
            return ShellItem(span)
        return DirItem(self.string(_token(kids[0])), span)

    def _timeout(self, node: Tree[Token] | Token | None) -> Duration | None:
        if node is None:
            return None
        return self.duration(_token(_tree(node).children[0]))


def _tree(node: object) -> Tree[Token]:
    assert isinstance(node, Tree), node
    return node


def _token(node: object) -> Token:
    assert isinstance(node, Token), node
    return node


def build(tree: Tree[Token], comments: tuple[Comment, ...], diagnostics: Collector) -> Document:
    return Builder(diagnostics).document(tree, comments)


