"""``crg simulate FILE --fail n1 ...``: what the cluster service does, from the spec alone.

The events apply in the order they are written; the service settles before the first and
after each (see :mod:`crg.spec.present.simulation`). ``--format json`` has a stable shape
(README.md, ``crg/schemas/simulate.schema.json``); the text format is for people.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from crg import files
from crg.commands import _client, add_command, add_format
from crg.dsl import Config, parse
from crg.errors import ExitCode
from crg.output import Output
from crg.runtime.control import ControlError
from crg.runtime.fingerprint import fingerprint, first_difference
from crg.spec import Action, Model, State
from crg.spec.present.modes import (
    action_dict,
    describe,
    drained_nodes,
    node_status,
    node_words_of,
    placements,
)
from crg.spec.present.simulation import (
    ALERT_NOTIFICATIONS,
    DEFAULT_MAX_STEPS,
    EVENTS,
    EVENTS_BY_NAME,
    Event,
    Notification,
    ScenarioError,
    Simulation,
    Step,
)

if TYPE_CHECKING:
    from crg.commands import Subparsers

JSON_VERSION = 1


class _AppendEvent(argparse.Action):
    """Every event option appends to one list, so their relative order is kept."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: str | Sequence[Any] | None, option_string: str | None = None) -> None:
        args = (values,) if isinstance(values, str) else tuple(values or ())
        if self.one_or_two and len(args) > 2:
            parser.error(f"--cleanup takes GROUP and at most one NODE, not {len(args)} names")
        events: list[Event] = list(getattr(namespace, "events", None) or [])
        events.append(Event(self.metavar_name, tuple(str(v) for v in args)))
        namespace.events = events

    @property
    def one_or_two(self) -> bool:
        """--cleanup takes GROUP [NODE], as crg cleanup does (read by the help formatter)."""
        return self.metavar_name == "cleanup"

    @property
    def metavar_name(self) -> str:
        return self.option_strings[0].removeprefix("--")


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: '{text}'") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def register(subparsers: Subparsers) -> None:
    parser = add_command(
        subparsers, "simulate", summary="Show what the cluster service does after scripted events",
        description="Start every group of FILE by the spec's rules — or, with --live, take "
                    "the state of the running cluster (like crm_simulate -L) — then apply "
                    "the events in the order given, letting the cluster service settle "
                    "after each. Nothing real is touched.",
        exits=((ExitCode.OK, "the scenario settled and broke no invariant"),
               (ExitCode.VIOLATED, "an invariant broke, or the cluster service did not "
                                   "settle (a livelock)"),
               (ExitCode.BAD_INPUT, "bad input: an invalid FILE, an unknown name, an event "
                                    "that cannot happen where it comes; with --live, no "
                                    "runtime running here, or FILE is not the configuration "
                                    "it runs")))
    parser.add_argument("file", metavar="FILE", nargs="?",
                        help="a .crg configuration (with --live: optional, and then it must "
                             "be the configuration the runtime runs)")
    live = parser.add_argument_group("from the running cluster")
    live.add_argument("--live", action="store_true",
                      help="start from the state of the cluster that crg run runs here "
                           "(through its control socket) instead of start-up")
    _client.add_arguments(parser)
    events = parser.add_argument_group("events (any number, applied in order)")
    for spec in EVENTS:
        metavar = tuple(arg.value for arg in spec.args)
        nargs: int | str | None = len(metavar) if len(metavar) > 1 else None
        if spec.name == "cleanup":
            nargs = "+"  # without NODE: every node of the list with a failure recorded
        events.add_argument(f"--{spec.name}", action=_AppendEvent, dest="events",
                            nargs=nargs,
                            metavar=metavar if len(metavar) > 1 else metavar[0],
                            help=spec.help)
    add_format(parser, ("text", "json"), "text")
    parser.add_argument("--max-steps", type=_positive, default=DEFAULT_MAX_STEPS,
                        metavar="N", help="steps the service may take to settle after one "
                                          f"event before it counts as a livelock "
                                          f"(default: {DEFAULT_MAX_STEPS})")
    parser.set_defaults(run=run, events=[])


def run(args: argparse.Namespace) -> int:
    out = Output()
    live: Live | None = None
    if args.live:
        try:
            live = read_live(args)
        except ControlError as exc:
            out.error(str(exc))
            return ExitCode.BAD_INPUT
        config = live.config
    elif args.file is None:
        out.error("crg simulate: " + (_taken_file(args.events) or "name a configuration FILE "
                                      "(or --live, to start from the running cluster)"))
        return ExitCode.BAD_INPUT
    elif args.cluster is not None or args.run_dir is not None:
        out.error("crg simulate: --cluster and --run-dir choose the runtime of --live")
        return ExitCode.BAD_INPUT
    else:
        config = files.load(args.file)
    simulation = Simulation(config, max_steps=args.max_steps)
    events = list(args.events) if live is None else with_held(args.events, live)
    try:
        steps = simulation.run(events, None if live is None else live.state)
    except ScenarioError as exc:
        out.error(str(exc))
        return ExitCode.BAD_INPUT
    path = args.file or config.source.path
    if args.format == "json":
        out.json(to_dict(simulation, path, steps, live))
    else:
        out.diagnostics(config.source, config.warnings, with_summary=False)
        print_text(out, simulation, steps, live)
    livelock = steps[-1].livelock
    if livelock is not None:
        event = steps[-1].event
        out.error(f"livelock: the cluster service did not settle "
                  f"{'at start-up' if event is None else f'after {event}'} "
                  f"({livelock.steps} steps"
                  + (f", a cycle of {len(livelock.cycle)}" if livelock.cycle else "") + ")")
        return ExitCode.VIOLATED
    if any(step.problems for step in steps):
        out.error("the scenario breaks an invariant (see the problems above)")
        return ExitCode.VIOLATED
    return ExitCode.OK


def _taken_file(events: Sequence[Event]) -> str | None:
    """What to say when an event option took the configuration as one of its names
    (``crg simulate --switchover web x.crg``: argparse gives x.crg to --switchover as
    its NODE, and FILE is left out), else None."""
    for event in events:
        for index, name in enumerate(event.args):
            if name.endswith(".crg") or os.path.isfile(name):
                role = EVENTS_BY_NAME[event.name].args[index].value
                return (f"no configuration FILE: --{event.name} took '{name}' as its "
                        f"{role} ({event}); name FILE before the events")
    return None


# -- the running cluster ------------------------------------------------------------------


@dataclass(frozen=True)
class Live:
    config: Config
    state: State
    revision: int
    held: dict[str, str]
    """Group -> the failure its monitors reported during its maintenance, held by the
    runtime (not in the spec state): applied when the maintenance ends, if the monitors
    still say so."""


def with_held(events: Sequence[Event], live: Live) -> list[Event]:
    """``events``, with a group's held failure as a fault right after its maintenance ends
    (``--maintenance-off G``), as the runtime applies it then: without it, simulate
    predicted nothing where the runtime restarted the group or failed it over."""
    out: list[Event] = []
    for event in events:
        out.append(event)
        if event.name == "maintenance-off" and event.args[0] in live.held:
            out.append(Event("fault", event.args))
    return out


def read_live(args: argparse.Namespace) -> Live:
    """The configuration and state of the runtime running here (``--cluster``,
    ``--run-dir``); FILE, when given, must be the configuration it runs (ConfigError for
    a configuration the runtime sent that no longer validates, FileError for FILE)."""
    answer = _client.call(args, "state")
    sent = answer["config"]
    config = parse(str(sent["text"]), str(sent["path"]))
    if args.file is not None:
        mine = files.load(args.file)
        sha, form = fingerprint(mine)
        if sha != sent["sha256"]:
            _, theirs = fingerprint(config)
            raise ControlError(f"{args.file} is not the configuration the runtime runs: "
                               f"{first_difference(form, theirs, 'in the runtime')}; drop "
                               "FILE to simulate with the runtime's")
        config = mine
    try:
        state = int(answer["state"])
        Model.from_config(config, compiled=False).node_vars(state)
    except (TypeError, ValueError, KeyError) as exc:
        raise ControlError(f"the runtime sent a state crg cannot read ({exc})") from None
    return Live(config, state, int(answer.get("revision", 0)), _held(args))


def _held(args: argparse.Namespace) -> dict[str, str]:
    """The failures held in maintenance, from the runtime's status (their words)."""
    groups = _client.call(args, "status").get("status", {}).get("groups", [])
    held: dict[str, str] = {}
    for g in groups if isinstance(groups, list) else ():
        report = g.get("reported") if isinstance(g, dict) else None
        if g.get("maintenance") and isinstance(report, dict):
            held[str(g.get("group"))] = f"on {report.get('node')}: {report.get('reason')}"
    return held


# -- JSON ---------------------------------------------------------------------------------


def to_dict(simulation: Simulation, path: str, steps: Sequence[Step],
            live: Live | None = None) -> dict[str, Any]:
    m = simulation.model
    last = steps[-1]
    return {
        "version": JSON_VERSION,
        "file": path,
        "cluster": simulation.config.cluster.name,
        "live": None if live is None else {"revision": live.revision, "held": live.held},
        "outcome": "settled" if last.livelock is None else "livelock",
        "steps": [_step_dict(m, index, step) for index, step in enumerate(steps)],
        "final": _snapshot(m, last.state),
    }


def _step_dict(m: Model, index: int, step: Step) -> dict[str, Any]:
    event = None
    if step.event is not None and step.action is not None:
        event = {"name": step.event.name, "args": list(step.event.args),
                 **_action(m, step.action)}
    livelock = None
    if step.livelock is not None:
        livelock = {"steps": step.livelock.steps,
                    "cycle": [_action(m, a) for a in step.livelock.cycle]}
    return {
        "index": index,
        "event": event,
        "actions": [_action(m, a) for a in step.actions],
        "notifications": [_notification(n) for n in step.notifications],
        "problems": [{"invariant": p.invariant, "group": p.group, "detail": p.detail}
                     for p in step.problems],
        "livelock": livelock,
        **_snapshot(m, step.state),
    }


def _action(m: Model, action: Action) -> dict[str, Any]:
    return {**action_dict(m, action), "text": describe(m, action)}


def _notification(n: Notification) -> dict[str, Any]:
    out: dict[str, Any] = {"kind": n.kind, "group": n.group, "node": n.node}
    if n.kind in ALERT_NOTIFICATIONS:  # a blocked alert's sinks were once left out here
        out["sinks"] = [{"kind": kind, "target": target} for kind, target in n.sinks]
    else:
        out["recipients"] = list(n.recipients)
    return out


def _snapshot(m: Model, state: State) -> dict[str, Any]:
    return {
        "nodes": node_status(m, state),
        "drained": drained_nodes(m, state),
        "placement": {name: p.as_dict() for name, p in placements(m, state).items()},
    }


# -- text ---------------------------------------------------------------------------------


def _held_fault(steps: Sequence[Step], index: int, live: Live) -> bool:
    """Whether step ``index`` is the held failure :func:`with_held` added."""
    event, before = steps[index].event, steps[index - 1].event if index else None
    return (event is not None and before is not None and event.name == "fault"
            and before.name == "maintenance-off" and event.args == before.args
            and event.args[0] in live.held)


def print_text(out: Output, simulation: Simulation, steps: Sequence[Step],
               live: Live | None = None) -> None:
    m = simulation.model
    for index, step in enumerate(steps):
        if index:
            out.print()
        if (step.event is None or step.action is None) and live is not None:
            title = f"the running cluster (store revision {live.revision}), settled"
        elif step.event is None or step.action is None:
            title = "start-up"
        else:
            title = f"{step.event}  ({describe(m, step.action)})"
        out.print(f"step {index}: {title}", style="bold")
        if live is not None and _held_fault(steps, index, live):
            assert step.event is not None
            group = step.event.args[0]
            out.print(f"  (held: the failure reported during the maintenance of {group} "
                      f"{live.held[group]}; the runtime applies it now if its monitors "
                      "still say so)", style="yellow")
        if step.actions:
            out.print("  actions:")
            for action in step.actions:
                out.print(f"    {describe(m, action)}")
        else:
            out.print("  actions: none")
        for note in step.notifications:
            out.print(f"  {_notification_text(note)}", style="cyan")
        for problem in step.problems:
            where = f" ({problem.group})" if problem.group else ""
            out.print(f"  violated: {problem.invariant}{where}: {problem.detail}",
                      style="bold red")
        if step.livelock is not None:
            cycle = ", ".join(describe(m, a) for a in step.livelock.cycle)
            out.print(f"  livelock after {step.livelock.steps} steps"
                      + (f"; repeating: {cycle}" if cycle else ""), style="bold red")
        words = node_words_of(m, step.state)
        out.print("  nodes: " + ", ".join(f"{name} {said}" for name, said in words.items()))
        now = placements(m, step.state)
        out.table(("group", "node", "mode", "vip", "app", "switching", "alerted"),
                  [_row(name, p.as_dict()) for name, p in now.items()])
        # What crg status says under its table too: a target the group is not on yet
        # (in maintenance, or on its way) would otherwise show nowhere.
        for name, p in now.items():
            if p.target is not None and p.target != p.node:
                out.print(f"  {name}: switchover to {p.target} pending")


def _row(name: str, p: dict[str, Any]) -> list[str]:
    mode = f"{p['mode']}, maintenance" if p["maintenance"] else p["mode"]
    # Switching is a matter of the node a group is on: with none, there is nothing to say.
    switching = "-" if p["node"] is None else "on" if p["switching"] else "off"
    raised = p["alerted"] or p["blocked_alerted"] or p["stranded_alerted"]
    return [name, p["node"] or "-", mode, p["vip"] or "-", p["app"], switching,
            "yes" if raised else "no"]


def _notification_text(n: Notification) -> str:
    if n.kind in ALERT_NOTIFICATIONS:
        sinks = ", ".join(kind if target is None else f"{kind} {target}"
                          for kind, target in n.sinks) or "no sink"
        if n.kind == "stranded":  # nobody hosts it: n.node is who raised the alert
            return (f"alert: {n.group} has no node of its list left (raised by {n.node}) "
                    f"-> {sinks}")
        what = ("is on the last node of its list" if n.kind == "alert"
                else "cannot run anywhere (blocked)")
        return f"alert: {n.group} on {n.node} {what} -> {sinks}"
    word = "up" if n.kind == "service-up" else "down"
    recipients = ", ".join(n.recipients) or "nobody"
    return f"service {word}: {n.group} from {n.node} -> {recipients}"

