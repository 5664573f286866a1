"""Which nodes can perform an action, read off the rules themselves.

Evaluating every rule on every node of a state is what the rules mean; most of that work
is wasted, since most steps can only be taken by the group's owner. Instead of a
hand-written list of "owner-only" kinds, each rule is read as terms
(:class:`~crg.spec.fast.terms.TermAlgebra`) with the owner fixed to one value and
everything else unknown: where its guard folds to *false*, no state with that owner can
enable it on that node. A new rule therefore needs no entry here, and an entry cannot
drift from the rule it summarises. Only the interpreted model uses this (the runtime and
``crg simulate``); the compiled one evaluates straight-line code for every instance.
"""

from __future__ import annotations

from crg.spec.fast.terms import BOOL, TermAlgebra, avoided_terms
from crg.spec.rules.registry import KINDS
from crg.spec.rules.view import View
from crg.spec.vocabulary.actions import ActionKind
from crg.spec.vocabulary.topology import GroupTopology
from crg.spec.vocabulary.variables import FLAG_FIELDS, GroupVars, NodeVars


class Performers:
    """For one group: the nodes on which an action kind may be enabled, per owner value."""

    def __init__(self, topo: GroupTopology, n_nodes: int) -> None:
        self.topo = topo
        self.n_nodes = n_nodes
        self._table: dict[tuple[ActionKind, int], tuple[int, ...]] = {}

    def nodes(self, kind: ActionKind, owner: int) -> tuple[int, ...]:
        """Nodes ``n`` on which ``kind``'s guard is not false whenever the owner is
        ``owner`` (node index + 1, 0 for none), in node order."""
        key = (kind, owner)
        found = self._table.get(key)
        if found is None:
            found = self._table[key] = self._derive(kind, owner)
        return found

    def _derive(self, kind: ActionKind, owner: int) -> tuple[int, ...]:
        rule = KINDS[kind].rule
        assert rule is not None
        a = TermAlgebra()
        nodes = NodeVars(*(a.var(f, "i") for f in NodeVars._fields))
        group = GroupVars(**{f: (a.const(owner) if f == "owner"
                                 else a.var(f, BOOL if f in FLAG_FIELDS else "i"))
                             for f in GroupVars._fields})
        avoided = {h: avoided_terms(a, f"av{h}.") for h in self.topo.avoid}
        view = View(a, self.topo, nodes, group, avoided, self.n_nodes)
        return tuple(n for n in range(self.n_nodes) if rule(view, n)[0] is not a.false)
