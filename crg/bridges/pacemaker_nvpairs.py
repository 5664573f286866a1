"""Pacemaker's name-value pairs, as its scheduler reads them.

A name given twice — in one set, or in two sets of one element (``meta_attributes``
twice, as crmsh and hand edits leave them) — takes its first value: Pacemaker's
unpacking skips a name it already has. A dictionary built by assignment would keep the
last one, and import a different stickiness or threshold than the cluster runs with.
(Sets ordered by a ``score`` are read in document order: crg's exports write no scores,
and a rule's sets are named as not imported anyway.)
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterable


def first_values(pairs: Iterable[ET.Element]) -> dict[str, str]:
    """Name -> value of ``nvpair`` elements, the first of each name winning."""
    values: dict[str, str] = {}
    for pair in pairs:
        values.setdefault(pair.get("name", ""), pair.get("value", ""))
    return values
