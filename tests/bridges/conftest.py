"""Shared fixtures of the bridge tests: Pacemaker's command-line tools must be there."""

from __future__ import annotations

import os
import shutil

import pytest
from pacemaker_scheduler import available


def need(tool_present: bool, what: str) -> None:
    """Skip without the tool, with the reason; in CI, where .ci/test installs it, fail."""
    if tool_present:
        return
    message = f"needs {what}; .ci/test installs it"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture
def pacemaker() -> None:
    need(available(), "Debian's pacemaker-cli-utils (crm_simulate, crm_verify)")


@pytest.fixture
def pcs() -> str:
    path = shutil.which("pcs")
    need(path is not None, "Debian's pcs")
    assert path is not None
    return path
