"""Fixtures for the language tests: run the command line in-process."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest

from crg.cli import main


@dataclass(frozen=True)
class Run:
    code: int
    out: str
    err: str


@pytest.fixture
def crg(capsys: pytest.CaptureFixture[str]) -> Callable[..., Run]:
    """``crg("check", "x.crg")`` runs ``main`` and returns its exit code and output."""

    def run(*argv: str) -> Run:
        code = main(list(argv))
        captured = capsys.readouterr()
        return Run(code, captured.out, captured.err)

    return run
