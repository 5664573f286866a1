"""Plausible slips, generated from the rules' own source.

Each rule of ``crg.spec.rules`` is a Python function written in the algebra: a guard
built with ``a.and_``/``a.or_``, an effect built with ``g._replace(...)``, the placement
a list of options. A slip a person could make is a small edit of that text: a conjunct
dropped or negated, an effect forgotten or one too many, a constant or a bit flipped, an
off-by-one, a branch on the configuration taken the wrong way, an option dropped or
moved. They are generated here from the syntax tree of every function of the rule
modules, so a new rule gets its mutants without anyone writing them, and a mutant's
identity is the text of the edit (it does not change when unrelated code moves).
"""

from __future__ import annotations

import ast
import hashlib
import importlib
import inspect
import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from types import FunctionType, ModuleType
from typing import Any

from crg.spec.vocabulary.variables import FLAG_FIELDS, MASK_FIELDS, GroupVars, NodeVars

RULE_MODULES = ("view", "placement", "roles", "run", "halt", "care", "events")
"""The modules of ``crg.spec.rules`` whose functions are mutated (``registry`` only ties
kinds to rules, and the invariants are the oracle: never mutated)."""

STATIC_RULES: dict[str, tuple[str, ...]] = {
    "topology": ("placement_order", "choice", "avoided_group")}
"""Rules applied once per configuration, in ``crg.spec.vocabulary``: the order in which
groups linked by ``avoid`` take their nodes (``placed_first``, which ``may_claim`` reads).
Plain Python rather than the algebra, so their slips are Python's (:func:`_plain_edits`)."""

STATIC_PACKAGE = "crg.spec.vocabulary"

SKIPPED = frozenset({"_cached", "cached", "owner_node", "is_system"})
"""Functions whose slips are not slips of the semantics: the cache of derived values, and
where an event is attributed in traces."""


@dataclass(frozen=True, slots=True)
class Mutant:
    module: str
    """The rule module (``placement``, ``run``...)."""
    function: str
    operator: str
    """Which kind of slip (see :data:`OPERATORS`)."""
    description: str
    """The edit, in words and code: ``drop `up(v, n)` from a.and_(...) at line 3``."""
    source: str
    """The function's source after the edit."""

    @property
    def ident(self) -> str:
        """A stable name: where, which slip, and a digest of the edited text (a change of
        the rule changes its mutants' names, so a catalogue cannot go stale in silence)."""
        digest = hashlib.sha256(self.source.encode()).hexdigest()[:8]
        return f"{self.module}.{self.function}:{self.operator}:{digest}"


def _call_name(node: ast.AST) -> str | None:
    """``and_`` for ``a.and_(...)``, ``_replace`` for ``g._replace(...)``."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        return node.func.attr
    return None


def _text(node: ast.AST) -> str:
    return ast.unparse(node)


def _not(node: ast.expr) -> ast.expr:
    if _call_name(node) == "not_" and isinstance(node, ast.Call):
        return node.args[0]
    return ast.Call(func=ast.Attribute(value=ast.Name("a", ast.Load()), attr="not_",
                                       ctx=ast.Load()), args=[node], keywords=[])


Change = Callable[[Any], None]
"""Applies an edit to the matching node of a fresh tree (typed loosely: ``ast`` nodes
differ in their fields)."""
Edit = tuple[str, str, Change]
"""(operator, description, change)."""


def _pop_arg(i: int) -> Change:
    def change(node: Any) -> None:
        node.args.pop(i)
    return change


def _map_arg(i: int, how: Callable[[ast.expr], ast.expr]) -> Change:
    def change(node: Any) -> None:
        node.args[i] = how(node.args[i])
    return change


def _pop_keyword(i: int) -> Change:
    def change(node: Any) -> None:
        node.keywords.pop(i)
    return change


def _swap_args(i: int, j: int) -> Change:
    def change(node: Any) -> None:
        node.args[i], node.args[j] = node.args[j], node.args[i]
    return change


def _set(field: str, value: Any) -> Change:
    def change(node: Any) -> None:
        setattr(node, field, value)
    return change


def _pop_statement(i: int) -> Change:
    def change(node: Any) -> None:
        node.body.pop(i)
        if not node.body:
            node.body.append(ast.Pass())
    return change


def _swap_statements(i: int, j: int) -> Change:
    def change(node: Any) -> None:
        node.body[i], node.body[j] = node.body[j], node.body[i]
    return change


def _shift(delta: int) -> Callable[[ast.expr], ast.expr]:
    def how(arg: ast.expr) -> ast.expr:
        assert isinstance(arg, ast.Constant) and isinstance(arg.value, int)
        return ast.Constant(arg.value + delta)
    return how


def _edits(node: ast.AST, names: frozenset[str]) -> Iterator[Edit]:
    """The slips one node of a rule's tree allows (``names``: the function's
    parameters)."""
    name = _call_name(node)
    if isinstance(node, ast.Call):
        args = node.args
        if name in ("and_", "or_") and len(args) > 1:
            neutral = "a.false" if name == "or_" else "a.true"
            for i, arg in enumerate(args):
                text = _text(arg)
                if isinstance(arg, ast.Starred) or text.endswith(neutral):
                    continue  # dropping the neutral element changes nothing
                yield f"{name}drop", f"drop `{text}` from a.{name}(...)", _pop_arg(i)
                if name == "and_":
                    yield "negate", f"negate `{text}` in a.and_(...)", _map_arg(i, _not)
        if name == "_replace":
            for i, kw in enumerate(node.keywords):
                yield ("effect", f"forget the effect `{kw.arg}={_text(kw.value)}`",
                       _pop_keyword(i))
            yield from _extra_effects(node, names)
        if name == "ite" and len(args) == 3:
            yield "ite", f"swap the branches of `{_text(node)}`", _swap_args(1, 2)
        if name == "with_bit" and len(args) == 3:
            yield "bit", f"set the other value in `{_text(node)}`", _map_arg(2, _not)
        if name == "lt" and len(args) == 2:
            yield "bound", f"`{_text(node)}` one short", _map_arg(1, lambda e: _add(e, -1))
            yield "bound", f"`{_text(node)}` one over", _map_arg(1, lambda e: _add(e, 1))
        if name in ("add", "const"):
            for i, arg in enumerate(args):
                if (isinstance(arg, ast.Constant) and isinstance(arg.value, int)
                        and not isinstance(arg.value, bool)):
                    for delta in (1, -1):
                        yield ("offbyone", f"`{_text(node)}` with {arg.value + delta}",
                               _map_arg(i, _shift(delta)))
    if (isinstance(node, ast.Attribute) and node.attr in ("true", "false")
            and isinstance(node.value, ast.Name) and node.value.id == "a"):
        other = "false" if node.attr == "true" else "true"
        yield "constant", f"`a.{node.attr}` written `a.{other}`", _set("attr", other)
    if isinstance(node, ast.If) and "topo" in _text(node.test):
        for value in (True, False):
            yield ("branch", f"`if {_text(node.test)}:` taken as {value}",
                   _set("test", ast.Constant(value)))
    if isinstance(node, ast.FunctionDef | ast.If):
        yield from _statement_edits(node)


def _extra_effects(node: ast.Call, names: frozenset[str]) -> Iterator[Edit]:
    """One effect too many: a variable the step does not write, written all the same —
    cleared on the step's node or everywhere, a flag set or cleared, an owner, target or
    count reset (a crash that also undrains, a switchover that also brings the group
    online). The rules only ever forget; the invariants must also see what a step must
    not touch (``frame``)."""
    assert isinstance(node.func, ast.Attribute)
    receiver = _text(node.func.value)
    fields = NodeVars._fields if receiver.endswith("nodes") else GroupVars._fields
    written = {kw.arg for kw in node.keywords}
    for field in fields:
        if field in written:
            continue
        current = f"{receiver}.{field}"
        if field in FLAG_FIELDS:
            values = ["a.false", "a.true"]
        elif field in (*MASK_FIELDS, *NodeVars._fields):
            values = [*([f"a.with_bit({current}, n, a.false)"] if "n" in names else []),
                      "a.const(0)"]
        else:
            values = ["a.const(0)"]
        for value in values:
            yield ("extra", f"also write `{field}={value}`", _add_keyword(field, value))


def _add_keyword(field: str, value: str) -> Change:
    def change(node: Any) -> None:
        node.keywords.append(ast.keyword(arg=field, value=ast.parse(value, mode="eval").body))
    return change


def _statement_edits(node: ast.FunctionDef | ast.If) -> Iterator[Edit]:
    """Options of the placement (``options.append``/``options +=``): one dropped, or two
    neighbours swapped."""
    body = node.body
    marks = [i for i, s in enumerate(body) if _is_option(s)]
    for i in marks:
        yield ("option", f"drop the option `{_text(body[i]).splitlines()[0][:70]}`",
               _pop_statement(i))
    for i, j in itertools.pairwise(marks):
        if j == i + 1:
            yield ("order", f"swap the options at statements {i + 1} and {j + 1}",
                   _swap_statements(i, j))


def _is_option(stmt: ast.stmt) -> bool:
    if isinstance(stmt, ast.AugAssign) and isinstance(stmt.target, ast.Name):
        return stmt.target.id == "options"
    if isinstance(stmt, ast.Expr) and _call_name(stmt.value) == "append":
        call = stmt.value
        assert isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute)
        return isinstance(call.func.value, ast.Name) and call.func.value.id == "options"
    return False


def _add(node: ast.expr, delta: int) -> ast.expr:
    return ast.Call(func=ast.Attribute(value=ast.Name("a", ast.Load()), attr="add",
                                       ctx=ast.Load()), args=[node, ast.Constant(delta)],
                    keywords=[])


def _plain_edits(node: ast.AST, names: frozenset[str]) -> Iterator[Edit]:
    """The slips one node of a plain Python rule allows: the other extreme, a sort key's
    part dropped or its parts swapped, a test negated or taken always, a comparison the
    other way, the branches of a conditional swapped, a number off by one, a statement
    done for its effect forgotten."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) \
            and node.func.id in ("min", "max"):
        other = "max" if node.func.id == "min" else "min"
        yield ("extreme", f"`{node.func.id}` written `{other}` in `{_text(node)[:60]}`",
               _call_named(other))
    if isinstance(node, ast.Lambda) and isinstance(node.body, ast.Tuple):  # a sort key
        key = node.body
        for i, part in enumerate(key.elts):
            yield ("key", f"drop `{_text(part)}` from the key `{_text(key)}`",
                   _key_change(i, swap=False))
        for i in range(len(key.elts) - 1):
            yield ("key", f"swap the parts {i + 1} and {i + 2} of the key `{_text(key)}`",
                   _key_change(i, swap=True))
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        yield ("negate", f"`{_text(node)}` without its `not`",
               _map_field("operand", lambda e: ast.UnaryOp(ast.Not(), e)))
    if isinstance(node, ast.BoolOp):
        neutral = isinstance(node.op, ast.And)
        for i, part in enumerate(node.values):
            yield ("booldrop", f"drop `{_text(part)}` from `{_text(node)}`",
                   _map_item("values", i, lambda _: ast.Constant(neutral)))
    if isinstance(node, ast.Compare) and len(node.ops) == 1 \
            and type(node.ops[0]) in _OTHER_WAY:
        flipped = _OTHER_WAY[type(node.ops[0])]
        yield ("compare", f"`{_text(node)}` the other way",
               _map_item("ops", 0, lambda _: flipped()))
    if isinstance(node, ast.IfExp):
        yield ("ite", f"swap the branches of `{_text(node)}`",
               _swap_fields("body", "orelse"))
    if isinstance(node, ast.If):
        for value in (True, False):
            yield ("branch", f"`if {_text(node.test)}:` taken as {value}",
                   _set("test", ast.Constant(value)))
    if isinstance(node, ast.Constant) and isinstance(node.value, int) \
            and not isinstance(node.value, bool):
        for delta in (1, -1):
            yield ("offbyone", f"`{node.value}` written {node.value + delta}",
                   _set("value", node.value + delta))
    if isinstance(node, ast.For | ast.While | ast.If | ast.FunctionDef):
        for i, stmt in enumerate(node.body):
            if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call):
                yield ("effect", f"forget `{_text(stmt)}`", _pop_statement(i))


def _call_named(name: str) -> Change:
    def change(node: Any) -> None:
        node.func.id = name
    return change


def _key_change(i: int, swap: bool) -> Change:
    """Drop part ``i`` of a lambda's tuple, or swap it with the next."""
    def change(node: Any) -> None:
        part = node.body.elts.pop(i)
        if swap:
            node.body.elts.insert(i + 1, part)
    return change


def _map_field(field: str, how: Callable[[Any], Any]) -> Change:
    def change(node: Any) -> None:
        setattr(node, field, how(getattr(node, field)))
    return change


def _map_item(field: str, i: int, how: Callable[[Any], Any]) -> Change:
    def change(node: Any) -> None:
        items = getattr(node, field)
        items[i] = how(items[i])
    return change


def _swap_fields(one: str, other: str) -> Change:
    def change(node: Any) -> None:
        first = getattr(node, one)
        setattr(node, one, getattr(node, other))
        setattr(node, other, first)
    return change


_OTHER_WAY: dict[type[ast.cmpop], type[ast.cmpop]] = {
    ast.Eq: ast.NotEq, ast.NotEq: ast.Eq, ast.Lt: ast.GtE, ast.GtE: ast.Lt, ast.Gt: ast.LtE,
    ast.LtE: ast.Gt, ast.In: ast.NotIn, ast.NotIn: ast.In}


def function_mutants(module: str, function: FunctionType,
                     edits: Callable[[ast.AST, frozenset[str]], Iterator[Edit]] = _edits,
                     ) -> list[Mutant]:
    """Every slip of one function, in the order of its source."""
    source = inspect.getsource(function)
    tree = ast.parse(source)
    nodes = list(ast.walk(tree))
    definition = tree.body[0]
    assert isinstance(definition, ast.FunctionDef)
    names = frozenset(arg.arg for arg in definition.args.args)
    out: list[Mutant] = []
    seen: set[str] = set()
    for index, node in enumerate(nodes):
        for operator, description, change in edits(node, names):
            fresh = ast.parse(source)
            change(list(ast.walk(fresh))[index])
            mutated = ast.unparse(fresh)
            if mutated in seen or mutated == ast.unparse(tree):
                continue
            seen.add(mutated)
            line = getattr(node, "lineno", 1)
            out.append(Mutant(module, function.__name__, operator,
                              f"{description} (line {line} of {function.__name__})",
                              mutated))
    return out


def reachable(entries: list[FunctionType]) -> set[FunctionType]:
    """The functions the rules can call: ``entries`` and, transitively, every function a
    reached function names (its globals, its lambdas' too). A helper no rule reaches (one
    only the invariants or the presentation use) has no slip that could change the model."""
    seen: set[FunctionType] = set()
    todo = list(entries)
    while todo:
        function = todo.pop()
        if function in seen:
            continue
        seen.add(function)
        codes = [function.__code__]
        while codes:
            code = codes.pop()
            codes += [c for c in code.co_consts if hasattr(c, "co_names")]
            for name in code.co_names:
                value = function.__globals__.get(name)
                if isinstance(value, FunctionType):
                    todo.append(value)
    return seen


def mutants(modules: dict[str, ModuleType], entries: list[FunctionType]) -> list[Mutant]:
    """Every slip of every function of the rule modules that the rules reach from
    ``entries`` (the registry's rules and effects, and the node events' guards), then of
    the static rules (:data:`STATIC_RULES`)."""
    live = reachable(entries)
    out: list[Mutant] = []
    for name in RULE_MODULES:
        module = modules[name]
        for attr, value in vars(module).items():
            if (isinstance(value, FunctionType) and value.__module__ == module.__name__
                    and attr not in SKIPPED and value in live):
                out.extend(function_mutants(name, value))
    for name, functions in STATIC_RULES.items():
        module = importlib.import_module(f"{STATIC_PACKAGE}.{name}")
        for function in functions:
            out.extend(function_mutants(name, getattr(module, function), _plain_edits))
    return out
