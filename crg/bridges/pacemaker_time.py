"""Pacemaker's durations (``10s``, ``1500ms``, ``5min``, ``PT1M``) in milliseconds."""

from __future__ import annotations

import re

from crg.dsl.export import duration_text

__all__ = ["duration_ms", "duration_text"]

_UNITS_MS = {"": 1000, "s": 1000, "sec": 1000, "ms": 1, "msec": 1, "us": 0.001,
             "usec": 0.001, "m": 60_000, "min": 60_000, "h": 3_600_000, "hr": 3_600_000}
_PLAIN = re.compile(r"\s*(\d+)\s*([a-z]*)\s*")
_ISO_ELEMENT = re.compile(r"T|(\d+)([YMWDHS])")
_ISO_MS = {"W": 7 * 86_400_000, "D": 86_400_000, "H": 3_600_000, "S": 1000}


MAX_MS = 2**32 - 1
"""Pacemaker keeps a duration in an unsigned int of milliseconds (about 49.7 days) and
clamps a longer one to it."""


class DurationError(ValueError):
    pass


def duration_ms(text: str) -> int:
    """Milliseconds of a Pacemaker duration; a bare number counts seconds, as in Pacemaker.
    Raises DurationError for anything else."""
    plain = _PLAIN.fullmatch(text.lower())
    if plain and plain.group(2) in _UNITS_MS:
        return _clamped(plain.group(1), _UNITS_MS[plain.group(2)])
    iso = text.strip().upper()
    if iso.startswith("P") and (ms := _iso_ms(iso[1:])) is not None:
        return ms
    raise DurationError(f"'{text}' is not a duration Pacemaker reads (such as 10s, 500ms, 5min)")


def _iso_ms(elements: str) -> int | None:
    """An ISO 8601 duration after its ``P`` as Pacemaker reads it (crm_time_parse_duration):
    in any order, the ``T`` needed only to tell minutes from months (its own test CIBs
    write ``P10S``). None if it is not one; months and years, which have no fixed length,
    are refused by name."""
    total, is_time, at, read = 0, False, 0, False
    while at < len(elements):
        element = _ISO_ELEMENT.match(elements, at)
        if element is None:
            return None
        at = element.end()
        number, unit = element.groups()
        if unit is None:
            is_time = True
        elif unit == "Y" or (unit == "M" and not is_time):
            raise DurationError(f"'P{elements}' counts months or years, which have no fixed "
                                "length; give it in weeks, days, hours, minutes or seconds")
        else:
            total += _clamped(number, 60_000 if unit == "M" else _ISO_MS[unit])
            read = True
    return min(total, MAX_MS) if read else None


def _clamped(digits: str, unit_ms: float) -> int:
    # More digits than any duration below the limit has, in the smallest unit (us): clamp
    # without converting (Python refuses a number of thousands of digits).
    if len(digits.lstrip("0")) > 16:
        return MAX_MS
    return min(int(int(digits) * unit_ms), MAX_MS)
