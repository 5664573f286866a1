"""crg: cooperative resource groups for high-availability applications.

A small language (``crg.dsl``), an executable specification (``crg.spec``), a model
checker (``crg.checker``) and a reference runtime (``crg.runtime``) sharing one semantics.

Importing this package costs nothing (the version is looked up when first asked for):
the ``crg`` command installs its signal handling first thing (:mod:`crg.start`), and
everything that runs before that is a window in which Ctrl-C would print a traceback.
"""

from __future__ import annotations

from typing import Any


def __getattr__(name: str) -> Any:
    if name != "__version__":
        raise AttributeError(f"module 'crg' has no attribute {name!r}")
    from importlib.metadata import PackageNotFoundError, version

    try:
        found = version("crg")
    except PackageNotFoundError:  # running from a source tree that was never installed
        found = "0.0.0+unknown"
    globals()["__version__"] = found
    return found
