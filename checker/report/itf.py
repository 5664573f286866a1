"""Traces as ITF JSON, the Informal Trace Format of Apalache
(https://apalache-mc.org/docs/adr/015adr-trace.html): ``#meta``, ``vars``, ``states`` and,
for a lasso, ``loop`` — the index of the state the last one returns to.

Each state has three variables: ``action`` (what led to it: ``init`` first), ``nodes``
(node → status) and ``groups`` (group → its variables, node sets as ``#set``). ITF has
no null, so "no node" is the empty string.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from crg.checker.result import Violation
from crg.spec import Action, Model, State
from crg.spec.present.modes import action_dict, drained_nodes, node_status, placements


class TraceWriteError(Exception):
    """A trace file could not be written (the command line reports it as bad input)."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"cannot write '{path}': {reason}")
        self.path = path
        self.reason = reason


FORMAT_DESCRIPTION = "https://apalache-mc.org/docs/adr/015adr-trace.html"
VARS = ("action", "nodes", "drained", "groups")


def to_itf(violation: Violation, source: str) -> dict[str, Any]:
    trace = violation.trace
    model = trace.model
    states = [_state(model, k, step.action, step.state) for k, step in enumerate(trace.steps)]
    out: dict[str, Any] = {
        "#meta": {
            "format": "ITF",
            "format-description": FORMAT_DESCRIPTION,
            "source": source,
            "description": f"crg check: {violation.prop.label} violated"
                           + (f" in group {violation.group}" if violation.group else "")
                           + f": {violation.detail}",
            "invariant": violation.prop.name,
            "liveness": violation.prop.liveness,
            "failures": violation.failures,
        },
        "vars": list(VARS),
        "states": states,
    }
    if trace.loop is not None and trace.loop_action is not None:
        out["loop"] = trace.loop
        out["#meta"]["loop-action"] = _action(model, trace.loop_action)
    return out


def _action(model: Model, action: Action | None) -> dict[str, Any]:
    if action is None:
        return {"action": "init", "group": "", "node": "", "system": True}
    data = action_dict(model, action)
    return {key: "" if value is None else value for key, value in data.items()}


def _state(model: Model, index: int, action: Action | None, state: State) -> dict[str, Any]:
    names = model.topology.nodes
    groups: dict[str, Any] = {}
    for topo, p in zip(model.groups, placements(model, state).values(), strict=True):
        gv = model.group_vars(state, topo.index)

        def nodes_in(mask: int) -> dict[str, list[str]]:
            return {"#set": [n for k, n in enumerate(names) if (int(mask) >> k) & 1]}

        groups[topo.name] = {
            "owner": names[gv.owner - 1] if gv.owner else "",
            "mode": p.mode.value,
            "vip": nodes_in(gv.vip),
            "app": nodes_in(gv.app),
            "monitors": nodes_in(gv.mon),
            "watchdogs": nodes_in(gv.wd),
            "banned": nodes_in(gv.ban),
            "target": names[gv.target - 1] if gv.target else "",
            "restarts": int(gv.restarts),
            "announced": bool(gv.announced),
            "alerted": bool(gv.alerted),
            "failed": bool(gv.failed),
            "offline": bool(gv.offline),
        }
    return {"#meta": {"index": index}, "action": _action(model, action),
            "nodes": node_status(model, state),
            # drained combines with down, cut and lost: "nodes" names one status only
            "drained": {"#set": drained_nodes(model, state)}, "groups": groups}


def file_stems(config_paths: list[str]) -> dict[str, str]:
    """The name each configuration's traces start with: its file name without ``.crg``,
    or, where two files share it (``x1/s.crg``, ``x2/s.crg``), as many of the folders
    before it as tell them apart (``x1.s``, ``x2.s``). Deterministic: it depends on the
    files' absolute paths only, not on the order they are checked in."""
    parts = {p: Path(p).resolve().parts for p in dict.fromkeys(config_paths)}

    def stem(path: str, depth: int) -> str:
        names = list(parts[path][-depth:])
        names[-1] = names[-1].removesuffix(".crg") or "config"
        return ".".join(re.sub(r"[^A-Za-z0-9_-]+", "-", n) for n in names if n != "/")

    out: dict[str, str] = {}
    for path in parts:
        depth = 1
        while depth < len(parts[path]) and any(
                stem(other, depth) == stem(path, depth)
                for other in parts if parts[other] != parts[path]):
            depth += 1
        out[path] = stem(path, depth)
    return out


def file_name(config_path: str, violation: Violation, engine: str = "explicit",
              stem: str | None = None) -> str:
    """``<file>.<invariant>.itf.json``; the symbolic engine's traces add ``.symbolic``
    (with ``--engine both`` a property may have one of each). ``stem``: from
    :func:`file_stems`, when several configurations are checked at once."""
    stem = stem or Path(config_path).name.removesuffix(".crg") or "config"
    ident = re.sub(r"[^A-Za-z0-9_.-]+", "-", violation.prop.ident)
    tag = "" if engine == "explicit" else f".{engine}"
    return f"{stem}.{ident}{tag}.itf.json"


def prepare(out_dir: str) -> None:
    """Make ``out_dir`` (and its parents) if it is missing; TraceWriteError if it cannot
    be, or is not a directory. ``crg check --out`` calls it before the check, so that a
    mistaken --out is said at once, not after a search of an hour whose verdict it
    dropped."""
    if Path(out_dir).exists() and not Path(out_dir).is_dir():
        # mkdir would say "File exists" of the trace's path, naming neither the problem
        # nor what was given
        raise TraceWriteError(out_dir, "not a directory (--out names the folder the traces "
                              "are written to)")
    try:
        Path(out_dir).mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise TraceWriteError(out_dir, exc.strerror or str(exc)) from None


def write(out_dir: str, config_path: str, violation: Violation,
          engine: str = "explicit", stem: str | None = None) -> str:
    """Write the violation's trace under ``out_dir``; returns the file's path."""
    path = Path(out_dir) / file_name(config_path, violation, engine, stem)
    prepare(out_dir)
    try:
        path.write_text(json.dumps(to_itf(violation, config_path), indent=1) + "\n",
                        encoding="utf-8")
    except OSError as exc:
        raise TraceWriteError(str(path), exc.strerror or str(exc)) from None
    return str(path)
