"""Symmetry reduction: interchangeable nodes and groups, detected from the topology.

Two kinds of symmetry are detected (never assumed):

* **Nodes** that are a candidate of no group of the model. No rule names them: they only
  use up the ``assume at most k nodes down`` budget (and can be cut off and expire). Any
  permutation of them maps runs to runs. Preference order breaks every other node
  symmetry: two candidates of one group never play the same role.
* **Groups** with the same kind, candidate list, failback, restart budget and fencing, that
  avoid no group and are avoided by none. Their rules read only the node status and their
  own variables, so swapping two of them maps runs to runs.

Every invariant is stated per group over its own variables and candidates, so it is
preserved by these permutations, and exploring one canonical state per orbit decides the
same verdicts. The canonical form sorts the interchangeable nodes by everything the state
holds about them (their status, and each group's bits and references on them), then sorts
interchangeable groups' packed fields: deterministic and inside the orbit, which is all
soundness needs. The common case — nothing of any group on those nodes — is a lookup on
the node-status bits.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from crg.spec import GroupVars, Model, NodeVars, State, Topology
from crg.spec.vocabulary.variables import FLAG_FIELDS, MASK_FIELDS

GROUP_MASKS = MASK_FIELDS
"""GroupVars fields that are node masks."""
GROUP_REFS = ("owner", "target")
"""GroupVars fields that hold a node index + 1."""
GROUP_SCALARS = ("restarts", *FLAG_FIELDS)
"""GroupVars fields that do not mention nodes."""


class UnknownField(Exception):
    """The spec grew a group variable this module does not know how to permute."""


def interchangeable_nodes(topology: Topology) -> tuple[int, ...]:
    used = {n for g in topology.groups for n in g.candidates}
    return tuple(n for n in range(topology.n_nodes) if n not in used)


def interchangeable_groups(topology: Topology) -> tuple[tuple[int, ...], ...]:
    avoided = {h for g in topology.groups for h in g.avoid}
    classes: dict[tuple[object, ...], list[int]] = {}
    for g in topology.groups:
        if g.avoid or g.index in avoided:
            continue
        key = (g.failover, g.candidates, g.auto_failback, g.budget, g.self_fencing)
        classes.setdefault(key, []).append(g.index)
    return tuple(tuple(c) for c in classes.values() if len(c) > 1)


@dataclass
class Symmetry:
    """A canonicaliser for one model, or nothing to reduce (:meth:`detect` returns None)."""

    model: Model
    nodes: tuple[int, ...]
    groups: tuple[tuple[int, ...], ...]
    _node_memo: dict[int, int] = field(default_factory=dict)

    @staticmethod
    def detect(model: Model) -> Symmetry | None:
        check_fields()
        nodes = interchangeable_nodes(model.topology)
        groups = interchangeable_groups(model.topology)
        if len(nodes) < 2 and not groups:
            return None
        return Symmetry(model, nodes if len(nodes) > 1 else (), groups)

    def describe(self) -> str:
        parts = []
        names = self.model.topology.nodes
        if self.nodes:
            parts.append("nodes " + ", ".join(names[n] for n in self.nodes))
        for cls in self.groups:
            parts.append("groups " + ", ".join(self.model.groups[g].name for g in cls))
        return "; ".join(parts) + " interchangeable"

    def __post_init__(self) -> None:
        layout = self.model.layout
        self._nodes_mask = (1 << layout.nodes_width) - 1
        zero = _zero_group()
        class_mask = sum(1 << n for n in self.nodes)
        # Every bit a group could have on an interchangeable node: the fast path needs none.
        per_group = 0
        for name in GROUP_MASKS:
            per_group |= layout.pack_group(zero._replace(**{name: class_mask}))
        self._group_bits = sum(per_group << off for off in layout.offsets)
        self._ref_fields = tuple(
            (off + shift, layout.ref_mask)
            for off in layout.offsets
            for shift in (layout.off_owner, layout.off_target))
        self._class_refs = frozenset(n + 1 for n in self.nodes)
        self._group_classes = tuple(
            tuple(layout.offsets[g] for g in cls) for cls in self.groups)
        self._group_mask = layout.group_mask

    # -- canonical form --------------------------------------------------------------------

    def canon(self, state: State) -> State:
        if self.nodes:
            state = self._canon_nodes(state)
        if self._group_classes:
            state = self._canon_groups(state)
        return state

    def _canon_nodes(self, state: State) -> State:
        if not state & self._group_bits and not any(
                (state >> shift) & mask in self._class_refs for shift, mask in self._ref_fields):
            nodes = state & self._nodes_mask
            canonical = self._node_memo.get(nodes)
            if canonical is None:
                canonical = self._node_memo[nodes] = self._canon_status(nodes)
            return (state ^ nodes) | canonical
        return self._canon_full(state)

    def _canon_status(self, nodes_part: int) -> int:
        layout = self.model.layout
        nv = layout.unpack_nodes(nodes_part)
        codes = sorted(tuple((int(mask) >> n) & 1 for mask in nv) for n in self.nodes)
        return layout.pack_nodes(_assign(nv, self.nodes, codes))

    def _canon_full(self, state: State) -> State:
        """Sort the interchangeable nodes by their whole column (status, and every group's
        bits and references on them) and permute the state accordingly."""
        model = self.model
        nv = model.node_vars(state)
        groups = [model.group_vars(state, g) for g in range(len(model.groups))]

        def column(n: int) -> tuple[int, ...]:
            col = [(int(mask) >> n) & 1 for mask in nv]
            for gv in groups:
                col += [(int(getattr(gv, f)) >> n) & 1 for f in GROUP_MASKS]
                col += [int(getattr(gv, f)) == n + 1 for f in GROUP_REFS]
            return tuple(col)

        order = sorted(self.nodes, key=column)
        perm = dict(zip(order, self.nodes, strict=True))  # old node -> new node
        return model.encode(_permute_nodes(nv, perm),
                            [_permute_group(gv, perm) for gv in groups])

    def _canon_groups(self, state: State) -> State:
        mask = self._group_mask
        for offsets in self._group_classes:
            parts = sorted((state >> off) & mask for off in offsets)
            for off, part in zip(offsets, parts, strict=True):
                state = state ^ ((((state >> off) & mask) ^ part) << off)
        return state


def canonicaliser(model: Model, enabled: bool) -> tuple[Callable[[State], State] | None, str]:
    """The canonical-form function for ``model`` (None when there is nothing to reduce or
    symmetry is off) and a description for reports."""
    if not enabled:
        return None, ""
    sym = Symmetry.detect(model)
    if sym is None:
        return None, ""
    return sym.canon, sym.describe()


def check_fields() -> None:
    known = set(GROUP_MASKS) | set(GROUP_REFS) | set(GROUP_SCALARS)
    unknown = set(GroupVars._fields) - known
    if unknown:
        raise UnknownField(f"crg.checker.explicit.symmetry does not know group variables {unknown}")


def _zero_group() -> GroupVars:
    return GroupVars(**{name: 0 for name in GroupVars._fields})


def _assign(nv: NodeVars, nodes: tuple[int, ...], codes: list[tuple[int, ...]]) -> NodeVars:
    masks = [int(m) for m in nv]
    for n, code in zip(nodes, codes, strict=True):
        for k, bit in enumerate(code):
            masks[k] = (masks[k] & ~(1 << n)) | (bit << n)
    return NodeVars(*masks)


def _permute_mask(mask: int, perm: dict[int, int]) -> int:
    out = mask
    for old in perm:
        out &= ~(1 << old)
    for old, new in perm.items():
        out |= ((mask >> old) & 1) << new
    return out


def _permute_nodes(nv: NodeVars, perm: dict[int, int]) -> NodeVars:
    return NodeVars(*(_permute_mask(int(m), perm) for m in nv))


def _permute_group(gv: GroupVars, perm: dict[int, int]) -> GroupVars:
    changes: dict[str, int] = {f: _permute_mask(int(getattr(gv, f)), perm) for f in GROUP_MASKS}
    for f in GROUP_REFS:
        ref = int(getattr(gv, f))
        if ref and ref - 1 in perm:
            changes[f] = perm[ref - 1] + 1
    return gv._replace(**changes)
