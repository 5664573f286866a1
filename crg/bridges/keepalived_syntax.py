"""keepalived.conf read into a tree of statements, every one with its position.

keepalived's format is line-oriented: a statement is a keyword and its words on one line;
a ``{`` at the end of the line (or alone on the next) opens a block of statements closed
by ``}``. ``#`` and ``!`` start a comment where a word would start (inside a word they
are kept); double quotes hold words with spaces (scripts).
Braces count as words of their own even when written against another word.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from crg.bridges.import_secrets import masked_keepalived
from crg.dsl import ConfigError, Diagnostic, Severity, Source
from crg.dsl.source import Span


@dataclass(frozen=True, slots=True)
class Token:
    text: str
    line: int
    column: int
    source: Source = field(compare=False, repr=False)
    """The file the word is in, as diagnostics quote it: an included file's text is read
    in the place of its include, so a statement may come from another file than the one
    around it."""
    quoted: bool = False

    @property
    def span(self) -> Span:
        return Span.point(self.line, self.column, len(self.text) + 2 * self.quoted)


@dataclass
class Stmt:
    keyword: Token
    args: list[Token]
    children: list[Stmt] | None = None
    """None for a plain statement; a list (maybe empty) for a block."""

    @property
    def name(self) -> str:
        return self.keyword.text

    @property
    def words(self) -> list[str]:
        return [a.text for a in self.args]

    @property
    def span(self) -> Span:
        return self.keyword.span

    @property
    def source(self) -> Source:
        return self.keyword.source

    def find(self, keyword: str) -> Stmt | None:
        return next((c for c in self.children or () if c.name == keyword), None)

    def all(self, keyword: str) -> list[Stmt]:
        return [c for c in self.children or () if c.name == keyword]


@dataclass
class KeepalivedFile:
    source: Source
    """The file named on the command line (the statements of the files it includes have
    their own sources)."""
    statements: list[Stmt] = field(default_factory=list)

    def error(self, span: Span, message: str, hint: str | None = None) -> ConfigError:
        """An error in the file named on the command line, not in one it includes."""
        return ConfigError(self.source, [Diagnostic(Severity.ERROR, message, span, hint,
                                                    "import")])


def error_at(at: Token | Stmt, message: str, hint: str | None = None) -> ConfigError:
    """An error at a word or statement, in the file it was read from."""
    return ConfigError(at.source, [Diagnostic(Severity.ERROR, message, at.span, hint,
                                              "import")])


def tokenize(source: Source, shown: Source | None = None) -> list[list[Token]]:
    """The words of each line that has any (comments dropped), braces split off.
    ``shown``: the source an error quotes, if not ``source``; each word's source."""
    shown = shown or source
    lines = []
    for number, text in enumerate(source.lines(), start=1):
        words: list[Token] = []
        index = 0
        while index < len(text):
            char = text[index]
            if char in " \t\r":
                index += 1
            elif char in "#!":
                break
            elif char in "{}":
                words.append(Token(char, number, index + 1, shown))
                index += 1
            elif char == '"':
                end = text.find('"', index + 1)
                if end < 0:
                    raise ConfigError(shown, [Diagnostic(
                        Severity.ERROR, "this quoted string is not closed on its line",
                        Span.point(number, index + 1), None, "import")])
                words.append(Token(text[index + 1:end], number, index + 1, shown,
                                   quoted=True))
                index = end + 1
            else:
                # '#' and '!' start a comment only where a word would start, as keepalived
                # reads them: inside a word (a script's argument, a password) they are kept.
                start = index
                while index < len(text) and text[index] not in ' \t\r{}"':
                    index += 1
                words.append(Token(text[start:index], number, start + 1, shown))
        if words:
            lines.append(words)
    return lines


def parse_keepalived(source: Source) -> KeepalivedFile:
    """One file's statements, an ``include`` among them as a statement (not followed:
    :func:`crg.bridges.keepalived_include.read_keepalived` follows it)."""
    # Every diagnostic quotes the file with its VRRP passwords starred out.
    shown = masked_keepalived(source)
    return parse_lines(shown, tokenize(source, shown))


def parse_lines(shown: Source, lines: list[list[Token]]) -> KeepalivedFile:
    """The statements of ``lines``, which may come from several files (an include's in its
    place, as keepalived reads them: a block may even open in one and close in another);
    ``shown`` is the file named on the command line."""
    document = KeepalivedFile(shown)
    stack: list[tuple[Stmt | None, list[Stmt]]] = [(None, document.statements)]
    previous: Stmt | None = None
    for words in lines:
        _refuse_conditional(words[0])
        _refuse_parameters(words[0])
        while words:
            first = words[0]
            if first.text == "}" and not first.quoted:
                if len(stack) == 1:
                    raise error_at(first, "'}' closes no block")
                stack.pop()
                words, previous = words[1:], None
                continue
            if first.text == "{" and not first.quoted:
                # A block opened on the line after its statement.
                if previous is None or previous.children is not None:
                    raise error_at(first, "'{' opens no statement's block")
                previous.children = []
                stack.append((previous, previous.children))
                words = words[1:]
                continue
            rest = words[1:]
            opens = next((i for i, w in enumerate(rest) if w.text == "{" and not w.quoted), None)
            closes = next((i for i, w in enumerate(rest) if w.text == "}" and not w.quoted),
                          None)
            cut = min(i for i in (opens, closes, len(rest)) if i is not None)
            statement = Stmt(first, rest[:cut])
            stack[-1][1].append(statement)
            previous = statement
            words = rest[cut:]
            if words and words[0].text == "{":
                statement.children = []
                stack.append((statement, statement.children))
                words = words[1:]
    if len(stack) > 1:
        opener = stack[-1][0]
        assert opener is not None
        raise error_at(opener, f"the block of '{opener.name}' is never closed")
    return document


def _refuse_conditional(first: Token) -> None:
    """A line for one ``keepalived -i CONFIG_ID`` only (``@high priority 170``, ``@^high``
    for every id but high): read without the id, every variant of a statement would be
    taken at once (or, as a statement named ``@high``, none: the priority left at 100)."""
    if first.text.startswith("@") and not first.quoted:
        ident = first.text.lstrip("@^")
        raise error_at(first, f"'{first.text}': a line for keepalived -i {ident} "
                              f"{'only' if '^' not in first.text else 'excepted'}"
                              " (conditional configuration) is not supported",
                       "import each node's configuration as keepalived reads it: a copy of "
                       "the file with the lines of its config id, without their @ prefix, "
                       "and without the other ids' lines")


_DEFINITION = re.compile(r"\$([A-Za-z_]\w*)=")


def _refuse_parameters(first: Token) -> None:
    """A parameter definition (``$IFACE=eth0``, used as ``$IFACE`` or ``${IFACE}``):
    keepalived substitutes it into the lines after it, word by word or inside a word, and
    reads the result. Read as it is written, the definition was "a statement with no
    counterpart" and ``interface ${IFACE}`` an interface named ``${IFACE}``, which made a
    .crg that crg refused."""
    if (found := _DEFINITION.match(first.text)) is not None and not first.quoted:
        name = found.group(1)
        raise error_at(first, f"'${name}=...': keepalived's parameter substitution is not "
                              "supported",
                       f"import a copy of the file with ${name} and ${{{name}}} written out "
                       "where they are used, and this line removed")
