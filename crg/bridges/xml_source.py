"""XML read with the position of every element, for importers that must say where.

:mod:`xml.etree.ElementTree` keeps no line numbers, so the tree is built here from
expat's events (the parser ElementTree itself uses), recording where each element starts.
A document that is not well-formed, or that declares a DTD (entities could expand it
without bound), is bad input: a :class:`ConfigError` at the offending position.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from xml.parsers import expat

from crg.dsl import ConfigError, Diagnostic, Severity, Source
from crg.dsl.source import NO_SPAN, Span


@dataclass
class XmlDocument:
    source: Source
    root: ET.Element
    positions: dict[int, Span] = field(default_factory=dict)
    """Where each element starts, by ``id(element)``."""

    def where(self, element: ET.Element | None) -> Span:
        if element is None:
            return NO_SPAN
        return self.positions.get(id(element), NO_SPAN)

    def describe(self, element: ET.Element) -> str:
        """``<primitive id="web-app">``: how an element is named in a message."""
        key = element.get("id")
        return f'<{element.tag} id="{key}">' if key else f"<{element.tag}>"

    def error(self, element: ET.Element | None, message: str, hint: str | None = None
              ) -> ConfigError:
        return ConfigError(self.source, [Diagnostic(Severity.ERROR, message,
                                                    self.where(element), hint, "import")])


def parse_xml(source: Source, shown: Source | None = None) -> XmlDocument:
    """``shown``: the source that diagnostics quote, if not ``source`` (one with its
    passwords starred out, :mod:`crg.bridges.import_secrets`)."""
    shown = shown or source
    parser = expat.ParserCreate()
    stack: list[ET.Element] = []
    roots: list[ET.Element] = []
    positions: dict[int, Span] = {}

    def start(tag: str, attributes: dict[str, str]) -> None:
        element = ET.Element(tag, attributes)
        positions[id(element)] = Span.point(parser.CurrentLineNumber,
                                            parser.CurrentColumnNumber + 1, len(tag) + 1)
        if stack:
            stack[-1].append(element)
        else:
            roots.append(element)
        stack.append(element)

    def end(tag: str) -> None:
        stack.pop()

    def doctype(*_: object) -> None:
        raise _Refused("a DOCTYPE declaration is not accepted (a CIB has none)")

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.StartDoctypeDeclHandler = doctype
    try:
        parser.Parse(source.text, True)
    except expat.ExpatError as exc:
        message = expat.errors.messages[exc.code] if exc.code else str(exc)
        raise ConfigError(shown, [Diagnostic(
            Severity.ERROR, f"not well-formed XML: {message}",
            Span.point(exc.lineno, exc.offset + 1), None, "import")]) from None
    except _Refused as exc:
        raise ConfigError(shown, [Diagnostic(
            Severity.ERROR, str(exc),
            Span.point(parser.CurrentLineNumber, parser.CurrentColumnNumber + 1), None,
            "import")]) from None
    if not roots:  # expat refuses such a document itself: this is in case it does not
        raise ConfigError(shown, [Diagnostic(Severity.ERROR, "the file holds no XML element",
                                             Span.point(*shown.end()), None, "import")])
    return XmlDocument(shown, roots[0], positions)


class _Refused(Exception):
    pass
