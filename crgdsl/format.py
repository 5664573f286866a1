"""``crg fmt``: print a syntax tree back in the canonical layout, comments included.

The formatter works from :func:`crg.dsl.parse_document`, not from the validated model, so
it keeps the order of statements, the spelling of values (durations as written) and every
comment, and it formats files that do not validate yet. Stop signals are the exception:
``sigterm`` and ``SIGTERM`` are written ``TERM``, the one spelling of the documentation.

Layout: two-space indent, one statement per line, ``app { }`` and ``env { }`` expanded one
item per line, one blank line between blocks. Blank lines inside a block are kept (at most
one in a row). Comments stay where they were relative to the statements: an own-line comment
before the statement that followed it, a trailing comment at the end of the line that
holds the statement it followed, and comments before a ``}`` inside that block.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, replace

from crg.dsl import Config, parse_checked
from crg.dsl.diagnostics import ConfigError
from crg.dsl.source import Source, Span
from crg.dsl.syntax import (
    AppItem,
    AppStmt,
    AssumeDownStmt,
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
from crg.dsl.values import signal_name

INDENT = "  "
Position = tuple[int, int]


class FormatError(Exception):
    """The formatter would change what a file says or drop a comment: a bug in crg."""


def format_source(source: Source) -> str:
    """Parse ``source`` and return it canonically formatted; raises ConfigError on bad syntax.

    The result, unless it is the text given, is parsed again and compared with the original
    (statements, values and comments), so a formatter bug raises FormatError instead of
    rewriting a file wrongly.
    """
    return format_checked(source)[0]


def format_checked(source: Source) -> tuple[str, Config | ConfigError]:
    """:func:`format_source`'s text, and what :func:`crg.dsl.parse` makes of that text: the
    configuration or the ConfigError it raises (``crg import`` validates what it writes).

    A text that is canonical already (as an import's is) is parsed once: parsing it again
    would give the very document it was formatted from, so the comparison is left out.
    """
    original, checked = parse_checked(source)
    document = canonical(original)
    text = format_document(document, source)
    if text == source.text and document.blocks == original.blocks:
        return text, checked
    try:
        again, checked = parse_checked(Source(source.path, text))
    except ConfigError as exc:
        raise FormatError(f"formatting {source.path} produced invalid text: {exc}") from None
    if again.blocks != document.blocks:
        raise FormatError(f"formatting {source.path} would change its statements")
    if _comment_texts(again) != _comment_texts(document):
        raise FormatError(f"formatting {source.path} would lose or reorder comments")
    return text, checked


def canonical(document: Document) -> Document:
    """``document`` with the spellings that ``crg fmt`` normalises: stop signals as
    ``TERM`` (for ``sigterm``, ``SIGTERM``, ``term``). Durations keep their spelling, as
    ``90s`` and ``1m30s`` both say what the author meant."""
    return replace(document, blocks=tuple(
        replace(block, statements=tuple(_canonical_stmt(s) for s in block.statements))
        if isinstance(block, GroupBlock | DefaultsBlock) else block
        for block in document.blocks))


def _canonical_stmt(stmt: GroupStmt) -> GroupStmt:
    if not isinstance(stmt, AppStmt):
        return stmt
    return replace(stmt, items=tuple(
        replace(item, signal=replace(item.signal, text=signal_name(item.signal.text)
                                     or item.signal.text))
        if isinstance(item, StopSignalItem) else item
        for item in stmt.items))


def _comment_texts(document: Document) -> list[str]:
    return [c.text.rstrip() for c in document.comments]


def format_document(document: Document, source: Source) -> str:
    """Format ``document``; ``source`` is the text it was parsed from (to place comments)."""
    printer = _Printer(source, document.comments)
    for block in document.blocks:
        _block(printer, block)
    printer.finish()
    return printer.text()


# --- values ---------------------------------------------------------------------------


def quote(value: str) -> str:
    """A string literal that the lexer reads back as ``value``."""
    escaped = (value.replace("\\", "\\\\").replace('"', '\\"')
               .replace("\n", "\\n").replace("\t", "\\t"))
    return f'"{escaped}"'


def _names(names: Iterable[Name], separator: str) -> str:
    return separator.join(n.text for n in names)


def _number(number: Number) -> str:
    """Without leading zeros (``007`` is ``7``), from the text: a number too large to be
    valid saturates, and must still be printed as written."""
    if not number.text:
        return str(number.value)
    sign = "-" if number.text.startswith("-") else ""
    return sign + (number.text.lstrip("-").lstrip("0") or "0")


def _opt(word: str, value: Duration | None) -> str:
    # Durations are printed as written: `90s` and `1m30s` both say what the author meant.
    return f" {word} {value.text}" if value is not None else ""


# --- statements -----------------------------------------------------------------------


def _cluster_stmt(stmt: ClusterStmt) -> str:
    if isinstance(stmt, NodesStmt):
        return "nodes " + _names(stmt.names, " ")
    if isinstance(stmt, TimingStmt):
        return f"{stmt.keyword} {stmt.value.text}"
    if isinstance(stmt, AssumeDownStmt):
        word = "node" if stmt.count.value == 1 else "nodes"
        return f"assume at most {_number(stmt.count)} {word} down"
    return "assume faults " + _names(stmt.names, ", ")


def _group_stmt_line(stmt: GroupStmt) -> str:
    """One-line statements (everything except ``app``)."""
    if isinstance(stmt, WordStmt):
        return f"{stmt.keyword} {stmt.value.text}"
    if isinstance(stmt, ListStmt):
        return f"{stmt.keyword} " + _names(stmt.names, ", ")
    if isinstance(stmt, VipStmt):
        device = f" dev {stmt.device.text}" if stmt.device is not None else ""
        return f"vip {stmt.address.text}{device}"
    if isinstance(stmt, MonitorStmt):
        target = f" {quote(stmt.target.value)}" if stmt.target is not None else ""
        fails = f" fails {_number(stmt.fails)}" if stmt.fails is not None else ""
        return (f"monitor {stmt.kind.text}{target}"
                f"{_opt('every', stmt.every)}{_opt('timeout', stmt.timeout)}{fails}")
    if isinstance(stmt, RestartsStmt):
        return f"restarts {_number(stmt.count)}{_opt('within', stmt.window)}"
    assert isinstance(stmt, SinkStmt), stmt
    target = f" {quote(stmt.target.value)}" if stmt.target is not None else ""
    return f"{stmt.keyword} {stmt.kind.text}{target}"


def _app_item_line(item: AppItem) -> str:
    if isinstance(item, CommandItem):
        return f"{item.keyword} {quote(item.command.value)}{_opt('timeout', item.timeout)}"
    if isinstance(item, StopSignalItem):
        return f"stop signal {item.signal.text}{_opt('timeout', item.timeout)}"
    if isinstance(item, ShellItem):
        return "shell"
    assert isinstance(item, DirItem), item
    return f"dir {quote(item.path.value)}"


def _block(printer: _Printer, block: Block) -> None:
    if isinstance(block, ClusterBlock):
        printer.open(f"cluster {block.name.text}", block.span)
        for stmt in block.statements:
            printer.line(_cluster_stmt(stmt), stmt.span)
    else:
        header = "defaults" if isinstance(block, DefaultsBlock) else f"group {block.name.text}"
        printer.open(header, block.span)
        for group_stmt in block.statements:
            _group_stmt(printer, group_stmt)
    printer.close(block.span)


def _group_stmt(printer: _Printer, stmt: GroupStmt) -> None:
    if not isinstance(stmt, AppStmt):
        printer.line(_group_stmt_line(stmt), stmt.span)
        return
    printer.open("app", stmt.span)
    for item in stmt.items:
        if isinstance(item, EnvItem):
            printer.open("env", item.span)
            for key, value in item.pairs:
                printer.line(f"{key.text} = {quote(value.value)}", _pair_span(key, value))
            printer.close(item.span)
        else:
            printer.line(_app_item_line(item), item.span)
    printer.close(stmt.span)


def _pair_span(key: Name, value: Str) -> Span:
    return Span(key.span.line, key.span.column, value.span.end_line, value.span.end_column)


# --- layout and comments --------------------------------------------------------------


@dataclass
class _Line:
    depth: int
    text: str
    comment: str | None = None
    """A trailing comment, printed two spaces after the text."""
    opens: bool = False
    """The line ends with ``{`` and nothing has been printed inside the block yet."""
    is_code: bool = True
    """False for own-line comments, which cannot take a trailing comment."""

    def render(self) -> str:
        if not self.text:
            return ""
        text = INDENT * self.depth + self.text
        return f"{text}  {self.comment}" if self.comment is not None else text


class _Printer:
    """Emits lines in source order and slots each comment in where it was written.

    Before anything is printed, the comments written before it are flushed: a comment
    with code before it on its source line joins the last printed line; any other comment
    gets a line of its own. ``last_line`` is the source line of the last thing printed,
    used to keep a blank line where the author left one.
    """

    def __init__(self, source: Source, comments: Iterable[Comment]) -> None:
        self.source_lines = source.lines()
        self.pending = deque(sorted(comments, key=lambda c: (c.line, c.column)))
        self.lines: list[_Line] = []
        self.depth = 0
        self.last_line = 0
        self.first_in_block = True

    def text(self) -> str:
        rendered = [line.render() for line in self.lines]
        return "\n".join(rendered).strip("\n") + "\n" if rendered else ""

    # -- items -------------------------------------------------------------------------

    def open(self, header: str, span: Span) -> None:
        self._item(f"{header} {{", span, opens=True)
        self.depth += 1
        self.first_in_block = True

    def line(self, text: str, span: Span) -> None:
        self._item(text, span)
        self.last_line = span.end_line

    def close(self, span: Span) -> None:
        # The closing brace is the last character of the block's span.
        self._flush((span.end_line, span.end_column - 1))
        self.depth -= 1
        last = self.lines[-1]
        if last.opens:  # nothing inside: `env {}`
            last.text += "}"
            last.opens = False
        else:
            self.lines.append(_Line(self.depth, "}"))
        self.last_line = span.end_line
        self.first_in_block = False
        if self.depth == 0:
            self.lines.append(_Line(0, ""))  # one blank line after every top-level block

    def finish(self) -> None:
        self._flush((len(self.source_lines) + 1, 0))

    def _item(self, text: str, span: Span, *, opens: bool = False) -> None:
        self._flush((span.line, span.column))
        self._append(_Line(self.depth, text, opens=opens), span.line)

    def _append(self, line: _Line, source_line: int) -> None:
        """Append ``line``, after one blank line if the source had at least one before it
        (never right after a `{`; `close` already separates top-level blocks)."""
        if self.first_in_block:
            self.first_in_block = False
        elif self.lines and self.lines[-1].text and source_line - self.last_line > 1:
            self.lines.append(_Line(self.depth, ""))
        if self.lines:
            self.lines[-1].opens = False
        self.lines.append(line)
        # A comment inside a statement written over several lines comes after the
        # statement's last line here: it must not take last_line back, or the statement's
        # own lines after it would count as a blank line before the next statement.
        self.last_line = max(self.last_line, source_line)

    # -- comments ----------------------------------------------------------------------

    def _flush(self, before: Position) -> None:
        while self.pending and (self.pending[0].line, self.pending[0].column) < before:
            comment = self.pending.popleft()
            text = comment.text.rstrip()
            last = self._last_text_line()
            if (self._is_trailing(comment) and last is not None and last.is_code
                    and last.comment is None):
                last.comment = text
            else:
                self._append(_Line(self.depth, text, is_code=False), comment.line)

    def _is_trailing(self, comment: Comment) -> bool:
        line = self.source_lines[comment.line - 1] if comment.line <= len(self.source_lines) else ""
        return line[: comment.column - 1].strip() != ""

    def _last_text_line(self) -> _Line | None:
        for line in reversed(self.lines):
            if line.text:
                return line
        return None
