"""Placeholders in commands, monitor targets and sinks: ``{vip}``, ``{node}``, ``{group}``...

``{{`` and ``}}`` stand for literal braces. The runtime substitutes into each argv element
separately, so a value containing spaces never splits an argument.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from crg.dsl.model import Group

PLACEHOLDERS: Mapping[str, str] = {
    "vip": "the VIP address without prefix, e.g. 10.0.0.5",
    "prefix": "the VIP prefix length, e.g. 24",
    "dev": "the VIP's network device (empty when none is configured)",
    "node": "the node the group runs on",
    "group": "the group's name",
    "cluster": "the cluster's name",
}



def placeholder_values(group: Group, node: str, cluster: str) -> dict[str, str]:
    """Every placeholder's value for ``group`` on ``node``: what the runtime fills in (and
    what the checks of its commands read)."""
    vip = group.vip
    return {"vip": vip.address, "prefix": str(vip.prefix), "dev": vip.device or "",
            "node": node, "group": group.name, "cluster": cluster}


_TOKEN = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|\{|\}")


@dataclass(frozen=True, slots=True)
class TemplateProblem:
    offset: int
    """Index into the template text where the problem starts."""
    width: int
    message: str
    word: str | None = None
    """The unknown placeholder name, when that is the problem (for suggestions)."""


def problems(text: str) -> list[TemplateProblem]:
    found: list[TemplateProblem] = []
    for match in _TOKEN.finditer(text):
        token = match.group(0)
        if token in ("{{", "}}"):
            continue
        if token == "{":
            found.append(TemplateProblem(match.start(), 1, "'{' is not closed",))
        elif token == "}":
            found.append(TemplateProblem(match.start(), 1, "'}' without a matching '{'"))
        else:
            name = match.group(1)
            if name not in PLACEHOLDERS:
                found.append(TemplateProblem(match.start(), len(token),
                                             f"unknown placeholder '{{{name}}}'", name))
    return found


def substitute(text: str, values: Mapping[str, str]) -> str:
    """Replace placeholders; raises KeyError for a placeholder without a value."""

    def replace(match: re.Match[str]) -> str:
        token = match.group(0)
        if token == "{{":
            return "{"
        if token == "}}":
            return "}"
        if match.group(1) is None:
            return token
        return values[match.group(1)]

    return _TOKEN.sub(replace, text)
