"""Explanations for values that are almost right, where lark can only say "unexpected".

A duration written ``1.5s`` or ``1d`` lexes as an address, a zone id as in
``fe80::1%eth0`` is an unexpected ``%``, and ``wéb`` an unexpected ``é``: each is a
common slip with a precise fix, which the parser offers instead of the list of tokens it
expected.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal

from crg.dsl.export import duration_text


@dataclass(frozen=True, slots=True)
class Slip:
    message: str
    hint: str
    start: int
    """Offset into the source text where the slip starts."""
    length: int


_UNIT_MS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000}
# Units people write that the language spells differently (or lacks).
_UNIT_ALIASES = {
    **dict.fromkeys(("msec", "msecs", "millis", "millisecond", "milliseconds"), "ms"),
    **dict.fromkeys(("sec", "secs", "second", "seconds"), "s"),
    **dict.fromkeys(("min", "mins", "minute", "minutes"), "m"),
    **dict.fromkeys(("hr", "hrs", "hour", "hours"), "h"),
}
_DAY = ("d", "day", "days")
_DURATION_LIKE = re.compile(r"-?[0-9][0-9A-Za-z_.]*")
_DECIMAL = re.compile(r"([0-9]+(?:\.[0-9]+)?)([A-Za-z]*)")
_RULE = "durations are whole numbers with a unit (ms, s, m or h)"


def duration(text: str, start: int) -> Slip | None:
    """A word that was meant as a duration, at ``start``, if it is not one."""
    match = _DURATION_LIKE.match(text, start)
    if match is None:
        return None
    word = match.group()
    if word.isdigit():  # the common case gets the shortest message
        # "10 m": the unit is there, a space away from its number
        after = re.match(r"[ \t]+([A-Za-z]+)\b", text[match.end():])
        unit = after.group(1).lower() if after else ""
        unit = _UNIT_ALIASES.get(unit, unit)
        if unit in _UNIT_MS:
            return Slip(f"unexpected number '{word}'",
                        f"write the unit right after the number, without a space: "
                        f"{word}{unit}", start, len(word))
        return Slip(f"unexpected number '{word}'",
                    f"a duration needs its unit (ms, s, m or h), as in {word}ms or {word}s",
                    start, len(word))
    return Slip(f"'{word}' is not a duration", _duration_fix(word), start, len(word))


def count(text: str, start: int) -> Slip | None:
    """A word that was meant as a count, at ``start``; or, when ``start`` is at the
    ``.5`` of ``restarts 1.5`` (the ``1`` was a valid count), the whole number."""
    begin = start
    if text.startswith(".", start):
        while begin > 0 and text[begin - 1].isdigit():
            begin -= 1
        if begin == start:
            return None
    match = _DURATION_LIKE.match(text, begin)
    if match is None or match.group().lstrip("-").isdigit():
        return None
    word = match.group()
    return Slip(f"'{word}' is not a whole number", "counts are whole numbers, such as 3",
                begin, len(word))


def _duration_fix(word: str) -> str:
    parts = _DECIMAL.fullmatch(word.lstrip("-"))
    if parts is None:  # 1h30: a number without its unit after a part with one
        return f"{_RULE}; every number needs its own unit, as in 1h30m"
    number, unit = Decimal(parts.group(1)), parts.group(2).lower()
    if unit in _DAY:
        if number > 1:
            return f"{_RULE}; there is no unit for days, and the longest duration is 24h"
        number, unit = number * 24, "h"
    unit = _UNIT_ALIASES.get(unit, unit)
    if unit not in _UNIT_MS:
        return f"{_RULE}, such as 500ms, 2s or 1m30s"
    ms = number * _UNIT_MS[unit]
    if ms != ms.to_integral_value() or ms <= 0:
        return f"{_RULE}; the shortest is 1ms"
    exact = int(ms)
    spelled = f"{exact}ms" if exact % 1000 else duration_text(exact)
    return f"{_RULE}: write {spelled}"


_ZONE = re.compile(r"%([A-Za-z0-9_.-]*)(/[0-9]+)?")
_ADDRESS_CHARS = "0123456789abcdefABCDEF:."


def zone_id(text: str, start: int) -> Slip | None:
    """``fe80::1%eth0/64``: an IPv6 zone id in a VIP (``start`` points at the ``%``)."""
    match = _ZONE.match(text, start)
    begin = start
    while begin > 0 and text[begin - 1] in _ADDRESS_CHARS:
        begin -= 1
    if match is None or begin == start or ":" not in text[begin:start]:
        return None
    zone, prefix = match.group(1), match.group(2) or "/64"
    fix = f"vip {text[begin:start]}{prefix}" + (f" dev {zone}" if zone else " dev IFACE")
    return Slip(f"a VIP cannot have a zone id ('%{zone}')",
                f"give the interface with dev: {fix}", start, 1 + len(zone))


_NAME_RULE = ("names are ASCII letters, digits, '_', '.' and '-', and start with a letter "
              "or '_'")
_NAME_CHARS = re.compile(r"[A-Za-z0-9_.-]")
# Characters people put inside names elsewhere (host names, paths, accounts); a ';' or a
# bracket after a name is punctuation from another language instead.
_GLUED = "@:/+~!$&*?^|"


def name_character(text: str, start: int) -> Slip | None:
    """A character that names cannot hold: a non-ASCII letter or digit anywhere (outside
    strings and comments nothing else could be meant), or any other character glued to
    the end of a name (``n1@host``)."""
    char = text[start]
    letter_like = not char.isascii() and unicodedata.category(char)[0] in "LMN"
    begin = start
    while begin > 0 and _NAME_CHARS.match(text[begin - 1]):
        begin -= 1
    after_name = begin < start and (text[begin].isalpha() or text[begin] == "_")
    if not (letter_like or (after_name and char in _GLUED)):
        return None
    return Slip(f"'{char}' cannot be used in a name", _NAME_RULE, start, 1)


# Words of other cluster managers (Pacemaker, keepalived) for what crg writes otherwise:
# an operator who knows those writes them first, and "unexpected 'interval'" with a list
# of every keyword does not say that `every` is the word.
_ELSEWHERE: dict[str, tuple[tuple[str, str], ...]] = {
    # the first whose keyword may come where the word stands; an example, or (after "!")
    # the whole hint
    "interval": (("every", "monitor http \"...\" every 10s"),
                 ("monitor", "!an interval is a monitor's in crg, written 'every': "
                             "monitor process every 10s")),
    "migration-threshold": (("restarts", "restarts 3 within 10m"),),
    "failure-timeout": (("restarts", "restarts 3 within 10m"),),
    "stickiness": (("failback", "failback manual"),),
    "resource-stickiness": (("failback", "failback manual"),),
    "colocation": (("avoid", "avoid other-group"),),
    "anti-affinity": (("avoid", "avoid other-group"),),
    "priority": (("preferred", "preferred n1 then possible n2, n3, in order"),),
    "prefers": (("preferred", "preferred n1"),),
    "ip": (("vip", "vip 10.0.0.5/24"),),
    "virtual_ipaddress": (("vip", "vip 10.0.0.5/24"),),
    "track_script": (("monitor", "monitor exec \"/usr/local/bin/check\""),),
    "nopreempt": (("failback", "failback manual"),),
}


def other_tools_word(word: str, expected: set[str]) -> tuple[str, str] | None:
    """For a keyword of another cluster manager where one of ``expected`` (keywords)
    says it in crg: the message and the hint."""
    for keyword, example in _ELSEWHERE.get(word.lower(), ()):
        if keyword in expected:
            return (f"unknown statement '{word}'", example[1:] if example.startswith("!")
                    else f"crg writes it '{keyword}', as in: {example}")
    return None
