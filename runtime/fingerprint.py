"""The configuration's fingerprint: one cluster, one configuration on every host.

The fingerprint is the SHA-256 of the configuration's *canonical form*: the JSON export
of the validated configuration (``crg show --format json``: every default filled in,
times in milliseconds), without what only describes the file — source lines and
warnings — with the groups in name order and a group's ``notify`` and ``avoid`` sorted.
So comments, layout, the order of group blocks and a default spelt out or left implicit
do not count; any difference in what the runtime or the checker would do does.

:func:`first_difference` names where two canonical forms part, for an operator:
``group web: monitors[0].interval_ms is 250 here, 500 in the running cluster``.

:func:`core_digest` leaves out what hosts may run otherwise for a while (:data:`ROLLING`):
a configuration that differs from the cluster's in those only may join it.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from crg.dsl.export import config_to_dict
from crg.dsl.model import Config

POSITIONS = frozenset({"line"})


SETS = ("notify", "avoid")
"""Lists of a group that are sets: ``notify all`` names the other groups in the file's
order, which must not count."""


def canonical(config: Config) -> dict[str, Any]:
    data = _without_positions(config_to_dict(config))
    data.pop("warnings", None)
    data["groups"] = sorted(data["groups"], key=lambda g: str(g["name"]))
    for group in data["groups"]:
        for name in SETS:
            group[name] = sorted(group[name])
    result: dict[str, Any] = data
    return result


def digest(form: dict[str, Any]) -> str:
    return hashlib.sha256(dumps(form).encode()).hexdigest()


def dumps(form: dict[str, Any]) -> str:
    return json.dumps(form, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def fingerprint(config: Config) -> tuple[str, dict[str, Any]]:
    """(sha256, canonical form) of ``config``."""
    form = canonical(config)
    return digest(form), form


ROLLING = ("app", "monitors", "alerts", "hooks")
"""What a group's configuration may have otherwise on some hosts than on others for a
while — a rolling change, one host after another: how its application is started and
stopped, how it is watched, where its alerts and events go. The spec reads none of
them (``crg check`` proves the same of both), and a host runs them for its own
groups only. Everything else — nodes, addresses, candidates, timing, budgets, links
between groups — all hosts must agree on at every moment."""


def core(form: dict[str, Any]) -> dict[str, Any]:
    """The canonical form without the :data:`ROLLING` fields of its groups."""
    return {**form, "groups": [{k: v for k, v in g.items() if k not in ROLLING}
                               for g in form.get("groups", [])]}


def core_digest(form: dict[str, Any]) -> str:
    """The SHA-256 of :func:`core`: equal for configurations a rolling change may mix."""
    return digest(core(form))


def short(sha: str) -> str:
    return sha[:12]


def first_difference(mine: dict[str, Any], theirs: dict[str, Any],
                     where: str = "in the running cluster") -> str:
    """Where the canonical forms ``mine`` and ``theirs`` first differ, in words; the
    cluster block first, then the groups by name."""
    if mine.get("cluster") != theirs.get("cluster"):
        path, here, there = _difference(mine.get("cluster"), theirs.get("cluster"), "")
        return f"the cluster block: {path.lstrip('.')} is {here} here, {there} {where}"
    ours = {g["name"]: g for g in mine.get("groups", [])}
    others = {g["name"]: g for g in theirs.get("groups", [])}
    for name in sorted(ours.keys() | others.keys()):
        if name not in others:
            return f"group {name}: defined here, not {where}"
        if name not in ours:
            return f"group {name}: defined {where}, not here"
        if ours[name] != others[name]:
            path, here, there = _difference(ours[name], others[name], "")
            return f"group {name}: {path.lstrip('.')} is {here} here, {there} {where}"
    if mine != theirs:
        path, here, there = _difference(mine, theirs, "")
        return f"{path.lstrip('.') or 'the format'} is {here} here, {there} {where}"
    return "no difference"


def _difference(a: Any, b: Any, path: str) -> tuple[str, str, str]:
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(a.keys() | b.keys()):
            if a.get(key, _MISSING) != b.get(key, _MISSING):
                return _difference(a.get(key, _MISSING), b.get(key, _MISSING),
                                   f"{path}.{key}")
    elif isinstance(a, list) and isinstance(b, list):
        for i, (x, y) in enumerate(zip(a, b, strict=False)):
            if x != y:
                return _difference(x, y, f"{path}[{i}]")
        return path, f"{len(a)} long", f"{len(b)} long"
    return path, _show(a), _show(b)


_MISSING = object()


def _show(value: Any) -> str:
    if value is _MISSING:
        return "absent"
    text = json.dumps(value, sort_keys=True, ensure_ascii=False)
    return text if len(text) <= 60 else text[:57] + "..."


def _without_positions(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_positions(v) for k, v in value.items() if k not in POSITIONS}
    if isinstance(value, list):
        return [_without_positions(v) for v in value]
    return value
