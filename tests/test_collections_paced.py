"""The import's paced garbage collection leaves the interpreter as it found it."""

from __future__ import annotations

import gc

import pytest

from crg.collections_paced import PACED, paced_collections


def test_the_thresholds_are_paced_inside_and_restored_after() -> None:
    before = gc.get_threshold()
    with paced_collections():
        assert gc.get_threshold() == PACED
        assert gc.isenabled(), "paced, not switched off: cycles are still collected"
    assert gc.get_threshold() == before


def test_the_thresholds_are_restored_when_the_block_fails() -> None:
    before = gc.get_threshold()
    with pytest.raises(ValueError), paced_collections():
        raise ValueError("an import that fails half-way")
    assert gc.get_threshold() == before
