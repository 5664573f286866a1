"""Passwords in the configurations an import reads, kept off the terminal and out of the
``.crg``'s comments.

A CIB holds a fencing device's or an agent's password as a parameter (``<nvpair
name="passwd" value="..."/>``), a keepalived.conf its VRRP password (``auth_pass``). The
import names what it leaves out, with the input's line under each warning: both would
show them. So the values of parameters with a secret's name are ``***`` in messages and
comments (:func:`pair_text`), and the source that diagnostics quote is a copy with those
values starred out, character for character, so that every caret stays in place
(:func:`masked_cib`, :func:`masked_keepalived`). The import itself reads the real text: a
parameter the ``.crg`` carries (an OCF agent's ``OCF_RESKEY_passwd``) is configuration.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from crg.dsl.redact import HIDDEN
from crg.dsl.source import Source

_SECRET_NAME = re.compile(r"pass|secret|token|credential|community|api_?key|private_?key",
                          re.IGNORECASE)
"""A parameter named like a secret (passwd, password, incoming_password, snmp community,
auth_token...): a name that merely mentions one now and then is hidden too, which costs
only a value in a warning."""

_NVPAIR = re.compile(r"""<nvpair\b(?:[^>"']|"[^"]*"|'[^']*')*>""")
"""An nvpair's start tag, up to the ``>`` that ends it: a raw ``>`` is allowed inside a
quoted value (``value="x>y"``), and stopped the match there, leaving the rest of the
password in the quoted line. (Each alternative starts differently: no backtracking.)"""
_ATTRIBUTE = re.compile(r"""([A-Za-z_][\w.:-]*)\s*=\s*("[^"]*"|'[^']*')""")
_AUTH_PASS = re.compile(r"""(?:^|(?<=[\s{]))auth_pass[ \t]+("[^"\n]*"?|[^\s{}"]+)""",
                        re.MULTILINE)


def secret_name(name: str) -> bool:
    return bool(_SECRET_NAME.search(name))


def pair_text(name: str | None, value: str | None) -> str:
    """``name=value`` for a message, ``name=***`` when the name is a secret's."""
    return f"{name}={HIDDEN if name and secret_name(name) else value}"


def masked_cib(source: Source) -> Source:
    """``source`` with the value of every ``nvpair`` of a secret's name starred out."""
    return _starred(source, _cib_secrets(source.text))


def masked_keepalived(source: Source) -> Source:
    """``source`` with the word after every ``auth_pass`` starred out."""
    return _starred(source, ((m.start(1), m.end(1)) for m in _AUTH_PASS.finditer(source.text)))


def _cib_secrets(text: str) -> Iterator[tuple[int, int]]:
    for element in _NVPAIR.finditer(text):
        attributes = {m.group(1): m for m in _ATTRIBUTE.finditer(element.group())}
        name, value = attributes.get("name"), attributes.get("value")
        if name is not None and value is not None and secret_name(name.group(2)[1:-1]):
            start = element.start() + value.start(2) + 1  # inside the quotes
            yield start, start + len(value.group(2)) - 2


def _starred(source: Source, spans: Iterator[tuple[int, int]]) -> Source:
    text = source.text
    parts, at = [], 0
    for start, end in spans:
        # Newlines stay: the lines after a value that spans several keep their numbers.
        parts += [text[at:start], re.sub(r"[^\n]", "*", text[start:end])]
        at = end
    return Source(source.path, "".join(parts) + text[at:]) if parts else source
