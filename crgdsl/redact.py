"""Secrets in URLs, hidden wherever crg prints or records text.

A webhook or an ``http`` monitor target may carry credentials: ``user:password@`` in
the URL, or a token in its query string (``?token=...``) or fragment; so may each member
of a store URL (``etcd://user:password@h1:2379,h2:2379``). crg needs them to
call the URL, never to show it: every log line, event, control answer (``crg status``)
and ``crg show`` goes through :func:`redact` (or :func:`redact_data` for structured
records), which keeps the scheme, host, port and path — enough to tell which URL is
meant — and replaces the rest with ``***``.

One function for every output, applied to whole texts (a URL inside an error message,
a command line or a traceback is found too), so no output path needs to know where the
URLs are.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
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


def _members(authority: str) -> str:
    """Each ``user:password@host`` of an authority (an etcd URL lists several members,
    comma-separated) as ``***@host``."""
    return ",".join(f"{HIDDEN}@{member.rpartition('@')[2]}" if "@" in member else member
                    for member in authority.split(","))


def _hide(match: re.Match[str]) -> str:
    text = match.group("scheme") + _members(match.group("authority"))
    text += match.group("path") or ""
    query, fragment = match.group("query"), match.group("fragment")
    last = fragment if fragment is not None else query
    tail = last[len(last.rstrip(_TRAILING)):] if last is not None else ""
    if query is not None:
        text += f"?{HIDDEN}"
    if fragment is not None:
        text += f"#{HIDDEN}"
    return text + tail


def redact(text: str) -> str:
    """``text`` with the userinfo, query string and fragment of every URL in it replaced
    by ``***``: ``https://u:pw@hooks.example/x?token=1`` becomes
    ``https://***@hooks.example/x?***``."""
    if "://" not in text:
        return text  # the common case, without a regular expression
    return _URL.sub(_hide, text)


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
