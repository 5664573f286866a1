"""Parsing, and the translation of lark's errors into diagnostics."""

from __future__ import annotations

import functools
import re
from copy import copy
from typing import NamedTuple

from lark import Token, Tree
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from crg.dsl import misread, slips
from crg.dsl.diagnostics import Diagnostic, Severity, did_you_mean
from crg.dsl.grammar import comment_sink, describe, keywords, lark, statement_terminals
from crg.dsl.source import Source, Span
from crg.dsl.syntax import Comment

MAX_SYNTAX_ERRORS = 10
"""Syntax errors reported at most for one file (the first, and those after it that
:func:`_syntax_errors` can tell are not its echo, and the misspelt statements after a
list that the rest of the file shows)."""


class Rest(NamedTuple):
    """What is left of a file once the lines of its syntax errors are left out, when that
    parses: for the checks that need a tree (a misspelt statement after a list)."""

    tree: Tree[Token]
    comments: tuple[Comment, ...]
    blanked: tuple[int, ...]
    """The lines left out (0-based)."""

    def echo(self, source: Source, line: int, column: int) -> bool:
        """Whether a finding at ``line``, ``column`` (1-based) may be the leaving out's
        own: on a line left out, or at the first word after one."""
        lines = source.text.split("\n")
        return (line - 1 in self.blanked
                or any(_first_word_after(lines, b, (line, column)) for b in self.blanked))


class Parsed(NamedTuple):
    tree: Tree[Token] | None
    comments: tuple[Comment, ...]
    errors: tuple[Diagnostic, ...]
    """The syntax errors: the first one, and the ones after it that are surely errors of
    their own (none when ``tree`` is there)."""
    rest: Rest | None = None


def parse_tree(source: Source) -> Parsed:
    """Parse ``source``: the tree and comments, or the syntax errors."""
    comments: list[Comment] = []
    reset = comment_sink.set(comments)
    try:
        tree = lark().parse(source.text)
    except UnexpectedInput as exc:
        failed: UnexpectedInput | None = exc
    else:
        failed = None
    finally:
        comment_sink.reset(reset)
    if failed is not None:
        errors, rest = _syntax_errors(source, failed)
        return Parsed(None, (), errors, rest)
    return Parsed(tree, tuple(comments), ())


def _syntax_errors(source: Source, first: UnexpectedInput
                   ) -> tuple[tuple[Diagnostic, ...], Rest | None]:
    """The diagnostic of ``first`` and of the syntax errors after it.

    An operator who fixes a file one syntax error per run of ``crg check`` runs it once
    per typo. The parser cannot go on past an error by itself, so the line of the error
    is blanked and the text parsed again — as long as that cannot invent an error: a line
    with a brace would unbalance the blocks, so the search stops there, as it does at the
    end of the file; and since newlines mean nothing to the grammar (a list may go on on
    the next line), an error at the very first word after the blanked line may be the
    blanking's own echo, and is not reported."""
    found = [_syntax_diagnostic(source, first)]
    text, exc = source.text, first
    blanked: list[int] = []
    while len(found) < MAX_SYNTAX_ERRORS:
        lines = text.split("\n")
        index = (exc.line or 0) - 1
        if (isinstance(exc, UnexpectedEOF) or not 0 <= index < len(lines)
                or "{" in lines[index] or "}" in lines[index]):
            break
        lines[index] = " " * len(lines[index])
        blanked.append(index)
        before, text = text, "\n".join(lines)
        comments: list[Comment] = []
        reset = comment_sink.set(comments)
        try:
            tree = lark().parse(text)
            return tuple(found), Rest(tree, tuple(comments), tuple(blanked))
        except UnexpectedInput as after:
            if (after.line or 0) <= index + 1:
                break
            diagnostic = _syntax_diagnostic(Source(source.path, text), after)
            # A misread list (crg.dsl.misread) is found later than it is reported: both
            # places count.
            at = (after.line or 0, after.column or 0)
            if _first_word_after(lines, index, at,
                                 (diagnostic.span.line, diagnostic.span.column)) and not (
                    at == (diagnostic.span.line, diagnostic.span.column)
                    and _cannot_go_on(before, exc, after)):
                break
            found.append(diagnostic)
            exc = after
        finally:
            comment_sink.reset(reset)
    return tuple(found), None


def _cannot_go_on(text: str, broken: UnexpectedInput, after: UnexpectedInput) -> bool:
    """Whether the error ``after``, at the first word after the line of the error
    ``broken`` in ``text`` once that line is left out, is an error of its own and not the
    leaving out's echo: whether that word cannot go on with the statement broken there.

    It could if some tokens that start no statement (values, commas, a statement's own
    words such as ``within`` or ``every``), fed to the parser where ``broken`` stopped it,
    lead to a state that accepts the word: a list that went on on the next line, a value
    written on the line after its keyword. If no such tokens do, the word starts a
    statement, and leaving the line out changed nothing for it. The search visits each
    parser stack once, and a list goes round in the same states: it ends. Another
    statement on the broken line after the error could go on on the next line too: then
    the word is taken for an echo, as is an error that is not at a word of its own."""
    start, word = broken.pos_in_stream, after.pos_in_stream
    if start is None or word is None or start >= word:
        return False
    end = text.find("\n", start)
    broken_word = _WORD.match(text, start)
    after_it = text[broken_word.end() if broken_word else start + 1:
                    end if end != -1 else len(text)]
    if set(_WORD.findall(after_it)) & _statement_words():
        return False
    interactive = lark().parse_interactive(text)
    try:
        for token in interactive.iter_parse():  # each token is fed after it is given
            if (token.start_pos or 0) >= start:
                break
    except UnexpectedInput:  # the lexer's error at `start`: the tokens before it are fed
        pass
    word_may_be = _terminals_at(text, word)
    conf = copy(interactive.parser_state.parse_conf)
    conf.callbacks = {}  # a state only, no tree
    interactive.parser_state.parse_conf = conf
    stops = statement_terminals() | {"LBRACE", "RBRACE", "$END"}
    seen: set[tuple[int, ...]] = set()
    todo = [interactive]
    while todo:
        state = todo.pop()
        stack = tuple(state.parser_state.state_stack)
        if stack in seen:
            continue
        if len(seen) > _MOST_STATES:
            return False  # not expected of this grammar: an echo, as before
        seen.add(stack)
        accepted: set[str] = state.accepts()
        if accepted & word_may_be:
            return False
        for terminal in accepted - stops:
            following = state.copy(deepcopy_values=False)
            following.feed_token(Token(terminal, ""))
            todo.append(following)
    return True


_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*")
_MOST_STATES = 1000
"""Parser stacks :func:`_cannot_go_on` visits at most (a statement of this grammar has a
few dozen: its lists and options go round in the same states)."""


@functools.cache
def _statement_words() -> frozenset[str]:
    return frozenset(str(lark().get_terminal(t).pattern.value) for t in statement_terminals())


def _terminals_at(text: str, position: int) -> set[str]:
    """The terminals the text at ``position`` may be read as (a keyword only where it is the
    whole word)."""
    word = _WORD.match(text, position)
    found = set()
    for terminal in lark().terminals:
        match = re.compile(terminal.pattern.to_regexp()).match(text, position)
        if match is None or terminal.name in ("WS", "COMMENT"):
            continue
        if terminal.pattern.type == "str" and word is not None and match.group() != word.group():
            continue  # 'lease' in 'leases'
        found.add(terminal.name)
    return found


def _first_word_after(lines: list[str], blanked: int, *at: tuple[int, int]) -> bool:
    """One of the positions ``at`` (line, column) is the first word after line
    ``blanked`` (comments and blank lines aside), or there is no word after it."""
    for number in range(blanked + 1, len(lines)):
        stripped = lines[number].lstrip()
        if stripped and not stripped.startswith("#"):
            return (number + 1, len(lines[number]) - len(stripped) + 1) in at
    return True


def _expected_list(expected: set[str]) -> str:
    names = sorted({describe(t) for t in expected})
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
        if token.type != "$END" and (found := misread.in_broken_list(exc)) is not None:
            return Diagnostic(Severity.ERROR, found.message, found.name.span, found.hint,
                              "syntax")
        if token.type != "$END" and (lost := misread.swallowed(exc)) is not None:
            return Diagnostic(Severity.ERROR, lost.message, lost.name.span, lost.hint,
                              "syntax")
        if token.type == "$END":
            return _end_of_file(source, set(exc.expected))
        start = token.start_pos
        if start is not None and (slip := (
                slips.duration(source.text, start) if "DURATION" in exc.expected
                else slips.count(source.text, start)
                if "INT" in exc.expected or source.text.startswith(".", start)
                else None)) is not None:
            return _slip_diagnostic(slip, line, column - (start - slip.start))
        text = str(token)
        span = Span(line, column, token.end_line or line,
                    token.end_column or column + max(len(text), 1))
        hint: str | None = _expected_list(set(exc.expected))
        if token.type == "NAME":
            words = keywords(set(exc.expected))
            if (elsewhere := slips.other_tools_word(text, set(words))) is not None:
                return Diagnostic(Severity.ERROR, elsewhere[0], span, elsewhere[1], "syntax")
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
        slip = (slips.zone_id(source.text, position) if char == "%"
                else slips.name_character(source.text, position))
        if slip is not None:
            return _slip_diagnostic(slip, line, column)
        if char == "'":
            hint = "strings use double quotes"
        elif char == "-":
            hint = "durations and counts must be positive"
        elif exc.allowed:
            hint = _expected_list(set(exc.allowed))
        return Diagnostic(Severity.ERROR, f"unexpected character '{shown}'",
                          Span.point(line, column), hint, "syntax")
    return Diagnostic(Severity.ERROR, "syntax error", Span.point(line, column), None, "syntax")


def _slip_diagnostic(slip: slips.Slip, line: int, column: int) -> Diagnostic:
    """``slip`` starts at ``line``, ``column``."""
    return Diagnostic(Severity.ERROR, slip.message, Span.point(line, column, slip.length),
                      slip.hint, "syntax")


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
        regex = re.compile(lark().get_terminal(name).pattern.to_regexp())
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
