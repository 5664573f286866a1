"""What one group's rules may read, and the plain facts about nodes and the group.

A :class:`View` is the node status, the group's own variables and, for anti-affinity,
what it reads of the groups it avoids (:class:`AvoidedVars`: where each is, and whether
it stays there). Everything here is written in the algebra (see
:mod:`crg.spec.vocabulary.algebra`), so it means the same thing to the runtime, the
explicit checker and z3. The decisions built on these facts live beside this module:
:mod:`~crg.spec.rules.placement` (where the group should be) and
:mod:`~crg.spec.rules.roles` (what each node should hold).

Node arguments are node *indices* (ints, or z3 terms); ``owner``/``target`` hold index + 1.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from crg.spec.vocabulary.algebra import Algebra, Bool, Word
from crg.spec.vocabulary.topology import GroupTopology
from crg.spec.vocabulary.variables import AvoidedVars, GroupVars, NodeVars


@dataclass(frozen=True, slots=True)
class View:
    a: Algebra
    topo: GroupTopology
    nodes: NodeVars
    g: GroupVars
    avoided: Mapping[int, AvoidedVars]
    """What the rules read of each group in ``topo.avoid`` (by group index)."""
    n_nodes: int
    """Width of the node masks."""
    cache: dict[tuple[str, int], Any] = field(default_factory=dict, compare=False)
    """Derived values already computed for this view (a view never changes)."""


T = TypeVar("T")


def _cached(name: str, v: View, n: Any, compute: Callable[[], T]) -> T:
    # Only concrete node indices are cache keys: z3 terms do not compare with ``==``.
    if not isinstance(n, int):
        return compute()
    key = (name, n)
    try:
        return v.cache[key]  # type: ignore[no-any-return]
    except KeyError:
        pass
    # An algebra of interned terms (the compiler's) also remembers a derived value across
    # views: two views whose variables are the very same terms have the same value.
    memo: dict[tuple[Any, ...], Any] | None = getattr(v.a, "memo", None)
    if memo is None:
        value = v.cache[key] = compute()
        return value
    wide = (name, n, id(v.topo), *map(id, v.nodes), *map(id, v.g),
            *(id(x) for h in v.avoided.values() for x in h))
    try:
        value = v.cache[key] = memo[wide]
    except KeyError:
        value = v.cache[key] = memo[wide] = compute()
    return value


def cached(name: str, v: View, n: Any, compute: Callable[[], T]) -> T:
    """A value derived from view ``v`` (about node ``n``; -1: about the group), computed
    once per view: for the invariants' own words too (``crg.spec.invariants.words``),
    which use names of their own."""
    return _cached(name, v, n, compute)


def live(v: View, n: Word) -> Bool:
    """The node's lease is valid: the store counts it (it is up, or cut off but not yet
    expired)."""
    a = v.a
    return _cached("live", v, n,
                   lambda: a.not_(a.or_(a.bit(v.nodes.down, n), a.bit(v.nodes.lost, n))))


def up(v: View, n: Word) -> Bool:
    """Live and in contact with the store: the only nodes that take cluster actions."""
    a = v.a
    return a.and_(live(v, n), a.not_(a.bit(v.nodes.cut, n)))


def available(v: View, n: Word) -> Bool:
    """Live and not drained: the node may host groups."""
    a = v.a
    return _cached("available", v, n,
                   lambda: a.and_(live(v, n), a.not_(a.bit(v.nodes.drained, n))))


def running(v: View, n: Word) -> Bool:
    """Processes can run there (up, cut off, or lost — but not crashed)."""
    return v.a.not_(v.a.bit(v.nodes.down, n))


def ref_node(v: View, ref: Word) -> Word:
    """The node index held in an owner/target reference (meaningless when ``ref`` is 0)."""
    return v.a.add(ref, -1)


def ref_live(v: View, ref: Word) -> Bool:
    a = v.a
    return a.and_(a.not_(a.eq(ref, 0)), live(v, ref_node(v, ref)))


def ref_available(v: View, ref: Word) -> Bool:
    a = v.a
    return a.and_(a.not_(a.eq(ref, 0)), available(v, ref_node(v, ref)))


def owned(v: View, n: Word) -> Bool:
    return v.a.eq(v.g.owner, v.a.add(n, 1))


def has_owner(v: View) -> Bool:
    return v.a.not_(v.a.eq(v.g.owner, 0))


def holds(v: View, n: Word) -> Bool:
    """Anything of the group is on node ``n``: VIP, application or monitors."""
    a = v.a
    return a.or_(a.bit(v.g.vip, n), a.bit(v.g.app, n), a.bit(v.g.mon, n))


def managed(v: View) -> Bool:
    """The cluster service acts for the group: it is not in maintenance. Every step that
    starts, stops, moves or cleans up the group requires it; the alerts and self-fencing
    do not (an operator at work still wants to hear, and a cut-off node must still let go
    of what it holds)."""
    return v.a.not_(v.g.maintenance)


def is_candidate(v: View, n: Word) -> Bool:
    return v.a.bit(v.a.const(v.topo.candidate_mask), n)


def eligible(v: View, n: int) -> Bool:
    """Available and still within its restart budget for this group."""
    a = v.a
    return a.and_(available(v, n), a.not_(a.bit(v.g.ban, n)))


def any_available(v: View) -> Bool:
    """Some candidate of the group is available."""
    return v.a.or_(v.a.false, *(available(v, c) for c in v.topo.candidates))


def stranded(v: View) -> Bool:
    """Nobody hosts the group and none of its candidates can: every node of its list is
    down, lost or drained. Only an event (a node's return, an undrain) ends it."""
    return v.a.and_(v.a.not_(has_owner(v)), v.a.not_(any_available(v)))


def cluster_coordinator(v: View) -> Word:
    """The first up node of the cluster (index + 1; 0 if none): sends what no host can,
    such as the *service down* of a group left without any candidate."""
    a = v.a
    return a.first([(up(v, n), a.const(n + 1)) for n in range(v.n_nodes)], a.const(0))


def coordinator(v: View) -> Word:
    """The first live candidate (index + 1): which node does group-wide bookkeeping that
    belongs to no owner (the runtime's clock: forgiving a group nobody hosts once its
    restart window has passed). Drained nodes still count: they are up and can write to
    the store."""
    a = v.a
    return a.first([(live(v, c), a.const(c + 1)) for c in v.topo.candidates], a.const(0))


def service_up(v: View, n: Word) -> Bool:
    """The whole stack is up and healthy on ``n``: what a *service up* event announces."""
    a = v.a
    return a.and_(owned(v, n), a.bit(v.g.vip, n), a.bit(v.g.app, n), a.bit(v.g.mon, n),
                  a.not_(v.g.failed))
