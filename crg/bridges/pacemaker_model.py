"""A Pacemaker configuration as plain data: what the CIB writer and the pcs writer print.

Only what crg's export produces is modelled (groups of primitives, location and
colocation constraints, cluster properties, alerts); the importer reads the CIB itself.
Scores are integers, with Pacemaker's INFINITY as :data:`INFINITY`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

INFINITY = 1_000_000
"""Pacemaker's INFINITY: scores saturate at plus or minus this value."""


def score_text(score: int) -> str:
    """A score as Pacemaker writes it: ``INFINITY``, ``-INFINITY`` or a number."""
    if score >= INFINITY:
        return "INFINITY"
    if score <= -INFINITY:
        return "-INFINITY"
    return str(score)


def seconds_text(ms: int) -> str:
    """A duration in Pacemaker's syntax: whole seconds as ``10s``, else ``1500ms``."""
    return f"{ms // 1000}s" if ms % 1000 == 0 else f"{ms}ms"


class Ids:
    """Every id of one CIB document: Pacemaker ids share one namespace (crm_verify
    rejects a document where two elements have the same), and the ids crg derives from
    a group's name (``web-meta``, ``web-on-n1``, ``alert-1``) may be another group's name.
    A derived id is taken as it is when free, else with ``-2``, ``-3``... appended: the
    resources' own ids, which are the groups' names, are never changed."""

    def __init__(self, taken: Iterable[str] = ()) -> None:
        self._taken = set(taken)

    def take(self, wanted: str) -> str:
        candidate, count = wanted, 1
        while candidate in self._taken:
            count += 1
            candidate = f"{wanted}-{count}"
        self._taken.add(candidate)
        return candidate


@dataclass(frozen=True, slots=True)
class Op:
    name: str
    """``monitor``, ``start`` or ``stop``."""
    interval_ms: int
    timeout_ms: int


@dataclass(frozen=True, slots=True)
class Primitive:
    id: str
    standard: str
    """The resource class: ``ocf``, ``systemd`` or ``lsb``."""
    provider: str | None
    """For ``ocf`` only (``heartbeat``)."""
    type: str
    params: tuple[tuple[str, str], ...]
    ops: tuple[Op, ...]

    @property
    def agent(self) -> str:
        """``ocf:heartbeat:IPaddr2``, ``systemd:nginx``: the spelling pcs takes."""
        parts = [self.standard, self.provider, self.type]
        return ":".join(p for p in parts if p)


@dataclass(frozen=True, slots=True)
class Group:
    id: str
    members: tuple[Primitive, ...]
    """In start order; Pacemaker stops a group in the reverse order."""
    meta: tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class Location:
    id: str
    rsc: str
    node: str
    score: int


@dataclass(frozen=True, slots=True)
class Colocation:
    id: str
    rsc: str
    """The dependent: placed after ``with_rsc`` and relative to it."""
    with_rsc: str
    score: int
    influence: bool = False
    """Whether the dependent's preferences may move ``with_rsc`` (Pacemaker's default is
    yes; crg's ``avoid`` never moves the avoided group)."""


@dataclass(frozen=True, slots=True)
class Alert:
    id: str
    path: str


@dataclass(frozen=True, slots=True)
class PacemakerConfig:
    cluster_name: str
    nodes: tuple[str, ...]
    properties: tuple[tuple[str, str], ...]
    groups: tuple[Group, ...]
    locations: tuple[Location, ...]
    colocations: tuple[Colocation, ...]
    alerts: tuple[Alert, ...]
    source: str
    """The .crg file it was exported from (named in the header comment)."""

    def ids(self) -> Ids:
        """The ids this configuration holds, taken: the CIB writer derives the rest."""
        return Ids([*(g.id for g in self.groups), *(m.id for g in self.groups
                                                    for m in g.members),
                    *(c.id for c in self.locations), *(c.id for c in self.colocations),
                    *(a.id for a in self.alerts)])
