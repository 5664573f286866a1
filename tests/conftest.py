"""Fixtures for every test folder: the command line run in-process."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from cli_run import Run

from crg import cli


@pytest.fixture
def crg(capsys: pytest.CaptureFixture[str]) -> Callable[..., Run]:
    """``crg("check", "x.crg")`` runs ``main`` and returns its exit code and output."""

    def run(*argv: str) -> Run:
        code = cli.main(list(argv))
        captured = capsys.readouterr()
        return Run(code, captured.out, captured.err)

    return run
