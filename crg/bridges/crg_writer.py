"""An imported configuration as a ``.crg`` file, with a comment wherever something did not map.

The importers build a :class:`Draft` (statements as the language spells them, comments
attached); this module lays it out and hands the text to ``crg fmt``'s formatter
(:func:`crg.dsl.format.format_checked`), which gives the canonical layout and parses the
result back, so a writer slip cannot produce a file that says something else. The
formatter prints syntax trees parsed from text, with comments placed by their position in
that text, not a configuration model: hence a plain text first. The result is validated
like any ``.crg`` file in the same pass (the layout here is the canonical one, so the text
is parsed once): what crg itself rejects is reported by the command as bad input, at its
place in the written file.
"""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass, field
from importlib import resources

from crg.dsl import Config, ConfigError, Source
from crg.dsl.format import format_checked, quote

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*")
WIDTH = 88


def keywords() -> frozenset[str]:
    """Every keyword of the language: a name spelt like one would be read as the keyword."""
    grammar = resources.files("crg.dsl").joinpath("crg.lark").read_text(encoding="utf-8")
    return frozenset(re.findall(r'"([a-z-]+)"', grammar))


def crg_name(text: str) -> str:
    """``text`` made a valid crg name (``1a`` becomes ``_1a``, ``web:0`` ``web_0``);
    keywords get a trailing underscore."""
    name = re.sub(r"[^A-Za-z0-9_.-]", "_", text) or "_"
    if not _NAME.fullmatch(name):
        name = "_" + name
    return name + "_" if name in keywords() or name in ("all", "none") else name


def braced(text: str) -> str:
    """``text`` with its braces doubled: crg reads ``{x}`` as a placeholder."""
    return text.replace("{", "{{").replace("}", "}}")


def literal(text: str) -> str:
    """A string statement's value that crg reads back as ``text``, braces and all."""
    return quote(braced(text))


@dataclass
class Statement:
    text: str
    comments: list[str] = field(default_factory=list)
    """Said before the statement, one ``#`` comment each (wrapped)."""


@dataclass
class DraftGroup:
    name: str
    statements: list[Statement] = field(default_factory=list)
    comments: list[str] = field(default_factory=list)

    def add(self, text: str, *comments: str) -> None:
        self.statements.append(Statement(text, list(comments)))


@dataclass
class Draft:
    name: str
    nodes: list[str]
    comments: list[str] = field(default_factory=list)
    """At the top of the file."""
    cluster: list[Statement] = field(default_factory=list)
    groups: list[DraftGroup] = field(default_factory=list)
    included: list[tuple[str, str]] = field(default_factory=list)
    """The files read besides those named on the command line (a keepalived include's),
    each with the file that includes it: the output may not replace one either."""


def draft_text(draft: Draft, path: str) -> str:
    """The draft as a canonical ``.crg`` text."""
    return draft_checked(draft, path)[0]


def draft_checked(draft: Draft, path: str) -> tuple[str, Config | ConfigError]:
    """The draft as a canonical ``.crg`` text, and its configuration or the ConfigError
    that validating the text gives (pointing into the text, as written to ``path``)."""
    lines = [*_comments(draft.comments, 0)]
    lines.append(f"cluster {draft.name} {{")
    lines.append(f"  nodes {' '.join(draft.nodes)}")
    for statement in draft.cluster:
        lines += [*_comments(statement.comments, 1), f"  {statement.text}"]
    lines.append("}")
    for group in draft.groups:
        lines += ["", *_comments(group.comments, 0), f"group {group.name} {{"]
        for statement in group.statements:
            lines += _comments(statement.comments, 1)
            lines += ["  " + line for line in statement.text.split("\n")]
        lines.append("}")
    text = "\n".join(lines) + "\n"
    try:
        return format_checked(Source(path, text))
    except ConfigError as exc:
        # Not even the syntax holds (a name taken from the input that crg cannot read):
        # the text is written as it is, and the error points into it all the same.
        return text, exc


def _comments(comments: list[str], depth: int) -> list[str]:
    indent = "  " * depth
    out = []
    for comment in comments:
        out += textwrap.wrap(comment, WIDTH - len(indent) - 2, initial_indent=f"{indent}# ",
                             subsequent_indent=f"{indent}# ", break_on_hyphens=False,
                             break_long_words=False)
    return out
