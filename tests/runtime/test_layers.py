"""The runtime, the spec and the checker are lower layers than the command line (DESIGN.md): none of
their modules imports ``crg.cli``, ``crg.commands``, ``crg.output``,
``crg.errors``, ``crg.files`` or ``crg.start``; the control client, which reports through
them, lives in ``crg/commands/_client.py``, the simulation service in
``crg.spec.present.simulation``. The checker too (issue 12): its text report prints
through a Printer protocol, its ITF writer raises its own error."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ABOVE = ("crg.cli", "crg.commands", "crg.output", "crg.errors", "crg.files", "crg.start")


def imported(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


@pytest.mark.parametrize("layer", ["runtime", "spec", "checker"])
def test_a_lower_layer_imports_nothing_of_the_command_line(layer: str) -> None:
    offenders = {str(path.relative_to(ROOT)): sorted(
        name for name in imported(path) if name.startswith(ABOVE))
        for path in (ROOT / layer).rglob("*.py")}
    assert {k: v for k, v in offenders.items() if v} == {}
    assert len(offenders) > 10, f"the modules of {layer}/ were found"
