"""The runtime is a lower layer than the command line (DESIGN.md): no module of
``crg.runtime`` imports ``crg.cli``, ``crg.commands``, ``crg.output``, ``crg.errors`` or
``crg.files``; the control client, which reports through them, lives in
``crg/commands/_client.py``."""

from __future__ import annotations

import ast
from pathlib import Path

RUNTIME = Path(__file__).resolve().parents[2] / "runtime"
ABOVE = ("crg.cli", "crg.commands", "crg.output", "crg.errors", "crg.files")


def imported(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def test_the_runtime_imports_nothing_of_the_command_line() -> None:
    offenders = {str(path.relative_to(RUNTIME)): sorted(
        name for name in imported(path) if name.startswith(ABOVE))
        for path in RUNTIME.rglob("*.py")}
    assert {k: v for k, v in offenders.items() if v} == {}
    assert len(offenders) > 20, "the runtime's modules were found"
