"""Conformance: does a runtime's trace (:mod:`crg.runtime.trace`) follow the spec?

An *embedded* trace holds every transition of the cluster, so it is replayed from
:meth:`Model.initial` with the spec's own transitions: each step must be enabled in the
state the replay reached, must break no step invariant, must lead to a state that
breaks no state invariant (the settled-state ones where it has settled; see
``crg.spec.invariants.exempt_invariants`` for those a run beyond the config's failure
assumption is not held to), and must lead to exactly the state the runtime recorded. The
first step that fails is reported.

A *node* trace (one node of several hosts) holds that node's own steps only, seen from
its view; each is checked locally: performed by that node, enabled in the state it
recorded before it, leading to the state it recorded after. (Merging the traces of all
nodes by store revision would give a global replay; see README, "crg conform".)
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from crg.dsl.model import Config, Fault
from crg.runtime.fingerprint import fingerprint
from crg.runtime.recorder import differences
from crg.runtime.trace import VERSION, config_digest
from crg.spec import KINDS, Action, ActionKind, Model, State
from crg.spec.invariants import exempt_invariants
from crg.spec.present.modes import describe, nodes_out, parse_action

NODE_EVENTS = frozenset({ActionKind.FAULT, ActionKind.SWITCHOVER, ActionKind.FORGIVE,
                         ActionKind.OFFLINE, ActionKind.ONLINE, ActionKind.DRAIN,
                         ActionKind.UNDRAIN, ActionKind.HEAL, ActionKind.CLEANUP,
                         ActionKind.MAINTENANCE_ON, ActionKind.MAINTENANCE_OFF,
                         ActionKind.CLEAR})
"""Environment events a node may record in its own trace (observed or commanded there:
every operator command a node's control socket accepts)."""


class TraceError(ValueError):
    """The trace cannot be read (bad input, not a violation)."""


@dataclass
class Result:
    steps: int = 0
    settled: int = 0
    """Settled states reached (where the quiescent invariants were checked too)."""
    problem: str | None = None
    line: int | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def conforms(self) -> bool:
        return self.problem is None


def read(lines: Iterable[str]) -> tuple[dict[str, Any], list[tuple[int, dict[str, Any]]],
                                       int | None]:
    """The header and the records of a trace, and the number of a last line cut off
    (None if none was): a runtime killed while it wrote a record (kill -9, a power cut)
    leaves a last line without its end, and what came before it is still the run."""
    records = []
    head: dict[str, Any] | None = None
    pending: tuple[int, str] | None = None
    for number, line in enumerate(lines, 1):
        if pending is not None:
            raise TraceError(f"line {pending[0]}: not JSON ({pending[1]})")
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except json.JSONDecodeError as exc:
            if line.endswith("\n") or head is None:
                raise TraceError(f"line {number}: not JSON ({exc.msg})") from None
            pending = (number, exc.msg)  # the last line, unless another follows
            continue
        except (ValueError, RecursionError):
            # A number of more digits than int() takes (4300), or lists nested deeper
            # than the decoder recurses: no record of a trace is either.
            raise TraceError(f"line {number}: not a trace record (a number too long, or "
                             "JSON nested too deeply)") from None
        if not isinstance(data, dict):
            raise TraceError(f"line {number}: not a JSON object")
        if head is None:
            if data.get("trace") != VERSION:
                raise TraceError(f"line {number}: not a crg trace header (version {VERSION})")
            head = data
        else:
            records.append((number, data))
    if head is None:
        raise TraceError("empty trace")
    return head, records, pending[0] if pending is not None else None


def same_configuration(head: dict[str, Any], config: Config) -> bool:
    """The trace's configuration is ``config``: the same fingerprint (what the runtime
    and the checker would do; comments and layout aside) — or, for a trace that predates
    the fingerprint in its header, the same text."""
    if "config_fingerprint" in head:
        return bool(head["config_fingerprint"] == fingerprint(config)[0])
    return bool(head.get("config_sha256") == config_digest(config))


def check(config: Config, lines: Iterable[str]) -> Result:
    head, records, cut = read(lines)
    result = Result()
    if cut is not None:
        result.warnings.append(f"line {cut}, the last, was cut off (the runtime stopped while "
                               "it wrote it): the trace is checked up to the line before")
    nodes, groups = list(config.cluster.nodes), [g.name for g in config.groups]
    if head.get("nodes") != nodes or head.get("groups") != groups:
        raise TraceError(f"the trace is of nodes {head.get('nodes')} and groups "
                         f"{head.get('groups')}, the configuration has {nodes} and {groups}")
    node = head.get("node")
    if node is not None and node not in nodes:
        raise TraceError(f"the trace's header names node {node!r}, which is not a node of "
                         f"the configuration ({', '.join(nodes)})")
    if not same_configuration(head, config):
        # An edited configuration may have other rules (a budget, a failback) under the
        # same names: its replay would report a step that was legal when it ran.
        raise TraceError("the trace is of another configuration (its fingerprint differs "
                         "from this file's): replay it against the configuration that ran")
    if head.get("config_sha256") != config_digest(config):
        result.warnings.append("the trace was recorded with another text of the same "
                               "configuration (comments or layout differ)")
    # Any event may happen to a running cluster: the assumptions only bound the checker.
    # interpreted: a trace is a few thousand steps, not worth compiling every group
    model = Model.from_config(config, max_down=len(nodes), faults=frozenset(Fault),
                              compiled=False)
    state: State = model.initial()
    expected_seq = 1
    for number, record in records:
        seq = record.get("seq")
        if isinstance(seq, int) and seq < expected_seq:
            result.problem = (f"step {seq} comes after step {expected_seq - 1}: a step "
                              "recorded twice, or out of order")
            result.line = number
            return result
        if isinstance(seq, int) and seq != expected_seq:
            # The runtime could not write them (a full disk for longer than its queue
            # lasted: its sink-recovered event counts them): nothing after can be checked.
            missing = (f"{expected_seq}" if seq == expected_seq + 1
                       else f"{expected_seq} to {seq - 1}")
            result.problem = (f"step {seq}: step(s) {missing} are missing from the trace "
                              "(the runtime could not write them)")
            result.line = number
            return result
        expected_seq += 1
        try:
            action = parse_action(model, record)
        except (KeyError, ValueError, TypeError) as exc:
            raise TraceError(f"line {number}: {exc}") from None
        recorded = _state(model, record, "state", number)
        before = (_state(model, record, "before", number) if "before" in record else state
                  ) if node is not None else state
        text = describe(model, action)
        problem = step_problem(model, action, before, recorded, node,
                               max_down=config.cluster.max_down)
        if problem is None and node is None and recorded != _after(model, before, action):
            problem = (f"the runtime's state after it differs from the spec's: "
                       f"{differences(model, _after(model, before, action), recorded)}")
        if problem is not None:
            result.problem, result.line = f"step {record.get('seq')} ({text}): {problem}", number
            return result
        result.steps += 1
        state = recorded
        if model.is_quiescent(state):
            result.settled += 1
    return result


def _state(model: Model, record: dict[str, Any], key: str, number: int) -> State:
    """The state the record gives under ``key``: a whole number, written as a string (as
    :mod:`crg.runtime.trace` writes it) or not, that fits the configuration's layout."""
    value = record.get(key)
    if value is None:
        raise TraceError(f"line {number}: no {key!r} in the record")
    if isinstance(value, bool) or not isinstance(value, int | str) or (
            isinstance(value, str) and not (value.isascii() and value.isdigit())):
        raise TraceError(f"line {number}: the {key} {_short(value)} is not a state (a "
                         "whole number)")
    layout = model.layout
    width = layout.nodes_width + layout.n_groups * layout.group_width
    # The length first: int() refuses a string of more than 4300 digits.
    if len(str(value).lstrip("-0")) > len(str(1 << width)) or not 0 <= int(value) < 1 << width:
        raise TraceError(f"line {number}: the {key} {_short(value)} is not a state of "
                         f"this configuration (a whole number from 0 to 2**{width} - 1)")
    return int(value)


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else f"{text[:30]}... ({len(text)} characters)"


def _after(model: Model, state: State, action: Action) -> State:
    for candidate, after, _ in _transitions(model, state):
        if candidate == action:
            return after
    raise AssertionError("checked to be enabled")


def _transitions(model: Model, state: State) -> list[tuple[Action, State, Any]]:
    return model.system_transitions(state) + model.environment_transitions(state)


def step_problem(model: Model, action: Action, before: State, after: State,
                 node: str | None, max_down: int | None = None) -> str | None:
    """Why ``before -> action -> after`` is not a conforming step (None if it is).
    ``max_down``: the config's assumption (see ``exempt_invariants``; None: unknown)."""
    if node is not None:
        index = model.topology.node_index(node)
        info = KINDS[action.kind]
        if info.system and action.node != index:
            return f"a step of {model.topology.nodes[action.node]} in {node}'s trace"
        if not info.system and action.kind not in NODE_EVENTS:
            return f"{action.kind.label} is not an event {node} records"
    found = [(a, t, p) for a, t, p in _transitions(model, before) if a == action]
    if not found:
        return "not enabled in this state (not a transition of the spec)"
    _, expected, step_problems = found[0]
    if step_problems:
        name, detail = step_problems[0]
        return f"breaks {name}: {detail}"
    if node is not None and expected != after:
        return (f"recorded state differs from the spec's: "
                f"{differences(model, expected, after)}")
    quiescent = model.is_quiescent(expected)
    exempt = exempt_invariants(nodes_out(model, expected), max_down)
    broken = [(name, g) for name, g in model.state_problems(expected, quiescent)
              if name not in exempt]
    if broken:
        name, g = broken[0]
        where = "settled state" if quiescent else "state"
        return f"leads to a {where} that breaks {name} for {model.groups[g].name}"
    return None
