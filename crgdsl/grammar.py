"""The LALR parser of crg.lark, built once, and what the grammar can tell about itself.

:mod:`crg.dsl.parser` parses with it and words lark's errors; :mod:`crg.dsl.misread` asks
it which words start a statement and whether a piece of text is a statement.
"""

from __future__ import annotations

import functools
from contextvars import ContextVar
from importlib import resources

from lark import Lark, Token
from lark.exceptions import UnexpectedInput

from crg.dsl.syntax import Comment

# Friendly names for the terminals a user may be told were expected.
_TERMINAL_NAMES = {
    "NAME": "a name",
    "STRING": "a quoted string",
    "DURATION": "a duration such as 500ms or 2s",
    "INT": "a whole number",
    "ADDRESS": "an address with prefix such as 10.0.0.5/24",
    "NODE_WORD": "'node' or 'nodes'",
    "$END": "end of file",
}

# Comments are ignored by the grammar; the lexer hands each one to this callback, which
# collects them for `crg fmt`. Re-lexing the text with a plain lexer instead is not
# equivalent: without the parser's context it can fail on input that parsed (`nodes ab-c`).
comment_sink: ContextVar[list[Comment] | None] = ContextVar("crg_comment_sink", default=None)


def _on_comment(token: Token) -> Token:
    sink = comment_sink.get()
    if sink is not None:
        sink.append(Comment(str(token), token.line or 0, token.column or 0))
    return token


@functools.cache
def lark() -> Lark:
    grammar = resources.files("crg.dsl").joinpath("crg.lark").read_text(encoding="utf-8")
    return Lark(grammar, parser="lalr", lexer="contextual", propagate_positions=True,
                maybe_placeholders=True, lexer_callbacks={"COMMENT": _on_comment})


def describe(terminal: str) -> str:
    """How to name a terminal in a message: ``a name``, ``'{'``..."""
    if terminal in _TERMINAL_NAMES:
        return _TERMINAL_NAMES[terminal]
    try:
        pattern = lark().get_terminal(terminal).pattern
    except KeyError:
        return terminal.lower()
    return f"'{pattern.value}'"


def keywords(expected: set[str]) -> list[str]:
    """The keywords among the terminals ``expected``."""
    words = []
    for terminal in expected:
        described = describe(terminal)
        if described.startswith("'") and described[1:-1].replace("-", "").isalpha():
            words.append(described[1:-1])
    return words


@functools.cache
def statement_keywords(block: str) -> frozenset[str]:
    """The keywords that may start a statement in a ``cluster`` or ``group`` block (the
    grammar's own list, so a new statement needs no second list elsewhere)."""
    interactive = lark().parse_interactive(f"{block} b {{")
    interactive.exhaust_lexer()
    accepted = interactive.accepts()  # type: ignore[no-untyped-call]  # untyped in lark
    return frozenset(keywords(set(accepted)))


@functools.cache
def statement_terminals() -> frozenset[str]:
    """The terminals that start a block or a statement anywhere: at the top level, in a
    ``cluster``, ``group`` or ``defaults`` block and in an ``app`` block (those of ``env``
    are names, and a name goes on a list too: not among them)."""
    found: set[str] = set()
    for opening in ("", "cluster b {", "group b {", "defaults {", "group b { app {"):
        interactive = lark().parse_interactive(opening)
        interactive.exhaust_lexer()
        found |= interactive.accepts()  # type: ignore[no-untyped-call]  # untyped in lark
    return frozenset(found - {"RBRACE", "$END"})


def is_statements(block: str, text: str) -> bool:
    """Whether ``text`` is a valid sequence of statements inside a ``block`` block."""
    try:
        lark().parse(f"{block} b {{ {text} }}")
    except UnexpectedInput:
        return False
    return True
