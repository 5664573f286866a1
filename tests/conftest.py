"""Fixtures for every test folder: the command line run in-process, and the ``crg``
logger put back as it was after each test."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator

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


@pytest.fixture(autouse=True)
def _crg_logger_restored() -> Iterator[None]:
    # `crg run` in-process (runtime.launch.setup_logging) gives the "crg" logger its own
    # stderr handler and stops propagation, as the command should; without this, every
    # later test in the session would log to a stale captured stream and caplog, which
    # listens on the root logger, would see nothing of crg.
    logger = logging.getLogger("crg")
    saved = (list(logger.handlers), logger.level, logger.propagate)
    yield
    logger.handlers[:] = saved[0]
    logger.setLevel(saved[1])
    logger.propagate = saved[2]
