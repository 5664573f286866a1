"""Pacemaker's durations (``10s``, ``1500ms``, ``5min``, ``PT1M``) in milliseconds."""

from __future__ import annotations

import re

from crg.dsl.export import duration_text

__all__ = ["duration_ms", "duration_text"]

_UNITS_MS = {"": 1000, "s": 1000, "sec": 1000, "ms": 1, "msec": 1, "us": 0.001,
             "usec": 0.001, "m": 60_000, "min": 60_000, "h": 3_600_000, "hr": 3_600_000}
_PLAIN = re.compile(r"\s*(\d+)\s*([a-z]*)\s*")
_ISO = re.compile(r"P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?")


class DurationError(ValueError):
    pass


def duration_ms(text: str) -> int:
    """Milliseconds of a Pacemaker duration; a bare number counts seconds, as in Pacemaker.
    Raises DurationError for anything else."""
    plain = _PLAIN.fullmatch(text.lower())
    if plain and plain.group(2) in _UNITS_MS:
        return int(int(plain.group(1)) * _UNITS_MS[plain.group(2)])
    iso = _ISO.fullmatch(text.strip().upper())
    if iso and any(iso.groups()):
        days, hours, minutes, seconds = (int(g or 0) for g in iso.groups())
        return ((days * 24 + hours) * 60 + minutes) * 60_000 + seconds * 1000
    raise DurationError(f"'{text}' is not a duration Pacemaker reads (such as 10s, 500ms, 5min)")
