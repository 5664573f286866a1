"""Pacemaker's name-value pairs, as its scheduler reads them.

An element's sets of one kind (``meta_attributes``, ``instance_attributes``, a
``crm_config``'s ``cluster_property_set``...) are read highest ``score`` first, sets of
equal score in document order, and the set whose id the reader names first before all
(``cib-bootstrap-options`` for the cluster properties); a name already read is skipped,
so its first value wins (Pacemaker's ``pcmk__unpack_nvpair_blocks``: the blocks sorted by
``pcmk__cmp_nvpair_blocks``, a stable sort, then unpacked without overwriting; 2.1's
``pe__unpack_dataset_nvpairs`` and ``sort_pairs`` sort the same way). A dictionary built
in document order would keep another value than the cluster runs with: the last one, or
the one of a set of lower score. A set with a ``rule`` is read as if its rule held (crg
has no rules; the import says so where it meets one).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import dataclass

from crg.bridges.pacemaker_model import INFINITY

BOOTSTRAP = "cib-bootstrap-options"
"""The set of cluster properties that Pacemaker reads before every other one."""


def score(text: str | None) -> int:
    """A Pacemaker score; ValueError for text Pacemaker would not read as one."""
    value = (text or "0").strip().upper().lstrip("+")
    if value in ("INFINITY", "INF"):
        return INFINITY
    if value in ("-INFINITY", "-INF"):
        return -INFINITY
    if not re.fullmatch(r"-?\d+", value):
        raise ValueError(value)  # reported by the caller at the element
    # Pacemaker clamps a larger number to INFINITY; Python would not even convert one of
    # thousands of digits.
    if len(value.lstrip("-")) > len(str(INFINITY)):
        return -INFINITY if value.startswith("-") else INFINITY
    return max(-INFINITY, min(INFINITY, int(value)))


def set_score(attributes: ET.Element) -> int:
    """A set's score (0 without one, or with one Pacemaker cannot read, as it does: the
    import refuses such a set first, :func:`bad_set_score`)."""
    try:
        return score(attributes.get("score"))
    except ValueError:
        return 0


def bad_set_score(root: ET.Element) -> ET.Element | None:
    """The first set under ``root`` whose score Pacemaker would not read."""
    for element in root.iter():
        if element.tag in SETS and element.get("score") is not None:
            try:
                score(element.get("score"))
            except ValueError:
                return element
    return None


SETS = frozenset({"meta_attributes", "instance_attributes", "cluster_property_set",
                  "utilization"})


def ordered_sets(parent: ET.Element | None, tag: str | None = None,
                 first_id: str | None = None) -> list[ET.Element]:
    """``parent``'s sets (of ``tag``, else of any kind) in the order Pacemaker reads them."""
    if parent is None:
        return []
    sets = [c for c in parent if (c.tag == tag if tag else c.tag in SETS)]
    return sorted(sets, key=lambda s: (first_id is None or s.get("id") != first_id,
                                       -set_score(s)))


def ordered_pairs(parent: ET.Element | None, tag: str | None = None,
                  first_id: str | None = None) -> list[ET.Element]:
    """The ``nvpair`` elements of ``parent``'s sets, in the order Pacemaker reads them."""
    return [p for attributes in ordered_sets(parent, tag, first_id)
            for p in attributes.iterfind("nvpair")]


def first_values(pairs: Iterable[ET.Element]) -> dict[str, str]:
    """Name -> value of ``nvpair`` elements, the first of each name winning."""
    return {name: pair.get("value", "") for name, pair in first_pairs(pairs).items()}


def first_pairs(pairs: Iterable[ET.Element]) -> dict[str, ET.Element]:
    """Name -> the ``nvpair`` element that gives its value: the first of each name."""
    found: dict[str, ET.Element] = {}
    for pair in pairs:
        found.setdefault(pair.get("name", ""), pair)
    return found


@dataclass(frozen=True, slots=True)
class Overridden:
    """A pair Pacemaker does not read: a pair of the same name was read before it."""

    pair: ET.Element
    within: ET.Element
    """The set that holds it."""
    winner: ET.Element
    winner_within: ET.Element

    def why(self) -> str:
        """Why the winner is read first."""
        if self.within is self.winner_within:
            return "the first of a name given twice in one set"
        ours, theirs = set_score(self.within), set_score(self.winner_within)
        if self.winner_within.get("id") == BOOTSTRAP:
            return f"{BOOTSTRAP} comes first, whatever the scores"
        if theirs > ours:
            return f"the set of higher score, {theirs} > {ours}"
        return "of sets of equal score, the first in the document"


def overridden(sets: Iterable[ET.Element], names: Iterable[str] | None = None
               ) -> list[Overridden]:
    """Each pair of ``names`` (of any name: None) that Pacemaker does not read because
    the same name came before it with another value (``sets`` in Pacemaker's order)."""
    wanted = None if names is None else set(names)
    first: dict[str, tuple[ET.Element, ET.Element]] = {}
    out = []
    for attributes in sets:
        for pair in attributes.iterfind("nvpair"):
            name = pair.get("name", "")
            if wanted is not None and name not in wanted:
                continue
            winner, within = first.setdefault(name, (pair, attributes))
            if winner is not pair and winner.get("value") != pair.get("value"):
                out.append(Overridden(pair, attributes, winner, within))
    return out
