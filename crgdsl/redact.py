"""Secrets in URLs, hidden wherever crg prints or records text.

A webhook or an ``http`` monitor target may carry credentials: ``user:password@`` in
the URL, or a token in its query string (``?token=...``) or fragment; so may each member
of a store URL (``etcd://user:password@h1:2379,h2:2379``). crg needs them to
call the URL, never to show it: every log line, event, control answer (``crg status``),
``crg show`` and diagnostic (its message and the source line it quotes, where
:func:`redacted_offset` keeps the caret in place) goes through :func:`redact` (or
:func:`redact_data` for structured records), which keeps the scheme, host, port and
path — enough to tell which URL is meant — and replaces the rest with ``***``.

One function for every output, applied to whole texts (a URL inside an error message,
a command line or a traceback is found too), so no output path needs to know where the
URLs are.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

HIDDEN = "***"

_URL = re.compile(
    r"(?P<scheme>\b[A-Za-z][A-Za-z0-9+.-]*://)"
    r"(?P<authority>[^\s/?#\"'<>]*)"
    r"(?P<path>/[^\s?#\"'<>]*)?"
    r"(?:\?(?P<query>[^\s#\"'<>]*))?"
    r"(?:#(?P<fragment>[^\s\"'<>]*))?")

_TRAILING = ".,:;)]"
"""Punctuation that ends a sentence rather than a URL (``webhook http://h/?t=1: refused``)."""


def _hidden(match: re.Match[str]) -> list[tuple[int, int]]:
    """The spans of one URL that are secret: each member's userinfo (an etcd URL lists
    several members, comma-separated), the query string and the fragment — without the
    punctuation that ends a sentence after the URL."""
    spans = []
    at = match.start("authority")
    for member in match.group("authority").split(","):
        if "@" in member:
            spans.append((at, at + member.rindex("@")))
        at += len(member) + 1
    last = "fragment" if match.group("fragment") is not None else "query"
    for part in ("query", "fragment"):
        if match.group(part) is None:
            continue
        start, end = match.span(part)
        if part == last:
            end = start + len(match.group(part).rstrip(_TRAILING))
        spans.append((start, end))
    return spans


def secret_spans(text: str) -> list[tuple[int, int]]:
    """Where the secrets of ``text``'s URLs are: ``[start, end)`` offsets, in order, each
    shown as ``***`` by :func:`redact`."""
    return list(_secret_spans(text))


@lru_cache(maxsize=8)
def _secret_spans(text: str) -> tuple[tuple[int, int], ...]:
    # Cached: a diagnostic redacts its source line three times, and a generated file on
    # one long line (a minified CIB) is that line for thousands of diagnostics.
    if "://" not in text:
        return ()  # the common case, without a regular expression
    return tuple(span for match in _URL.finditer(text) for span in _hidden(match))


def redact(text: str) -> str:
    """``text`` with the userinfo, query string and fragment of every URL in it replaced
    by ``***``: ``https://u:pw@hooks.example/x?token=1`` becomes
    ``https://***@hooks.example/x?***``."""
    parts, at = [], 0
    for start, end in _secret_spans(text):
        parts += [text[at:start], HIDDEN]
        at = end
    return "".join(parts) + text[at:] if parts else text


def redacted_offset(text: str, offset: int, *, end: bool = False) -> int:
    """Where ``offset`` of ``text`` lands in ``redact(text)`` (a caret under a source line
    stays under the same characters): an offset inside a secret goes to the start of its
    ``***``, or, for the ``end`` of a span, to its end."""
    moved = 0
    for start, stop in _secret_spans(text):
        if offset <= start:
            break
        if offset < stop or (end and offset == stop):
            return start + moved + (len(HIDDEN) if end else 0)
        moved += len(HIDDEN) - (stop - start)
    return offset + moved


def redact_data(value: Any) -> Any:
    """:func:`redact` applied to every string of a JSON-like value (dicts, lists,
    tuples), keys included; other values are returned as they are."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, Mapping):
        return {redact_data(k): redact_data(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact_data(v) for v in value]
    return value
