"""The syntax tree: statements exactly as written, with positions.

This layer keeps what the author typed (order, spelling of lists, comments) so that
``crg fmt`` can print it back canonically. :mod:`crg.dsl.resolve` turns it into the
validated :class:`crg.dsl.model.Config`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from crg.dsl.source import Span


@dataclass(frozen=True, slots=True)
class Name:
    text: str
    span: Span = field(compare=False)


@dataclass(frozen=True, slots=True)
class Str:
    value: str
    """The unescaped contents."""
    span: Span = field(compare=False)
    raw: str = field(default="", compare=False)
    """The contents as written, escapes included (to point into the string)."""

    def column_of(self, offset: int) -> int:
        """The source column of ``value[offset]``: an escape takes two columns in the file."""
        index = 0
        for _ in range(offset):
            if index >= len(self.raw):
                break
            index += 2 if self.raw[index] == "\\" else 1
        return self.span.column + 1 + index


@dataclass(frozen=True, slots=True)
class Number:
    value: int
    """Saturates at :data:`crg.dsl.builder.HUGE`: past every limit, and Python will not
    convert a string of more than 4300 digits."""
    span: Span = field(compare=False)
    text: str = field(default="", compare=False)
    """As written (``007``), for messages and ``crg fmt``."""


@dataclass(frozen=True, slots=True)
class Duration:
    ms: int
    text: str
    span: Span = field(compare=False)


# --- cluster statements -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NodesStmt:
    names: tuple[Name, ...]
    span: Span = field(compare=False)


@dataclass(frozen=True, slots=True)
class TimingStmt:
    """``lease``, ``heartbeat``, ``store-timeout`` or ``fence-margin``."""

    keyword: str
    value: Duration
    span: Span = field(compare=False)


@dataclass(frozen=True, slots=True)
class AssumeDownStmt:
    count: Number
    span: Span = field(compare=False)


@dataclass(frozen=True, slots=True)
class AssumeFaultsStmt:
    names: tuple[Name, ...]
    span: Span = field(compare=False)


ClusterStmt = NodesStmt | TimingStmt | AssumeDownStmt | AssumeFaultsStmt


# --- group statements ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class WordStmt:
    """A keyword followed by one name: ``kind``, ``preferred``, ``failback``, ``fencing``."""

    keyword: str
    value: Name
    span: Span = field(compare=False)


@dataclass(frozen=True, slots=True)
class ListStmt:
    """A keyword followed by names: ``possible``, ``notify``, ``avoid``."""

    keyword: str
    names: tuple[Name, ...]
    span: Span = field(compare=False)


@dataclass(frozen=True, slots=True)
class VipStmt:
    address: Name
    device: Name | None
    span: Span = field(compare=False)


@dataclass(frozen=True, slots=True)
class CommandItem:
    """``start``, ``stop`` or ``status`` with a command string."""

    keyword: str
    command: Str
    timeout: Duration | None
    span: Span = field(compare=False)


@dataclass(frozen=True, slots=True)
class StopSignalItem:
    signal: Name
    timeout: Duration | None
    span: Span = field(compare=False)


@dataclass(frozen=True, slots=True)
class EnvItem:
    pairs: tuple[tuple[Name, Str], ...]
    span: Span = field(compare=False)


@dataclass(frozen=True, slots=True)
class ShellItem:
    span: Span = field(compare=False)


@dataclass(frozen=True, slots=True)
class DirItem:
    path: Str
    span: Span = field(compare=False)


AppItem = CommandItem | StopSignalItem | EnvItem | ShellItem | DirItem


@dataclass(frozen=True, slots=True)
class AppStmt:
    items: tuple[AppItem, ...]
    span: Span = field(compare=False)


@dataclass(frozen=True, slots=True)
class MonitorStmt:
    kind: Name
    target: Str | None
    every: Duration | None
    timeout: Duration | None
    fails: Number | None
    span: Span = field(compare=False)


@dataclass(frozen=True, slots=True)
class RestartsStmt:
    count: Number
    window: Duration | None
    span: Span = field(compare=False)


@dataclass(frozen=True, slots=True)
class SinkStmt:
    """``alert`` or ``hook`` followed by a sink kind and, for most kinds, a target."""

    keyword: str
    kind: Name
    target: Str | None
    span: Span = field(compare=False)


GroupStmt = WordStmt | ListStmt | VipStmt | AppStmt | MonitorStmt | RestartsStmt | SinkStmt


# --- blocks -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ClusterBlock:
    name: Name
    statements: tuple[ClusterStmt, ...]
    span: Span = field(compare=False)


@dataclass(frozen=True, slots=True)
class DefaultsBlock:
    statements: tuple[GroupStmt, ...]
    span: Span = field(compare=False)


@dataclass(frozen=True, slots=True)
class GroupBlock:
    name: Name
    statements: tuple[GroupStmt, ...]
    span: Span = field(compare=False)


Block = ClusterBlock | DefaultsBlock | GroupBlock


@dataclass(frozen=True, slots=True)
class Comment:
    text: str
    """Including the leading ``#``."""
    line: int
    column: int


@dataclass(frozen=True, slots=True)
class Document:
    blocks: tuple[Block, ...]
    comments: tuple[Comment, ...] = field(compare=False, default=())
