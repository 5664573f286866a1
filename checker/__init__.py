"""The model checker: ``check(config, options) -> Report`` (:mod:`crg.checker.api`).

The explicit-state engine lives in :mod:`crg.checker.explicit`, the symbolic one (z3) in
:mod:`crg.checker.symbolic`; beside them the parts both use: components and shapes,
renaming, results and the reports. Nothing here imports the command line.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from crg.checker.api import CheckError, check
    from crg.checker.options import Engine, Options
    from crg.checker.result import Report, Status, Verdict

_EXPORTS = {"check": "api", "CheckError": "api", "Options": "options", "Engine": "options",
            "Report": "result", "Status": "result", "Verdict": "result"}


def __getattr__(name: str) -> Any:
    # lazily: the command line imports this package before it knows it will check
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(name)
    from importlib import import_module

    return getattr(import_module(f"crg.checker.{module}"), name)


__all__ = ["CheckError", "Engine", "Options", "Report", "Status", "Verdict", "check"]
