"""Every rule function of the spec has its own unit test.

A rule module's public functions are its rules (guards, effects, steps). For each one,
the matching test module must define a test named ``test_<function>`` or
``test_<function>_...``: a new rule without a test fails here, naming it.
"""

from __future__ import annotations

import importlib
import inspect
from types import ModuleType

import pytest

from crg.spec.rules import care as rules_care
from crg.spec.rules import events
from crg.spec.rules import halt as rules_halt
from crg.spec.rules import run as rules_run

TESTED_BY = {
    rules_run: "test_spec_rules_run",
    rules_halt: "test_spec_rules_halt",
    rules_care: "test_spec_rules_care",
    events: "test_spec_events",
}


def rules_of(module: ModuleType) -> list[str]:
    return sorted(name for name, obj in vars(module).items()
                  if inspect.isfunction(obj) and obj.__module__ == module.__name__
                  and not name.startswith("_"))


@pytest.mark.parametrize("module", list(TESTED_BY), ids=lambda m: m.__name__)
def test_every_rule_has_a_unit_test(module: ModuleType) -> None:
    tests = [name for name in vars(importlib.import_module(TESTED_BY[module]))
             if name.startswith("test_")]
    assert rules_of(module), "no rules found: the module layout changed"
    missing = [rule for rule in rules_of(module)
               if not any(t == f"test_{rule}" or t.startswith(f"test_{rule}_") for t in tests)]
    assert not missing, f"rules without a unit test in {TESTED_BY[module]}.py: {missing}"
