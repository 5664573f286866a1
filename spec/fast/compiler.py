"""Compile one group's rules into straight-line Python over packed ints (the fast layer).

The rule functions are evaluated once with :class:`~crg.spec.fast.terms.TermAlgebra`, for every
action instance (kind, node) of the group. Configuration constants fold away, and what
is left is emitted as Python source: unpack the fields the terms use, compute the shared
subterms once, then one ``if guard:`` per instance that packs the next group field and the
step checks it breaks. The result is the same function of the state as evaluating the
rules with the concrete algebra — ``tests/spec/test_compiled.py`` compares the two
transition by transition — only without an interpreter's overhead.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from crg.spec.fast.layout import Layout
from crg.spec.fast.terms import BOOL, Term, TermAlgebra, avoided_terms
from crg.spec.invariants import NO_AVOIDED, STATE_INVARIANTS, STEP_INVARIANTS, after_view
from crg.spec.rules.registry import GROUP_EFFECTS, KINDS, NODE_UPDATES
from crg.spec.rules.view import View
from crg.spec.vocabulary.actions import Action, ActionKind
from crg.spec.vocabulary.topology import GroupTopology
from crg.spec.vocabulary.variables import (
    FLAG_FIELDS,
    MASK_FIELDS,
    AvoidedVars,
    GroupVars,
    NodeVars,
)

Problems = tuple[tuple[str, str], ...]
StepsFn = Callable[[int, int, tuple[int, ...]], tuple[tuple[Action, int, Problems], ...]]
EffectFn = Callable[[int, int], tuple[int, Problems]]
ReadyFn = Callable[[int], bool]
InvariantsFn = Callable[[int, int, tuple[int, ...]], tuple[str, ...]]

_NODE_FIELDS = ("down", "cut", "lost", "drained")
_MASK_FIELDS = MASK_FIELDS
_FLAG_FIELDS = FLAG_FIELDS


@dataclass(frozen=True, slots=True)
class CompiledGroup:
    system_steps: StepsFn
    environment_steps: StepsFn
    node_effects: dict[tuple[ActionKind, int], EffectFn]
    expire_ready: dict[int, ReadyFn]
    always: InvariantsFn
    settled: InvariantsFn
    source: str
    """The generated Python, kept for inspection (``crg`` developers only)."""


class _Emitter:
    """Turns terms into Python expressions; shared subterms become locals."""

    def __init__(self, layout: Layout, hoisted: dict[int, str]) -> None:
        self.layout = layout
        self.hoisted = hoisted

    def expr(self, t: Term) -> str:
        name = self.hoisted.get(id(t))
        if name is not None:
            return name
        return self.raw(t)

    def raw(self, t: Term) -> str:
        op, args = t.op, t.args
        e = self.expr
        if op == "const":
            return repr(args[0])
        if op == "var":
            return str(args[0])
        if op == "and":
            return "(" + " and ".join(e(x) for x in args) + ")"
        if op == "or":
            return "(" + " or ".join(e(x) for x in args) + ")"
        if op == "not":
            return f"(not {e(args[0])})"
        if op == "ite":
            return f"({e(args[1])} if {e(args[0])} else {e(args[2])})"
        if op == "eq":
            return f"({e(args[0])} == {e(args[1])})"
        if op == "lt":
            return f"({e(args[0])} < {e(args[1])})"
        if op == "add":
            return f"({e(args[0])} + {args[1]})"
        if op == "bit":
            return f"({e(args[0])} & {1 << args[1]} != 0)"
        if op == "bitdyn":
            # inline rather than a call to _bit: this is the hottest spot of the checker
            node = e(args[1])
            return f"({node} >= 0 and ({e(args[0])} >> {node}) & 1 != 0)"
        if op == "setbit":
            mask, i, on = args
            if on.is_const:
                return (f"({e(mask)} | {1 << i})" if on.value
                        else f"({e(mask)} & {~(1 << i)})")
            return f"({e(mask)} | {1 << i} if {e(on)} else {e(mask)} & {~(1 << i)})"
        if op == "setbitdyn":
            return f"_setbit({e(args[0])}, {e(args[1])}, {e(args[2])})"
        if op == "without":
            return f"({e(args[0])} & ~{e(args[1])})"
        if op == "band":
            return f"({e(args[0])} & {e(args[1])})"
        if op == "bor":
            return f"({e(args[0])} | {e(args[1])})"
        if op == "iszero":
            return f"({e(args[0])} == 0)"
        if op == "atmostone":
            x = e(args[0])
            return f"({x} & ({x} - 1) == 0)"
        if op == "pople":
            return f"(({e(args[0])} & {(1 << args[2]) - 1}).bit_count() <= {args[1]})"
        raise AssertionError(f"unknown term {op}")


def _bit(mask: int, node: int) -> bool:
    return node >= 0 and (mask >> node) & 1 == 1


def _setbit(mask: int, node: int, on: bool) -> int:
    if node < 0:
        return mask
    return mask | (1 << node) if on else mask & ~(1 << node)


def _broken(checks: Sequence[tuple[bool, tuple[str, str]]]) -> Problems:
    """The (invariant, explanation) of every failed check: the slow path, for the rare
    transition that breaks one."""
    return tuple(problem for ok, problem in checks if not ok)


def _walk(roots: Sequence[Term]) -> tuple[list[Term], dict[int, int]]:
    """Terms in dependency order (children first) and how many parents use each."""
    order: list[Term] = []
    uses: dict[int, int] = {}
    seen: set[int] = set()
    stack: list[tuple[Term, bool]] = [(r, False) for r in reversed(roots)]
    for r in roots:
        uses[id(r)] = uses.get(id(r), 0) + 1
    while stack:
        term, done = stack.pop()
        if done:
            order.append(term)
            continue
        if id(term) in seen:
            continue
        seen.add(id(term))
        stack.append((term, True))
        for child in term.args:
            if isinstance(child, Term):
                uses[id(child)] = uses.get(id(child), 0) + 1
                if id(child) not in seen:
                    stack.append((child, False))
    return order, uses


LAZY_COST = 12
"""Shared subterms costing more operations than this are computed on demand."""


class _Lazy:
    """The shared subterms of a step function computed on demand, and the cost order of
    tests."""

    def __init__(self, em: _Emitter) -> None:
        self.em = em
        self.terms: dict[int, Term] = {}
        """Lazy hoisted subterms, by id."""
        self._costs: dict[int, int] = {}

    def cheap(self, t: Term) -> bool:
        """Computed up front: a small expression over variables, constants and other
        up-front locals (``LAZY_COST`` operations or fewer). Only the costly shared parts
        are worth a test of whether they were computed yet, and each such test is code."""
        return self.cost(t) <= LAZY_COST

    def cost(self, t: Term) -> int:
        """Roughly how much evaluating ``t`` costs, lazy locals it needs included."""
        found = self._costs.get(id(t))
        if found is None:
            found = 1 + sum(self._child_cost(x) for x in t.args if isinstance(x, Term))
            self._costs[id(t)] = found
        return found

    def _child_cost(self, x: Term) -> int:
        if id(x) in self.em.hoisted and id(x) not in self.terms:
            return 0  # computed up front
        return self.cost(x)

    def ensure(self, roots: Sequence[Term], indent: str, ready: set[int]) -> list[str]:
        """Lines computing the lazy locals ``roots`` need (dependencies first), skipping
        those already computed on this path (``ready``, updated)."""
        lines: list[str] = []

        def visit(t: Term) -> None:
            for x in t.args:
                if not isinstance(x, Term) or x.op in ("const", "var"):
                    continue
                if id(x) in self.terms:
                    if id(x) in ready:
                        continue
                    visit(x)
                    ready.add(id(x))
                    local = self.em.hoisted[id(x)]
                    lines.append(f"{indent}if {local} is None:")
                    lines.append(f"{indent}    {local} = {self.em.raw(x)}")
                elif id(x) not in self.em.hoisted:
                    visit(x)

        for root in roots:
            if id(root) in self.terms and id(root) not in ready:
                visit(root)
                ready.add(id(root))
                local = self.em.hoisted[id(root)]
                lines += [f"{indent}if {local} is None:",
                          f"{indent}    {local} = {self.em.raw(root)}"]
            else:
                visit(root)
        return lines


class GroupCompiler:
    def __init__(self, topo: GroupTopology, layout: Layout, n_nodes: int,
                 env_kinds: Sequence[ActionKind],
                 node_kinds: Sequence[ActionKind] = tuple(GROUP_EFFECTS)) -> None:
        self.topo, self.layout, self.n_nodes = topo, layout, n_nodes
        self.env_kinds = tuple(env_kinds)
        self.node_kinds = tuple(node_kinds)
        """The node events the model explores: only their effects are compiled (building
        the terms is most of the compile time, and a config that assumes no partition never
        needs a partition's effect)."""
        self.a = TermAlgebra()
        a = self.a
        self.nodes = NodeVars(*(a.var(f, "i") for f in _NODE_FIELDS))
        self.group = GroupVars(
            owner=a.var("owner", "i"), target=a.var("target", "i"),
            vip=a.var("vip", "i"), app=a.var("app", "i"), mon=a.var("mon", "i"),
            wd=a.var("wd", "i"), ban=a.var("ban", "i"), restarts=a.var("restarts", "i"),
            **{f: a.var(f, BOOL) for f in FLAG_FIELDS})
        # an avoided group's variables come in its masked part (Model.avoid_key), whose
        # fields sit where they sit in a group part
        self.avoided = {h: avoided_terms(a, f"av{i}_")
                        for i, h in enumerate(topo.avoid)}
        self.namespace: dict[str, Any] = {"_bit": _bit, "_setbit": _setbit, "_broken": _broken}
        self._problem_names: dict[tuple[str, str], str] = {}
        self.sources: list[str] = []

    def view(self, nodes: NodeVars | None = None) -> View:
        return View(self.a, self.topo, nodes or self.nodes, self.group, self.avoided,
                    self.n_nodes)

    # -- fields ------------------------------------------------------------------------

    def _field(self, name: str) -> tuple[int, int]:
        """(offset, width) of a group field inside a packed group part."""
        L = self.layout
        if name in _MASK_FIELDS:
            return _MASK_FIELDS.index(name) * L.n_nodes, L.n_nodes
        if name == "owner":
            return L.off_owner, L.ref_bits
        if name == "target":
            return L.off_target, L.ref_bits
        if name == "restarts":
            return L.off_restarts, L.restart_bits
        return L.off_flags + _FLAG_FIELDS.index(name), 1

    def _unpack_lines(self, used: set[str], with_nodes: bool) -> list[str]:
        lines = []
        m = (1 << self.n_nodes) - 1
        for i, f in enumerate(_NODE_FIELDS):
            if with_nodes and f in used:
                lines.append(f"    {f} = (nodes_part >> {i * self.n_nodes}) & {m}")
        for f in GroupVars._fields:
            if f in used:
                off, width = self._field(f)
                if f in _FLAG_FIELDS:
                    lines.append(f"    {f} = part & {1 << off} != 0")
                else:
                    lines.append(f"    {f} = (part >> {off}) & {(1 << width) - 1}")
        for i in range(len(self.avoided)):
            for f in AvoidedVars._fields:
                if f"av{i}_{f}" in used:
                    off, width = self._field(f)
                    if f in _FLAG_FIELDS:
                        lines.append(f"    av{i}_{f} = av[{i}] & {1 << off} != 0")
                    else:
                        lines.append(f"    av{i}_{f} = (av[{i}] >> {off}) & {(1 << width) - 1}")
        return lines

    def _changed(self, after: GroupVars) -> list[Term]:
        """The new values of the fields a step changes (the others stay in the packed
        part as they are, so their variables need not even be unpacked)."""
        return [getattr(after, f) for f in GroupVars._fields
                if getattr(after, f) is not getattr(self.group, f)]

    def _pack(self, em: _Emitter, after: GroupVars) -> str:
        """Source of the packed group part after the step (only changed fields move)."""
        expr = "part"
        full = self.layout.group_mask
        for name in GroupVars._fields:
            new: Term = getattr(after, name)
            old: Term = getattr(self.group, name)
            if new is old:
                continue
            off, width = self._field(name)
            if name in _FLAG_FIELDS:
                if new.is_const:
                    expr = (f"({expr} | {1 << off})" if new.value
                            else f"({expr} & {full & ~(1 << off)})")
                else:
                    keep = full & ~(1 << off)
                    expr = f"(({expr} & {keep}) | ({1 << off} if {em.expr(new)} else 0))"
                continue
            chain = self._setbit_chain(new, old)
            if chain is not None:
                for i, on in chain:
                    bit = 1 << (off + i)
                    expr = f"({expr} | {bit})" if on else f"({expr} & {full & ~bit})"
                continue
            clear = full & ~(((1 << width) - 1) << off)
            expr = f"(({expr} & {clear}) | ({em.expr(new)} << {off}))"
        return expr

    @staticmethod
    def _setbit_chain(new: Term, old: Term) -> list[tuple[int, bool]] | None:
        """If ``new`` is ``old`` with constant bits set/cleared, those bits in order."""
        chain: list[tuple[int, bool]] = []
        t = new
        while t is not old:
            if t.op != "setbit" or not t.args[2].is_const:
                return None
            chain.append((t.args[1], bool(t.args[2].value)))
            t = t.args[0]
        chain.reverse()
        return chain

    # -- generation --------------------------------------------------------------------

    def _function(self, name: str, params: str, roots: Sequence[Term],
                  body: Callable[[_Emitter], list[str]], with_nodes: bool) -> str:
        order, uses = _walk(roots)
        used = {t.args[0] for t in order if t.op == "var"}
        hoisted: dict[int, str] = {}
        lines = [f"def {name}({params}):", *self._unpack_lines(used, with_nodes)]
        em = _Emitter(self.layout, hoisted)
        for t in order:
            if t.op in ("const", "var") or uses.get(id(t), 0) < 2:
                continue
            local = f"_t{len(hoisted)}"
            lines.append(f"    {local} = {em.raw(t)}")
            hoisted[id(t)] = local
        lines += body(em)
        return "\n".join(lines) + "\n"

    def _lazy_function(self, name: str, params: str, roots: Sequence[Term],
                       body: Callable[[_Emitter, _Lazy], list[str]]) -> str:
        """Like :meth:`_function`, but a shared subterm that is not cheap is computed where
        it is first needed (the locals start as ``None``): a step function evaluates many
        guards, and most fail on a cheap test before their costly parts matter."""
        order, uses = _walk(roots)
        used = {t.args[0] for t in order if t.op == "var"}
        hoisted: dict[int, str] = {}
        lines = [f"def {name}({params}):", *self._unpack_lines(used, True)]
        em = _Emitter(self.layout, hoisted)
        lazy = _Lazy(em)
        for t in order:
            if t.op in ("const", "var") or uses.get(id(t), 0) < 2:
                continue
            local = f"_t{len(hoisted)}"
            if lazy.cheap(t):
                lines.append(f"    {local} = {em.raw(t)}")
            else:
                lines.append(f"    {local} = None")
                lazy.terms[id(t)] = t
            hoisted[id(t)] = local
        lines += body(em, lazy)
        return "\n".join(lines) + "\n"

    def _steps_source(self, name: str, kinds: Sequence[ActionKind]) -> str:
        view = self.view()
        instances = []
        for kind in kinds:
            info = KINDS[kind]
            assert info.rule is not None
            for n in range(self.n_nodes) if info.uses_node else (-1,):
                guard, after = info.rule(view, n)
                if guard is self.a.false:
                    continue
                action = Action(kind, self.topo.index, n)
                w = after_view(view, after)
                checks = [(s.name, s.message, s.check(view, action, w))
                          for s in STEP_INVARIANTS]
                checks = [(nm, msg, ok) for nm, msg, ok in checks if ok is not self.a.true]
                instances.append((action, guard, after, checks))
        roots: list[Term] = []
        for _, guard, after, checks in instances:
            roots.append(guard)
            roots += self._changed(after)
            roots += [ok for _, _, ok in checks]

        def body(em: _Emitter, lazy: _Lazy) -> list[str]:
            out = ["    out = []"]
            for i, (action, guard, after, checks) in enumerate(instances):
                const = f"_A_{name}_{i}"
                self.namespace[const] = action
                # the guard as nested tests, cheapest first (a conjunction has no side
                # effects, so its order is free): what only a later test needs is
                # computed only when the earlier ones passed
                conjuncts = list(guard.args) if guard.op == "and" else [guard]
                conjuncts.sort(key=lazy.cost)
                indent, ready = "    ", set[int]()
                for c in conjuncts:
                    out += lazy.ensure([c], indent, ready)
                    out.append(f"{indent}if {em.expr(c)}:")
                    indent += "    "
                out += lazy.ensure([*self._changed(after), *(ok for _, _, ok in checks)],
                                   indent, ready)
                out.append(f"{indent}out.append(({const}, {self._pack(em, after)}, "
                           f"{self._problems(em, checks)}))")
            out.append("    return tuple(out)")
            return out

        return self._lazy_function(name, "nodes_part, part, av", roots, body)

    def _effect_source(self, name: str, kind: ActionKind, n: int,
                       effect: Callable[[View, int], GroupVars]) -> str:
        view = View(self.a, self.topo, self.nodes, self.group, NO_AVOIDED, self.n_nodes)
        after = effect(view, n)
        action = Action(kind, -1, n)
        w = after_view(view, after, NODE_UPDATES[kind](self.a, self.nodes, n))
        checks = [(s.name, s.message, s.check(view, action, w)) for s in STEP_INVARIANTS]
        checks = [(nm, msg, ok) for nm, msg, ok in checks if ok is not self.a.true]
        roots = [*self._changed(after), *(ok for _, _, ok in checks)]

        def body(em: _Emitter) -> list[str]:
            return [f"    return ({self._pack(em, after)}, {self._problems(em, checks)})"]

        return self._function(name, "nodes_part, part", roots, body, with_nodes=True)

    def _problems(self, em: _Emitter, checks: Sequence[tuple[str, str, Term]]) -> str:
        """Source of the step checks a transition breaks: ``()`` at the cost of one
        short-circuit test when all hold (nearly always), the named problems otherwise."""
        if not checks:
            return "()"
        constants = []
        for nm, msg, _ in checks:
            key = (nm, msg)
            const = self._problem_names.get(key)
            if const is None:
                const = self._problem_names[key] = f"_P{len(self._problem_names)}"
                self.namespace[const] = key
            constants.append(const)
        oks = [em.expr(ok) for _, _, ok in checks]
        pairs = ", ".join(f"({ok}, {c})" for ok, c in zip(oks, constants, strict=True))
        return f"(() if ({' and '.join(oks)}) else _broken(({pairs},)))"

    def _predicate_source(self, name: str, params: str, named: Sequence[tuple[str, Term]],
                          with_nodes: bool) -> str:
        def body(em: _Emitter) -> list[str]:
            out = ["    bad = []"]
            for label, term in named:
                out.append(f"    if not {em.expr(term)}:")
                out.append(f"        bad.append({label!r})")
            out.append("    return tuple(bad)")
            return out

        return self._function(name, params, [t for _, t in named], body, with_nodes)

    def compile(self) -> CompiledGroup:
        from crg.spec.rules import events  # local: events imports derived, which is fine

        g = self.topo.index
        sources = [
            self._steps_source(f"system_{g}", [k for k, i in KINDS.items()
                                               if i.system and i.scope == "group"]),
            self._steps_source(f"environment_{g}", self.env_kinds),
        ]
        effects = {kind: GROUP_EFFECTS[kind] for kind in self.node_kinds}
        for kind, effect in effects.items():
            for n in range(self.n_nodes):
                sources.append(self._effect_source(f"effect_{g}_{kind.value}_{n}", kind, n,
                                                   effect))
        zero = NodeVars(*(self.a.const(0) for _ in _NODE_FIELDS))
        for n in range(self.n_nodes if ActionKind.EXPIRE in effects else 0):
            ready = events.expire_ready(self.view(zero), n)
            sources.append(self._predicate_source(f"ready_{g}_{n}", "part", [("ready", ready)],
                                                  with_nodes=False))
        view = self.view()
        always = [(inv.name, inv.predicate(view)) for inv in STATE_INVARIANTS
                  if inv.sort == "always"]
        settled = [(inv.name, inv.predicate(view)) for inv in STATE_INVARIANTS]
        sources.append(self._predicate_source(f"always_{g}", "nodes_part, part, av", always,
                                              with_nodes=True))
        sources.append(self._predicate_source(f"settled_{g}", "nodes_part, part, av", settled,
                                              with_nodes=True))
        source = "\n".join(sources)
        code = compile(source, f"<crg.spec compiled group {self.topo.name}>", "exec")
        exec(code, self.namespace)
        ns = self.namespace
        return CompiledGroup(
            system_steps=ns[f"system_{g}"],
            environment_steps=ns[f"environment_{g}"],
            node_effects={(kind, n): ns[f"effect_{g}_{kind.value}_{n}"]
                          for kind in effects for n in range(self.n_nodes)},
            expire_ready={n: (lambda f: lambda part: bool(not f(part)))(ns[f"ready_{g}_{n}"])
                          for n in range(self.n_nodes) if f"ready_{g}_{n}" in ns},
            always=ns[f"always_{g}"],
            settled=ns[f"settled_{g}"],
            source=source,
        )
