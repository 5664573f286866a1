"""Misspelt statements that the grammar reads as more names of the list before them.

Line breaks carry no meaning, so after ``possible n2`` a misspelt ``failbak auto`` on the
next line is two more names of the list, not an unknown statement. Left alone that gives
"unknown node 'failbak'", "unknown node 'auto'" and whatever the lost statement leaves
missing. The parser (when the misread statement's value breaks the syntax, as in
``heartbeet 1s``) and the resolver (when it does not) both look for a name that does not
fit its list and looks like a statement instead, and report that one error in place of
the others.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass

from lark import Token, Tree
from lark.exceptions import UnexpectedToken

from crg.dsl.grammar import is_statements, statement_keywords
from crg.dsl.source import Span
from crg.dsl.syntax import Name

# Closer than did_you_mean's 0.6: a name that is merely unknown keeps its own error (and
# its own suggestion); only a clear misspelling of a statement takes it over.
CUTOFF = 0.75

# The list statements, by the terminal of their keyword, and the block they belong to.
_LISTS = {"NODES": ("nodes", "cluster"), "FAULTS": ("assume faults", "cluster"),
          "POSSIBLE": ("possible", "group"), "NOTIFY": ("notify", "group"),
          "AVOID": ("avoid", "group")}


@dataclass(frozen=True, slots=True)
class Misread:
    """A name of a list that reads as the misspelt statement ``keyword``."""

    name: Name
    keyword: str
    list_keyword: str

    @property
    def exact(self) -> bool:
        """The statement is spelt right: only a comma before it can have made it a name
        of the list (the grammar ends a list at a keyword otherwise)."""
        return self.name.text == self.keyword

    @property
    def message(self) -> str:
        if self.exact:
            return (f"'{self.keyword}' is read as a name in the '{self.list_keyword}' list: "
                    "the comma before it continues the list")
        return (f"unknown statement '{self.name.text}' (read as a name in the "
                f"'{self.list_keyword}' list)")

    @property
    def hint(self) -> str:
        if self.exact:
            return f"remove the comma at the end of the '{self.list_keyword}' list"
        return f"did you mean {self.keyword}?"


def keyword_like(word: str, keywords: Iterable[str], others: Iterable[str] = ()) -> str | None:
    """The statement keyword ``word`` looks like a misspelling of, if it looks more like
    that keyword than like any of ``others`` (the names the list may legitimately hold)."""
    lowered = word.lower()
    score, best = max(((_ratio(lowered, k), k) for k in keywords),
                      key=lambda scored: scored[0], default=(0.0, ""))
    if score < CUTOFF:
        return None
    if any(_ratio(lowered, o.lower()) >= score for o in others if o != word):
        return None
    return best


def _ratio(a: str, b: str) -> float:
    """difflib's similarity, except that one typo (a letter wrong, missing, extra or two
    swapped) always counts as close: difflib rates ``vpi`` against ``vip`` at 0.67."""
    ratio = difflib.SequenceMatcher(None, a, b).ratio()
    return max(ratio, 0.8) if min(len(a), len(b)) >= 2 and _one_typo(a, b) else ratio


def _one_typo(a: str, b: str) -> bool:
    if a == b or abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        wrong = [i for i in range(len(a)) if a[i] != b[i]]
        return len(wrong) == 1 or (len(wrong) == 2 and wrong[1] == wrong[0] + 1
                                   and a[wrong[0]] == b[wrong[1]] and a[wrong[1]] == b[wrong[0]])
    short, long = (a, b) if len(a) < len(b) else (b, a)
    return any(long[:i] + long[i + 1:] == short for i in range(len(long)))


def split(names: Sequence[Name], list_keyword: str, block: str, fits: Callable[[Name], bool],
          others: Collection[str]) -> tuple[tuple[Name, ...], tuple[Misread, ...]]:
    """The names that belong to the list, and the misspelt statements found in it.

    A name that does not ``fits`` the list is taken for a statement when it looks like a
    keyword of ``block`` and, with the keyword in its place, it and (some of) the names
    after it are a valid statement: ``failbak auto`` is ``failback auto``. The list ends
    there; the names after it were the statement's values and raise no errors of their
    own. Later keyword-like names are reported too, as several statements may have been
    swallowed.
    """
    # The list's own keyword would be a second statement of its kind: an error anyway, so
    # a name that looks like it (node3 after `nodes node1 node2`) stays a name.
    keywords = statement_keywords(block) - {list_keyword}
    for index, name in enumerate(names):
        if fits(name):
            continue
        keyword = keyword_like(name.text, keywords, others)
        rest = [n.text for n in names[index + 1:]]
        if keyword is None or not any(is_statements(block, " ".join([keyword, *rest[:end]]))
                                      for end in range(len(rest), 0, -1)):
            continue
        found = [Misread(name, keyword, list_keyword)]
        for later in names[index + 1:]:
            later_keyword = None if fits(later) else keyword_like(later.text, keywords, others)
            if later_keyword is not None:
                found.append(Misread(later, later_keyword, list_keyword))
        return tuple(names[:index]), tuple(found)
    return tuple(names), ()


def in_broken_list(exc: UnexpectedToken) -> Misread | None:
    """The misspelt statement in the list that the parser was reading when the syntax
    broke, if one of its names looks like a statement: ``nodes n1 n2`` + ``heartbeet 1s``
    fails at ``1s``, and ``heartbeet`` is the error."""
    interactive = getattr(exc, "interactive_parser", None)
    if interactive is None:
        return None
    names: list[Token] = []
    for item in reversed(interactive.parser_state.value_stack):
        if isinstance(item, Tree) and str(item.data).startswith("__name_list"):
            names[:0] = [t for t in item.children if isinstance(t, Token) and t.type == "NAME"]
        elif isinstance(item, Token) and item.type == "NAME":
            names.insert(0, item)
        elif isinstance(item, Token) and item.type == "COMMA":
            continue  # between the names (``nodes n1 n2 n3,`` + ``lease 2s``)
        elif isinstance(item, Token) and item.type in _LISTS:
            list_keyword, block = _LISTS[item.type]
            break
        else:
            return None
    else:
        return None
    texts = [str(t) for t in names]
    keywords = statement_keywords(block) - {list_keyword}
    for token in reversed(names):  # the nearest to where the syntax broke
        keyword = keyword_like(str(token), keywords, texts)
        if keyword is not None:
            line, column = token.line or 1, token.column or 1
            span = Span(line, column, token.end_line or line,
                        token.end_column or column + len(token))
            return Misread(Name(str(token), span), keyword, list_keyword)
    return None


@dataclass(frozen=True, slots=True)
class Swallowed:
    """A statement with no value, which took the next statement's keyword for it:
    ``preferred`` + ``possible n2, n3`` reads ``possible`` as the preferred node."""

    name: Name
    keyword: str
    """The statement left without its value (``preferred``)."""

    @property
    def message(self) -> str:
        return (f"'{self.keyword}' has no value: the next statement's '{self.name.text}' "
                "was read as its value")

    @property
    def hint(self) -> str:
        return f"write the value after '{self.keyword}'"


def swallowed(exc: UnexpectedToken) -> Swallowed | None:
    """The statement whose value is the keyword of the next one, when the syntax broke
    right after that keyword."""
    interactive = getattr(exc, "interactive_parser", None)
    if interactive is None:
        return None
    stack = interactive.parser_state.value_stack
    if len(stack) < 2:
        return None
    before, value = stack[-2], stack[-1]
    if not (isinstance(before, Token) and isinstance(value, Token) and value.type == "NAME"
            and before.type.isupper() and before.type not in ("NAME", "COMMA", "LBRACE")):
        return None
    keyword = str(before).lower()
    statements = statement_keywords("group") | statement_keywords("cluster")
    if str(value) not in statements or keyword not in statements:
        return None
    line, column = value.line or 1, value.column or 1
    span = Span(line, column, value.end_line or line, value.end_column or column + len(value))
    return Swallowed(Name(str(value), span), keyword)
