"""The LALR parser, built once, and the translation of lark's errors into diagnostics."""

from __future__ import annotations

import functools
import re
from contextvars import ContextVar
from importlib import resources

from lark import Lark, Token, Tree
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from crg.dsl.diagnostics import Diagnostic, Severity, did_you_mean
from crg.dsl.source import Source, Span
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
_comment_sink: ContextVar[list[Comment] | None] = ContextVar("crg_comment_sink", default=None)


def _on_comment(token: Token) -> Token:
    sink = _comment_sink.get()
    if sink is not None:
        sink.append(Comment(str(token), token.line or 0, token.column or 0))
    return token


@functools.cache
def _parser() -> Lark:
    grammar = resources.files("crg.dsl").joinpath("crg.lark").read_text(encoding="utf-8")
    return Lark(grammar, parser="lalr", lexer="contextual", propagate_positions=True,
                maybe_placeholders=True, lexer_callbacks={"COMMENT": _on_comment})


def parse_tree(source: Source) -> tuple[Tree[Token] | None, tuple[Comment, ...], Diagnostic | None]:
    """Parse ``source``; returns the tree and comments, or a syntax diagnostic."""
    comments: list[Comment] = []
    reset = _comment_sink.set(comments)
    try:
        tree = _parser().parse(source.text)
    except UnexpectedInput as exc:
        return None, (), _syntax_diagnostic(source, exc)
    finally:
        _comment_sink.reset(reset)
    return tree, tuple(comments), None


def _describe(terminal: str) -> str:
    if terminal in _TERMINAL_NAMES:
        return _TERMINAL_NAMES[terminal]
    try:
        pattern = _parser().get_terminal(terminal).pattern
    except KeyError:
        return terminal.lower()
    return f"'{pattern.value}'"


def _keywords(expected: set[str]) -> list[str]:
    words = []
    for terminal in expected:
        described = _describe(terminal)
        if described.startswith("'") and described[1:-1].replace("-", "").isalpha():
            words.append(described[1:-1])
    return words


def _expected_list(expected: set[str]) -> str:
    names = sorted({_describe(t) for t in expected})
    if len(names) == 1:
        return f"expected {names[0]}"
    return "expected one of: " + ", ".join(names)


def _syntax_diagnostic(source: Source, exc: UnexpectedInput) -> Diagnostic:
    line = max(exc.line or 1, 1) if exc.line != -1 else 1
    column = max(exc.column or 1, 1) if exc.column != -1 else 1
    if isinstance(exc, UnexpectedEOF):
        return _end_of_file(source, set(exc.expected))
    if isinstance(exc, UnexpectedToken):
        token = _whole_token(source, exc.token)
        if token.type == "$END":
            return _end_of_file(source, set(exc.expected))
        text = str(token)
        span = Span(line, column, token.end_line or line,
                    token.end_column or column + max(len(text), 1))
        hint: str | None = _expected_list(set(exc.expected))
        if token.type == "NAME":
            words = _keywords(set(exc.expected))
            suggestion = did_you_mean(text, words) if words else None
            if suggestion and suggestion.startswith("did you mean"):
                return Diagnostic(Severity.ERROR, f"unknown statement '{text}'", span,
                                  suggestion, "syntax")
            if words:
                return Diagnostic(Severity.ERROR, f"unexpected '{text}'", span, hint, "syntax")
        shown = text if len(text) <= 40 else text[:37] + "..."
        return Diagnostic(Severity.ERROR, f"unexpected {_token_kind(token)} '{shown}'", span,
                          hint, "syntax")
    if isinstance(exc, UnexpectedCharacters):
        position = exc.pos_in_stream or 0
        char = source.text[position] if position < len(source.text) else "?"
        shown = repr(char)[1:-1]
        hint = None
        if char == '"':
            return Diagnostic(Severity.ERROR, "string is not closed on this line",
                              Span.point(line, column), 'end it with " (write \\" for a quote '
                              "inside, \\n for a line break)", "syntax")
        if char == "'":
            hint = "strings use double quotes"
        elif char == "-":
            hint = "durations and counts must be positive"
        elif exc.allowed:
            hint = _expected_list(set(exc.allowed))
        return Diagnostic(Severity.ERROR, f"unexpected character '{shown}'",
                          Span.point(line, column), hint, "syntax")
    return Diagnostic(Severity.ERROR, "syntax error", Span.point(line, column), None, "syntax")


def _end_of_file(source: Source, expected: set[str]) -> Diagnostic:
    line, column = source.end()
    hint = _expected_list(expected)
    if "RBRACE" in expected:
        hint = "a block is missing its closing '}'"
    return Diagnostic(Severity.ERROR, "unexpected end of file", Span.point(line, column), hint,
                      "syntax")


# Value terminals in the order that wins a tie: ADDRESS is deliberately loose (it matches
# `fa` or `2`), so it is the last choice for describing what the user wrote.
_VALUE_TERMINALS = ("DURATION", "INT", "NAME", "STRING", "ADDRESS")


def _whole_token(source: Source, token: Token) -> Token:
    """The longest value token at ``token``'s position.

    After a lexing failure lark re-lexes with all terminals and takes the first that
    matches, not the longest, so a misspelt ``failbak`` arrives as the address ``fa``.
    """
    start = token.start_pos
    if start is None or token.type == "$END":
        return token
    best = token
    for name in _VALUE_TERMINALS:
        regex = re.compile(_parser().get_terminal(name).pattern.to_regexp())
        match = regex.match(source.text, start)
        if match and (len(match.group()) > len(best) or (
                len(match.group()) == len(best) and best.type == "ADDRESS")):
            best = Token(name, match.group(), start, token.line, token.column, token.line,
                         (token.column or 1) + len(match.group()), start + len(match.group()))
    return best


def _token_kind(token: Token) -> str:
    return {
        "STRING": "string",
        "DURATION": "duration",
        "INT": "number",
        "ADDRESS": "address",
        "NAME": "name",
    }.get(token.type, "token")
