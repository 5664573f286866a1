"""Installing a mutant: the model runs mutated rules, the invariants stay the originals.

The rules call each other by module-level names (``placement`` calls ``switching_disabled``,
the halt steps call ``moving``...). The invariants state what must hold in words of their
own (``crg.spec.invariants.words``), as a real edit of a rule's helper leaves them; only
``moving`` is shared, and patching a function in place would change it with the rules.
So a mutant gets a fresh copy of every rule module, executed from source with the one
function replaced, importing each other; the consumers of the rules — the registry's
tables (the model reads its rules through them), the evaluator's and the z3 encoding's
reference to the events — are pointed at the copy for as long as the mutant is
installed, while the invariants keep their own references to the untouched originals.
The copy's derived values are cached under other names than the originals' (a view's
cache is shared), so neither reads what the other computed.
"""

from __future__ import annotations

import contextlib
import importlib
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from types import FunctionType, ModuleType
from typing import Any

from crg.checker.mutation.operators import RULE_MODULES, STATIC_PACKAGE, STATIC_RULES, Mutant

PACKAGE = "crg.spec.rules"


def originals() -> dict[str, ModuleType]:
    return {name: importlib.import_module(f"{PACKAGE}.{name}") for name in RULE_MODULES}


def entry_points() -> list[FunctionType]:
    """What the model calls of the rules: the registry's rules, the node events' effects
    on groups and on the node status, and the node events' guards."""
    from crg.spec.rules import events, registry

    out: list[FunctionType] = [i.rule for i in registry.KINDS.values()  # type: ignore[misc]
                               if i.rule is not None]
    out += list(registry.GROUP_EFFECTS.values()) + list(registry.NODE_UPDATES.values())  # type: ignore[arg-type]
    out += [value for name, value in vars(events).items()
            if isinstance(value, FunctionType) and (name.endswith("_guard")
                                                    or name == "expire_ready")]
    return out


def _fresh_modules(mutant: Mutant | None) -> dict[str, ModuleType]:
    """A private copy of the rule modules, with ``mutant`` applied."""
    saved = {name: sys.modules[f"{PACKAGE}.{name}"] for name in RULE_MODULES}
    fresh: dict[str, ModuleType] = {}
    try:
        for name in RULE_MODULES:  # in dependency order: view first, events last
            original = saved[name]
            module = ModuleType(original.__name__, original.__doc__)
            module.__file__ = original.__file__
            sys.modules[original.__name__] = module  # later modules import the copy
            assert original.__file__ is not None
            source = Path(original.__file__).read_text(encoding="utf-8")
            exec(compile(source, f"<mutant copy of {original.__name__}>", "exec"),
                 module.__dict__)
            if name == "view":
                module.__dict__["_cached"] = _renamed_cache(module.__dict__["_cached"])
            if mutant is not None and mutant.module == name:
                exec(compile(mutant.source, f"<mutant {mutant.ident}>", "exec"),
                     module.__dict__)
            fresh[name] = module
    finally:
        sys.modules.update({f"{PACKAGE}.{n}": m for n, m in saved.items()})
    return fresh


def _renamed_cache(cached: FunctionType) -> FunctionType:
    def mutant_cached(name: str, v: Any, n: Any, compute: Any) -> Any:
        return cached(f"mutant:{name}", v, n, compute)

    return mutant_cached  # type: ignore[return-value]


@contextlib.contextmanager
def installed(mutant: Mutant | None) -> Iterator[None]:
    """Run the model with ``mutant``'s rules (None: a fresh copy of the unmutated ones,
    which must behave exactly like the originals) inside the block."""
    with _static(mutant), _rules(mutant):
        yield


@contextlib.contextmanager
def _static(mutant: Mutant | None) -> Iterator[None]:
    """A slip of a static rule (the placement order) replaces the function in its module
    for as long as the block runs: a topology built inside it (``crg check`` builds its
    own) is built with the slip, and the rules read what it derives (``avoided_groups``).
    The invariants do not: they read the configuration's ``avoid`` links and state the
    order their own way (``crg.spec.invariants.avoided``)."""
    if mutant is None or mutant.module not in STATIC_RULES:
        yield
        return
    module = importlib.import_module(f"{STATIC_PACKAGE}.{mutant.module}")
    original = module.__dict__[mutant.function]
    try:
        exec(compile(mutant.source, f"<mutant {mutant.ident}>", "exec"), module.__dict__)
        yield
    finally:
        module.__dict__[mutant.function] = original


@contextlib.contextmanager
def _rules(mutant: Mutant | None) -> Iterator[None]:
    from crg.checker.symbolic import encoding
    from crg.spec.fast import evaluator
    from crg.spec.rules import registry

    fresh = _fresh_modules(mutant)
    by_original = {}
    for name, module in originals().items():
        for attr, value in vars(module).items():
            if isinstance(value, FunctionType) and value.__module__ == module.__name__:
                by_original[id(value)] = fresh[name].__dict__[attr]
    kinds = dict(registry.KINDS)
    effects, updates = dict(registry.GROUP_EFFECTS), dict(registry.NODE_UPDATES)
    guards = dict(registry.NODE_GUARDS)
    package = sys.modules[PACKAGE]
    saved_events = {m: m.events for m in (evaluator,)}
    saved_package_events = package.events
    try:
        for kind, info in kinds.items():
            if info.rule is not None:
                registry.KINDS[kind] = replace(info, rule=by_original[id(info.rule)])
        for table, saved in ((registry.GROUP_EFFECTS, effects),
                             (registry.NODE_UPDATES, updates),
                             (registry.NODE_GUARDS, guards)):
            for kind, function in saved.items():
                table[kind] = by_original[id(function)]
        for consumer in saved_events:
            consumer.events = fresh["events"]  # type: ignore[attr-defined]
        package.events = fresh["events"]  # type: ignore[attr-defined]
        encoding_events = encoding.__dict__["events"]
        encoding.__dict__["events"] = fresh["events"]
        yield
    finally:
        registry.KINDS.update(kinds)
        registry.GROUP_EFFECTS.update(effects)
        registry.NODE_UPDATES.update(updates)
        registry.NODE_GUARDS.update(guards)
        for consumer, events in saved_events.items():
            consumer.events = events  # type: ignore[attr-defined]
        package.events = saved_package_events  # type: ignore[attr-defined]
        encoding.__dict__["events"] = encoding_events
