"""Fixtures for every test folder: the command line run in-process, and the ``crg``
logger put back as it was after each test."""

from __future__ import annotations

import logging
import signal
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from cli_run import Run

from crg import cli

TESTS = Path(__file__).parent
SYSTEM = {"runtime", "integration", "test_signals.py"}
"""Tests that start processes, sockets, etcd servers and namespaces, and time what they
see: under ``pytest -n`` (``.ci/test``) they run one after another on one worker, while
the checker's, the language's and the bridges' tests, which only compute, share the
other cores. Two runtimes' timing tests side by side would each see a machine twice as
loaded for no gain."""


def pytest_configure(config: pytest.Config) -> None:
    # A suite started in the background by a shell without job control (`.ci/run &` in a
    # script) inherits SIGINT ignored, and so would every crg the tests start: the tests
    # of Ctrl-C would see it ignored and fail for the way the suite was launched. A
    # Python handler is reset to the default in a child at exec, where "ignored" is kept.
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # tryfirst: xdist's worker turns the mark into the ``@system`` suffix of the node id in
    # its own hook of this name, registered after this conftest and so, without tryfirst,
    # called before it: the mark came too late and the system tests were spread over
    # every worker (tests/runtime/test_suite_grouping.py sees that).
    for item in items:
        first = item.path.relative_to(TESTS).parts[0]
        if first in SYSTEM:
            item.add_marker(pytest.mark.xdist_group("system"))


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
    loggers = [logging.getLogger(name) for name in ("crg", "asyncio")]  # logs.py sets both
    saved = [(list(lg.handlers), lg.level, lg.propagate) for lg in loggers]
    yield
    for logger, (handlers, level, propagate) in zip(loggers, saved, strict=True):
        logger.handlers[:] = handlers
        logger.setLevel(level)
        logger.propagate = propagate
