"""The suite's own promise (tests/conftest.py): under ``pytest -n --dist loadgroup``, as
``.ci/test`` runs it, every system test carries the ``system`` group, so xdist keeps them
on one worker, one after another."""

from __future__ import annotations

import pytest


def test_system_tests_are_grouped_on_one_worker(request: pytest.FixtureRequest) -> None:
    if not getattr(request.config.option, "loadgroup", False):
        pytest.skip("only meaningful under pytest -n --dist loadgroup, as .ci/test runs")
    # xdist groups by the node id's suffix, not by the mark: the suffix is the proof.
    assert request.node.nodeid.endswith("@system"), request.node.nodeid
