"""Fixtures of the runtime tests: whatever a test's outcome, nothing its runtimes started
is left running afterwards (a test that fails half-way may not reach its own teardown
of ``crg run``, and a runtime killed with SIGKILL leaves its applications behind)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from runtime_helpers import reap


@pytest.fixture(autouse=True)
def _nothing_left_running() -> Iterator[None]:
    yield
    reap()
