"""Pacemaker's durations as ``crg import pacemaker`` reads them."""

from __future__ import annotations

import pytest

from crg.bridges.pacemaker_time import DurationError, duration_ms


@pytest.mark.parametrize(("text", "ms"), [
    ("10", 10_000), ("10s", 10_000), ("500ms", 500), ("5min", 300_000),
    ("PT1M", 60_000), ("P1DT2H", 93_600_000), ("PT1H30M", 5_400_000),
    # Pacemaker does not insist on the 'T' before hours and seconds, nor on the order of
    # the elements: its scheduler's own test CIBs write intervals such as P10S.
    ("P10S", 10_000), ("P2H", 7_200_000), ("PT30S1M", 90_000), ("P1W", 604_800_000),
    # Longer than Pacemaker keeps (an unsigned int of milliseconds): clamped, as it does;
    # a number of thousands of digits was a ValueError of Python's, an internal error.
    ("9" * 5000, 2**32 - 1), ("99999999999999999999s", 2**32 - 1), ("P9999999999D", 2**32 - 1),
    ("00000000000000000000000010ms", 10),
], ids=lambda value: value[:24] if isinstance(value, str) else None)
def test_a_duration_pacemaker_reads_is_read(text: str, ms: int) -> None:
    assert duration_ms(text) == ms


@pytest.mark.parametrize(("text", "words"), [
    ("10 parsecs", "not a duration Pacemaker reads"),
    ("P", "not a duration Pacemaker reads"),
    ("PT", "not a duration Pacemaker reads"),
    ("P1M", "months or years"),  # without T, M counts months
    ("P1Y", "months or years"),
])
def test_a_duration_it_cannot_read_is_said_so(text: str, words: str) -> None:
    with pytest.raises(DurationError, match=words):
        duration_ms(text)
