"""Which actions of a model can interfere: read and write sets, read off the rules.

Partial-order reduction (:mod:`crg.checker.explicit.reduction`) needs to know when two
actions are *independent* — neither writes what the other reads or writes — and which
actions can *enable* a disabled one. Nothing here is written per action kind: every group
rule of the registry is evaluated once per (group, node) as terms
(:class:`~crg.spec.fast.terms.TermAlgebra`), so what a guard or an effect reads is the set
of variables left in its terms once the configuration's constants have folded away, and
what a step writes is the set of fields its result does not leave as they were. A new
rule, or a new variable, needs nothing here.

Granularity. The node status is split into bits (node ``n``'s ``down`` bit...): a crash
of a node that is no candidate of a group touches nothing that group reads. A group's own
variables are two: its owner (the one thing other groups read, through ``avoid``) and the
rest — so any two actions of one group are dependent, which is what makes the reduction
keep every local state of every group (SPEC.md section 11). Node events are read off the
model itself: the node-status bits each one changes, over every node status reachable by
node events alone; their guard reads the whole node status (the failure budget), and
their effect on each group is read off the registry's effect rule like a group rule's.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from crg.spec import Model
from crg.spec.fast.terms import BOOL, Term, TermAlgebra, avoided_terms
from crg.spec.rules import events
from crg.spec.rules.registry import GROUP_EFFECTS, KINDS, SYSTEM_GROUP_KINDS, assumed_group_events
from crg.spec.rules.view import View
from crg.spec.vocabulary.actions import Action, ActionKind
from crg.spec.vocabulary.variables import FLAG_FIELDS, AvoidedVars, GroupVars, NodeVars


@dataclass(frozen=True, slots=True)
class Access:
    reads: int
    """Bitset over the model's variables."""
    writes: int


class Dependency:
    """The static dependency relation of one model's actions."""

    def __init__(self, model: Model) -> None:
        self.model = model
        topology = model.topology
        self.n_nodes = n = topology.n_nodes
        self._vars: dict[tuple[object, ...], int] = {}
        for field in NodeVars._fields:
            for node in range(n):
                self._var(("node", field, node))
        self.access: dict[Action, Access] = {}
        faults = topology.faults
        env_kinds = assumed_group_events(faults)
        for g in range(len(topology.groups)):
            for kind in (*SYSTEM_GROUP_KINDS, *env_kinds):
                self._group_rule(g, kind)
        self._node_events()
        actions = list(self.access)
        self.index = {a: i for i, a in enumerate(actions)}
        self.actions = actions
        writers = [0] * len(self._vars)
        readers = [0] * len(self._vars)
        for i, a in enumerate(actions):
            for v in _bits(self.access[a].writes):
                writers[v] |= 1 << i
            for v in _bits(self.access[a].reads):
                readers[v] |= 1 << i
        self.dependent = []
        """Per action (by index): the bitset of actions dependent on it (itself too): one
        writes what the other reads or writes."""
        self.enablers = []
        """Per action: the bitset of actions that write something its guard reads (a
        necessary enabling set for it when it is disabled)."""
        for i, a in enumerate(actions):
            access = self.access[a]
            found = 1 << i
            for v in _bits(access.writes):
                found |= writers[v] | readers[v]
            for v in _bits(access.reads):
                found |= writers[v]
            self.dependent.append(found)
            enabling = 0
            for v in _bits(self._guard_reads[a]):
                enabling |= writers[v]
            self.enablers.append(enabling)

    # -- variables ------------------------------------------------------------------------

    def _var(self, key: tuple[object, ...]) -> int:
        bit = self._vars.get(key)
        if bit is None:
            bit = self._vars[key] = len(self._vars)
        return bit

    def _group_var(self, g: int, field: str) -> int:
        # the fields another group reads through avoid each on their own (a step that
        # moves a VIP is independent of a group that reads only where the owner is), the
        # others together: only the group's own steps read them
        return 1 << self._var(("group", g, field if field in AvoidedVars._fields else "rest"))

    def _node_field(self, field: str) -> int:
        return sum(1 << self._var(("node", field, node)) for node in range(self.n_nodes))

    # -- group rules ----------------------------------------------------------------------

    _guard_reads: dict[Action, int]

    def _terms(self, g: int) -> tuple[TermAlgebra, View]:
        a = TermAlgebra()
        topo = self.model.topology.groups[g]
        nodes = NodeVars(*(a.var(f"node.{f}", "i") for f in NodeVars._fields))
        group = GroupVars(**{f: a.var(f"g{g}.{f}", BOOL if f in FLAG_FIELDS else "i")
                             for f in GroupVars._fields})
        avoided = {h: avoided_terms(a, f"g{h}.") for h in topo.avoid}
        return a, View(a, topo, nodes, group, avoided, self.n_nodes)

    def _reads(self, terms: Iterable[Term]) -> int:
        """The variables the terms read: node-status bits where a constant bit is tested,
        whole fields otherwise."""
        out = 0
        seen: set[int] = set()
        todo = list(terms)
        while todo:
            t = todo.pop()
            if not isinstance(t, Term) or id(t) in seen:
                continue
            seen.add(id(t))
            if t.op == "bit" and t.args[0].op == "var" and str(t.args[0].args[0]).startswith(
                    "node."):
                field = str(t.args[0].args[0]).removeprefix("node.")
                out |= 1 << self._var(("node", field, t.args[1]))
                continue
            if t.op == "var":
                name = str(t.args[0])
                if name.startswith("node."):
                    out |= self._node_field(name.removeprefix("node."))
                else:
                    group, field = name.split(".", 1)
                    out |= self._group_var(int(group[1:]), field)
                continue
            todo.extend(x for x in t.args if isinstance(x, Term))
        return out

    def _changed(self, g: int, before: GroupVars, after: GroupVars) -> tuple[list[Term], int]:
        terms, writes = [], 0
        for field, x, y in zip(GroupVars._fields, before, after, strict=True):
            if x is not y:
                terms.append(y)
                writes |= self._group_var(g, field)
        return terms, writes

    def _group_rule(self, g: int, kind: ActionKind) -> None:
        info = KINDS[kind]
        assert info.rule is not None
        a, view = self._terms(g)
        for node in (range(self.n_nodes) if info.uses_node else (-1,)):
            guard, after = info.rule(view, node)
            if guard is a.false:
                continue
            changed, writes = self._changed(g, view.g, after)
            action = Action(kind, g, node)
            guard_reads = self._reads([guard])
            self._store(action, Access(guard_reads | self._reads(changed), writes),
                        guard_reads)

    def _store(self, action: Action, access: Access, guard_reads: int) -> None:
        if not hasattr(self, "_guard_reads"):
            self._guard_reads = {}
        self.access[action] = access
        self._guard_reads[action] = guard_reads

    # -- node events ------------------------------------------------------------------------

    def _node_events(self) -> None:
        """Each node event's node-status writes, found on every node status that node
        events alone reach; its guard is taken to read the whole node status."""
        model = self.model
        all_nodes = sum(self._node_field(f) for f in NodeVars._fields)
        writes: dict[tuple[ActionKind, int], int] = {}
        todo, seen = [0], {0}
        while todo:
            part = todo.pop()
            for system in (True, False):
                for kind, node, after in model._node_events_now(part, system):
                    changed = part ^ after
                    bits = 0
                    for f, field in enumerate(NodeVars._fields):
                        for k in range(self.n_nodes):
                            if (changed >> (f * self.n_nodes + k)) & 1:
                                bits |= 1 << self._var(("node", field, k))
                    writes[(kind, node)] = writes.get((kind, node), 0) | bits
                    if after not in seen:
                        seen.add(after)
                        todo.append(after)
        topology = model.topology
        for (kind, node), node_writes in writes.items():
            reads, written = all_nodes, node_writes
            effect = GROUP_EFFECTS[kind]
            for g in range(len(topology.groups)):
                a, view = self._terms(g)
                terms, group_writes = self._changed(g, view.g, effect(view, node))
                reads |= self._reads(terms)
                written |= group_writes
                if kind is ActionKind.EXPIRE:
                    reads |= self._reads([a.lift(events.expire_ready(view, node))])
            self._store(Action(kind, -1, node), Access(reads, written), reads)


def _bits(value: int) -> Iterable[int]:
    while value:
        low = value & -value
        yield low.bit_length() - 1
        value ^= low
