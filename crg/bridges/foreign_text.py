"""The text of a configuration another tool wrote, decoded as that tool reads it.

crg's own files are UTF-8, and anything else is an error. The files an import reads were
not written for crg: a CIB is XML, which declares its encoding (``<?xml version="1.0"
encoding="ISO-8859-1"?>``) or starts with a UTF-16 byte order mark, and keepalived reads
its configuration as bytes, so a comment typed in Latin-1 years ago is legal there. Both
were refused as "not valid UTF-8", which left the operator to convert a file the cluster
reads happily.
"""

from __future__ import annotations

import codecs
import re

from crg.dsl import ConfigError, Diagnostic, Severity, Source, Span, decode_source

_DECLARED = re.compile(rb"""\A<\?xml[^>]*?\bencoding\s*=\s*["']([A-Za-z][A-Za-z0-9._-]*)["']""")


def cib_text(data: bytes, path: str) -> Source:
    """A CIB's text: UTF-16 by its byte order mark, else the encoding its XML declaration
    names, else UTF-8 (XML's default)."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return _decoded(data, path, "utf-16")
    declared = _DECLARED.match(data)
    if declared is None:
        return decode_source(data, path)
    name = declared.group(1).decode("ascii")
    try:
        codec = codecs.lookup(name).name
    except LookupError:
        raise ConfigError(Source(path, data.decode("utf-8", errors="replace")), [Diagnostic(
            Severity.ERROR, f"the XML declaration names the encoding '{name}', which is not "
            "one Python knows", Span.point(1, declared.start(1) + 1, len(name)),
            "write the CIB again as UTF-8 (cibadmin --query does)", "encoding")]) from None
    return decode_source(data, path) if codec == "utf-8" else _decoded(data, path, codec)


def keepalived_text(data: bytes, path: str) -> tuple[Source, Diagnostic | None]:
    """A keepalived configuration's text: UTF-8, or else Latin-1 (every byte is a character
    there, as keepalived reads it) with a warning at the first byte that is not UTF-8."""
    body = data.removeprefix(codecs.BOM_UTF8)
    try:
        return Source(path, body.decode("utf-8")), None
    except UnicodeDecodeError as exc:
        bad = exc
    # One character a byte: the bad byte's column counts the bytes before it on its line.
    line_start = bad.object.rfind(b"\n", 0, bad.start) + 1
    where = Span.point(bad.object.count(b"\n", 0, bad.start) + 1, bad.start - line_start + 1)
    offset = bad.start + len(data) - len(body)  # in the file, byte order mark and all
    return Source(path, body.decode("latin-1")), Diagnostic(
        Severity.WARNING, f"not UTF-8 (byte 0x{bad.object[bad.start]:02x} at offset {offset}: "
        f"{bad.reason}): read as Latin-1 (ISO 8859-1), as keepalived reads bytes; check the "
        "names and commands taken from it", where, None, "encoding")


def _decoded(data: bytes, path: str, codec: str) -> Source:
    try:
        text = data.decode(codec)
    except UnicodeDecodeError as exc:
        # The bytes before the bad one decode: count lines and columns in their characters,
        # as the text shown (decoded with replacement characters) has them.
        before = exc.object[:exc.start].decode(codec, errors="replace")
        line = before.count("\n") + 1
        column = len(before) - (before.rfind("\n") + 1) + 1
        raise ConfigError(Source(path, data.decode(codec, errors="replace")), [Diagnostic(
            Severity.ERROR, f"file is not valid {codec} (byte 0x{exc.object[exc.start]:02x} at "
            f"offset {exc.start}: {exc.reason}), the encoding it declares",
            Span.point(line, column), None, "encoding")]) from None
    return Source(path, text.removeprefix("\ufeff"))
