"""The .crg language: parse, validate and describe cooperative resource group configurations.

Installed as ``crg.dsl``. The entry points::

    config = crg.dsl.load("config.crg")          # raises ConfigError with every diagnostic
    config = crg.dsl.parse(text, path="x.crg")
    document = crg.dsl.parse_document(text)      # the syntax tree, comments kept (for fmt)
"""

from __future__ import annotations

import codecs
import errno
from pathlib import Path
from typing import BinaryIO

from crg.dsl.builder import build
from crg.dsl.diagnostics import Collector, ConfigError, Diagnostic, Severity
from crg.dsl.model import (
    App,
    Cluster,
    Command,
    Config,
    Failback,
    Fault,
    Fencing,
    Group,
    Kind,
    Monitor,
    MonitorKind,
    Sink,
    SinkKind,
    Stop,
    Vip,
)
from crg.dsl.parser import MAX_SYNTAX_ERRORS, Rest, parse_tree
from crg.dsl.resolve import Resolver
from crg.dsl.source import Source, Span
from crg.dsl.syntax import Document

__all__ = [
    "MAX_SOURCE",
    "App", "Cluster", "Command", "Config", "ConfigError", "Diagnostic", "Document", "Failback",
    "Fault", "Fencing", "Group", "Kind", "Monitor", "MonitorKind", "Severity", "Sink",
    "SinkKind", "Source", "Span", "Stop", "Vip", "decode_source", "load", "parse",
    "parse_checked", "parse_document", "read_capped", "read_source",
]


MAX_SOURCE = 16 * 2**20
"""The largest configuration read (a thousand-group one is a few hundred KiB)."""


def read_source(path: str | Path, display: str | None = None) -> Source:
    """Read a file as UTF-8; undecodable bytes become a positioned ConfigError, not a crash.

    A leading byte order mark (as some Windows editors write) is skipped. OSError (missing or
    unreadable file) propagates for the caller to report.
    """
    shown = display if display is not None else str(path)
    with open(path, "rb") as handle:
        return decode_source(read_capped(handle), shown)


def read_capped(handle: BinaryIO) -> bytes:
    """Everything ``handle`` holds, up to :data:`MAX_SOURCE`; OSError (EFBIG) beyond: a
    file or stream that large (/dev/zero, a log named by mistake) is never read whole."""
    data = handle.read(MAX_SOURCE + 1)
    if len(data) > MAX_SOURCE:
        raise OSError(errno.EFBIG, f"larger than {MAX_SOURCE // 2**20} MiB: not a "
                      "configuration")
    return data


def decode_source(data: bytes, path: str) -> Source:
    """Decode file contents as :func:`read_source` does (also used for standard input)."""
    data = data.removeprefix(codecs.BOM_UTF8)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        before = data[: exc.start]
        line = before.count(b"\n") + 1
        # Columns count characters, as everywhere else; the bytes before the bad one decode.
        column = len(before[before.rfind(b"\n") + 1:].decode("utf-8")) + 1
        source = Source(path, data.decode("utf-8", errors="replace"))
        raise ConfigError(source, [Diagnostic(
            Severity.ERROR, f"file is not valid UTF-8 (byte 0x{data[exc.start]:02x})",
            Span.point(line, column), None, "encoding")]) from None
    return Source(path, text)


def parse_document(source: Source) -> Document:
    """Parse to the syntax tree (layout and comments kept); raises ConfigError.

    A misspelt statement that the grammar took for more names of a list (crg.dsl.misread)
    is a syntax error here too, although only resolving finds it: formatting such a file
    would join the statement into the list (``possible n2, failbak, auto``).
    """
    return parse_checked(source)[0]


def parse_checked(source: Source) -> tuple[Document, Config | ConfigError]:
    """:func:`parse_document` and :func:`parse` of one text in one pass: the syntax tree
    (raising ConfigError where parse_document does), and the validated configuration or
    the ConfigError that parse would raise. Finding misspelt statements resolves the
    document anyway; ``crg import``, which formats what it writes and validates it, parsed
    and resolved the same text again for the second."""
    diagnostics = Collector()
    tree, comments, syntax_errors, rest = parse_tree(source)
    if syntax_errors:
        raise _syntax_failure(source, syntax_errors, rest)
    assert tree is not None
    document = build(tree, comments, diagnostics)
    if diagnostics.has_errors:
        raise ConfigError(source, diagnostics.items)
    built = len(diagnostics.items)
    config = Resolver(source, diagnostics).resolve(document)
    misread = [d for d in diagnostics.items[built:] if d.code == "syntax"]
    if misread:
        raise ConfigError(source, misread)
    if config is None or diagnostics.has_errors:
        return document, ConfigError(source, diagnostics.items)
    return document, config


def _syntax_failure(source: Source, errors: tuple[Diagnostic, ...], rest: Rest | None
                    ) -> ConfigError:
    """The syntax errors, and the misspelt statements after a list (crg.dsl.misread) that
    the rest of the file shows once their lines are left out: those are found only by
    resolving, and came one per run after the syntax errors were fixed."""
    found = list(errors)
    if rest is not None:
        probe = Collector()
        Resolver(source, probe).resolve(build(rest.tree, rest.comments, Collector()))
        found += [d for d in probe.items if d.code == "syntax"
                  and not rest.echo(source, d.span.line, d.span.column)]
    return ConfigError(source, found[:MAX_SYNTAX_ERRORS])


def parse(text: str, path: str = "<memory>") -> Config:
    """Parse and validate; raises ConfigError listing every problem found."""
    return _resolve(Source(path, text))


def load(path: str | Path, display: str | None = None) -> Config:
    return _resolve(read_source(path, display))


def _resolve(source: Source) -> Config:
    diagnostics = Collector()
    tree, comments, syntax_errors, rest = parse_tree(source)
    if syntax_errors:
        raise _syntax_failure(source, syntax_errors, rest)
    assert tree is not None
    document = build(tree, comments, diagnostics)
    config = Resolver(source, diagnostics).resolve(document)
    if config is None or diagnostics.has_errors:
        raise ConfigError(source, diagnostics.items)
    return config
