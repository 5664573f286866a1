"""crg: cooperative resource groups for high-availability applications.

A small language (``crg.dsl``), an executable specification (``crg.spec``), a model
checker (``crg.checker``) and a reference runtime (``crg.runtime``) sharing one semantics.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("crg")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"
