"""What a run of the command line gave, for the tests that call ``crg.cli.main``
in-process (the ``crg`` fixture of ``tests/conftest.py``)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Run:
    code: int
    out: str
    err: str
