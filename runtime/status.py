"""What ``crg status`` shows: the spec's reading of the current state (the same words as
``crg simulate``: :func:`crg.spec.present.modes.placements`), plus a few physical details."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from crg.dsl.diagnostics import and_list
from crg.dsl.model import Config, Group
from crg.runtime.address.base import AddressDriver
from crg.runtime.address.ledger import LedgerDriver
from crg.runtime.agreement import live_configs
from crg.runtime.fingerprint import short
from crg.runtime.node_watch import reset_mark
from crg.runtime.observations import Observations
from crg.runtime.records import Keys
from crg.runtime.start_gate import left_text
from crg.runtime.store.base import Snapshot
from crg.spec import Model, State
from crg.spec.present.modes import drained_nodes, node_status, node_words, placements

if TYPE_CHECKING:
    from crg.runtime.agent import Agent

STATUS_VERSION = 1
NOTHING_SEEN = Observations()


def status_of(config: Config, model: Model, state: State, revision: int, *, mode: str,
              address: AddressDriver | None, agents: Mapping[str, Agent],
              seen: Observations = NOTHING_SEEN,
              sinks: Sequence[Mapping[str, Any]] = ()) -> dict[str, Any]:
    """``address``: the driver that knows every node's VIPs (the embedded runtime's);
    None where it knows only this host's: the spec's reading is shown then. ``seen``:
    what the runtime knows beyond the spec's state (failure records, reports, suspect
    nodes). ``sinks``: the health of the runtime's outputs
    (:meth:`crg.runtime.health.Board.status`). The configuration's fingerprints and the
    HTTP endpoints are added by the runtime (:func:`config_status`)."""
    groups = []
    for name, p in placements(model, state).items():
        group = config.group(name)
        holder = address.holder(group.vip) if isinstance(address, LedgerDriver) else None
        pid, stopping = process_on(agents, p.node, name)
        # ``vip`` is the node the spec says holds the VIP; ``vip_holder`` what the
        # address driver says (they differ only while a step is under way).
        entry = {"group": name, **p.as_dict(), "address": group.vip.address,
                 "candidates": list(group.candidates),
                 "vip_holder": holder if isinstance(address, LedgerDriver) else p.vip,
                 "target": p.target, "watchdogs": list(p.watchdogs), "pid": pid}
        entry.update(failures(model, state, group, seen))
        entry.update(offline_by(model, state, name, p.mode.value))
        entry["troubles"] = troubles(agents, name, seen)
        if p.node is not None and p.node in seen.suspects:
            # Its owner stopped renewing: whatever runs there may be dead already.
            entry.update(mode="unknown", app="unknown", suspect=True)
        elif entry["reported"] is not None and entry["reported"]["node"] == p.node:
            entry["app"] = "failed"  # the monitors said so; the spec is told later
        elif stopping and p.app != "failed":
            # The spec's state changes only once the stop is over; meanwhile the process
            # is there, being stopped (for up to its stop timeout).
            entry["app"] = "stopping"
        groups.append(entry)
    nodes = node_status(model, state)
    nodes.update({n: "suspect" for n in seen.suspects if nodes.get(n) == "up"})
    return {"version": STATUS_VERSION, "cluster": config.cluster.name, "mode": mode,
            "revision": revision, "nodes": nodes, "drained": drained_nodes(model, state),
            "suspects": {n: left for n, left in seen.suspects.items()
                         if nodes.get(n) == "suspect"},
            "groups": groups, "troubles": troubles(agents, "", seen),
            "sinks": [dict(s) for s in sinks]}


def too_old(view_age_s: float, lease_s: float) -> bool:
    """Whether a view this old no longer says where anything runs: older than a lease,
    every lease it saw has run out since (``crg status``, ``/groups/NAME``, the metrics)."""
    return view_age_s > lease_s


def out_of_date(status: dict[str, Any], node: str, lease_s: float) -> dict[str, Any]:
    """``status`` read from a last view older than a lease (``store`` not answered): it
    says nothing of where anything runs now — every node cut off from the store has
    fenced itself by then, so the rows it shows as up may all be down. Each group reads
    ``unknown`` (mode and application, ``stale`` true) and every other node ``unknown``,
    as ``/groups/NAME`` and the metrics refuse such a view; ``node``, the one asked, is
    as it knows itself."""
    away = status.get("store") or {}
    if away.get("answered", True) or not too_old(away.get("view_age_s", 0.0), lease_s):
        return status
    groups = [{**g, "mode": "unknown", "app": "unknown", "stale": True}
              for g in status["groups"]]
    nodes = {n: state if n == node else "unknown" for n, state in status["nodes"].items()}
    return {**status, "groups": groups, "nodes": nodes}


def process_on(agents: Mapping[str, Agent], node: str | None,
               group: str) -> tuple[int | None, bool]:
    """The pid of ``group``'s application on ``node`` if its agent runs here and the
    process is alive, and whether it is being stopped."""
    if node is None or node not in agents:
        return None, False
    supervisor = agents[node].machine.supervisor
    current = supervisor.instances.get(group)
    if current is not None and current.running:
        return current.pgid, False
    stopped = supervisor.stopping.get(group)
    if stopped is not None and stopped.running:
        return stopped.pgid, True
    return None, False


def offline_by(model: Model, state: State, group: str, mode: str) -> dict[str, Any]:
    """Why a group is offline, if it is: an operator's ``crg offline`` (``operator``,
    until ``crg online``), or, for an instance group without it, its preferred node — the
    one node where its application may run — being out (``standby``, until it returns)."""
    topo = model.groups[model.topology.group_index(group)]
    if model.group_vars(state, topo.index).offline:
        why: str | None = "operator"
    else:
        why = "standby" if mode == "offline" and not topo.failover else None
    return {"offline_by": why, "preferred": model.topology.nodes[topo.preferred]}


def troubles(agents: Mapping[str, Agent], group: str,
             seen: Observations = NOTHING_SEEN) -> list[dict[str, Any]]:
    """The runtime alerts in force about ``group`` ("": about a node as a whole) on the
    nodes whose agents run here, and on the others as they wrote them in the store
    (``seen``): a step that keeps failing, events that cannot be delivered... each until
    it works again."""
    everywhere = {**seen.troubles,
                  **{node: agent.machine.troubles for node, agent in agents.items()}}
    return [{"node": node, "action": action, "reason": reason, "since": since}
            for node, found in sorted(everywhere.items())
            for (about, action), (reason, since) in sorted(found.items())
            if about == group]


def failures(model: Model, state: State, group: Group, seen: Observations) -> dict[str, Any]:
    """A group's failure record: restarts used of its budget and when the restart window
    ends (forgiving them and the bans), the nodes it is banned from, the last fault, and
    a failure reported but not applied."""
    topo = model.groups[model.topology.group_index(group.name)]
    gv = model.group_vars(state, topo.index)
    record = seen.records.get(group.name, {})
    fault_time = record.get("fault_time")
    window_s = group.restart_window_ms / 1000
    counting = bool(gv.ban or gv.restarts)
    ends = (seen.window_ends.get(group.name, fault_time + window_s)
            if counting and isinstance(fault_time, int | float) else None)
    nodes = model.topology.nodes
    report = seen.reported.get(group.name)
    # The fault that spends the budget on the owner bans the owner and starts the count
    # again at 0 (for the next node): a blocked group still on its node has spent it all
    # there, which "0 of 1 used" would hide.
    spent = bool(gv.owner) and bool((gv.ban >> (gv.owner - 1)) & 1)
    return {
        "restarts": {"used": topo.budget if spent else gv.restarts, "budget": topo.budget,
                     "window_s": window_s, "window_ends": ends, "spent": spent},
        "banned": [{"node": nodes[n], "until": ends} for n in range(model.n_nodes)
                   if (gv.ban >> n) & 1],
        "last_fault": None if not fault_time else {
            "time": fault_time, "node": record.get("fault_node"),
            "reason": record.get("fault_reason")},
        "reported": None if report is None else {"node": report.node, "reason": report.reason,
                                                 "since": report.since},
    }


def config_status(snap: Snapshot, keys: Keys, sha256: str,
                  http: Mapping[str, str | None]) -> dict[str, Any]:
    """What ``crg status`` adds to the spec's reading: the fingerprint of the
    configuration this runtime runs, the one each live node published (they differ only
    when something went wrong: README, "One configuration"), and the HTTP endpoints."""
    out: dict[str, Any] = {"config_sha256": sha256,
                           "node_configs": live_configs(snap, keys),
                           "node_cores": live_configs(snap, keys, "core")}
    if http:
        out["http"] = dict(http)
    reset = reset_mark(snap, keys)
    if reset is not None:
        out["store_reset"] = reset
    return out


def store_reset_line(status: Mapping[str, Any]) -> str | None:
    """``store lost what it held on 2026-12-04 at 11:02:03 (seen by n2: ...)``, what
    operators had set before it, and how to clear the line; None if it never did."""
    reset = status.get("store_reset")
    if not reset:
        return None
    when = time.strftime("%Y-%m-%d at %H:%M:%S", time.localtime(reset["since"]))
    line = f"store lost what it held on {when} (seen by {reset['by']}: {reset['why']})"
    line += f"; {reset['lost']}" if reset.get("lost") else ""
    return f"{line} — crg cleanup --store-reset once dealt with"


HEADERS = ("group", "node", "mode", "vip", "held by", "app", "restarts", "switching",
           "alert")


def rows(status: Mapping[str, Any]) -> list[list[str]]:
    out = []
    for g in status["groups"]:
        restarts = g.get("restarts") or {}
        mode = mode_text(status, g) + (", maintenance" if g.get("maintenance") else "")
        out.append([g["group"], g["node"] or "-", mode, g["address"],
                    g["vip_holder"] or "-", g["app"],
                    f"{restarts.get('used', 0)}/{restarts.get('budget', 0)}"
                    + (" spent" if restarts.get("spent") else "") if restarts else "-",
                    # with no node, switching is a question without an answer
                    "-" if g["node"] is None else "enabled" if g["switching"]
                    else "disabled",
                    _alerts(g)])
    return out


WAITING_FOR_START = "waiting for start"
"""The mode column of a group that no node took yet because this node's agent waits for
the others at a cold start (``crg run --start-wait``)."""


def mode_text(status: Mapping[str, Any], group: Mapping[str, Any]) -> str:
    """The mode as the table shows it: the spec's (``mode`` in ``--json``), but
    :data:`WAITING_FOR_START` for a group on no node while the agent waits (``waiting``
    in the status): the spec calls it ``moving``, as a group between two states, which
    read as a step under way when none is taken until the wait ends (the title says for
    whom it waits and how long)."""
    if status.get("waiting") and group.get("node") is None and group["mode"] == "moving":
        return WAITING_FOR_START
    return str(group["mode"])


def _alerts(group: Mapping[str, Any]) -> str:
    raised = [name for name, flag in (("last node", "alerted"), ("blocked", "blocked_alerted"),
                                      ("no node left", "stranded_alerted"))
              if group.get(flag)]
    return ", ".join(raised) or "-"


def _clock(when: Any) -> str:
    return time.strftime("%H:%M:%S", time.localtime(when)) if isinstance(when, int | float) \
        else "?"


def notes(status: Mapping[str, Any]) -> list[str]:
    """What the table has no room for, one line per group that has something to say:
    ``web: banned on n1 until 12:03:04; 1 of 2 restarts used, forgiven at 12:03:04; last fault
    12:02:04 on n1: the application exited with status 1``."""
    lines = []
    if nobody := status.get("no_node_left"):
        lines.append(f"no-node-left since {_clock(nobody['since'])}: {nobody['reason']}")
    for g in status["groups"]:
        said = []
        if g.get("stale"):
            said.append("where it runs now is unknown: this node's view is older than a "
                        "lease (see below)")
        if g.get("suspect"):
            said.append(f"{g['node']} stopped renewing its lease: the state of the "
                        "application there is unknown")
        if g.get("mode") == "down" and g.get("candidates"):
            said.append(_nowhere(status, g["candidates"]))
        if g.get("maintenance"):
            said.append("in maintenance: the cluster service takes no action for it")
        if g.get("offline_by") == "operator" and g.get("maintenance") \
                and g.get("app") == "failed":
            # Its monitors reported the application failed: it does not run, held or not.
            said.append(f"offline by an operator once the maintenance ends: its application "
                        f"failed meanwhile and is not restarted (crg online {g['group']} "
                        "takes it back)")
        elif g.get("offline_by") == "operator" and g.get("maintenance") \
                and g.get("app") != "down":
            # Taken in maintenance: nothing is stopped until it ends.
            said.append(f"offline by an operator once the maintenance ends: its application "
                        f"runs until then (crg online {g['group']} takes it back)")
        elif g.get("offline_by") == "operator":
            said.append(f"offline by an operator: its application stays stopped (crg online "
                        f"{g['group']} ends it)")
        elif g.get("offline_by") == "standby":
            said.append(_standby(status, g))
        reported = g.get("reported")
        if reported:
            said.append(f"failure reported on {reported['node']} at "
                        f"{_clock(reported['since'])}: {reported['reason']}"
                        + (" (not checked again until the maintenance ends; it counts "
                           "then if the monitors still say so)" if g.get("maintenance")
                           else ""))
        if g.get("target") and g["target"] != g.get("node"):
            said.append(f"switchover to {g['target']} pending")
        elif g.get("target"):  # it will not fail back, whatever its policy, until cleared
            said.append(f"kept on {g['target']} by a switchover (crg clear {g['group']} "
                        "withdraws it)")
        restarts = g.get("restarts") or {}
        banned = g.get("banned") or []
        if banned:
            until = banned[0].get("until")
            said.append(f"banned on {', '.join(b['node'] for b in banned)}"
                        + (f" until {_clock(until)}" if until else "")
                        # one window per group: every ban ends when its last fault's does
                        + (", all at once, the restart window of its last fault"
                           if until and len(banned) > 1 else "")
                        # on its own node too (blocked there): the count reads 0 again
                        + (" (its restart budget is spent there; " if restarts.get("spent")
                           else " (")
                        + f"crg cleanup {g['group']} clears it)")
        if restarts.get("used") and not restarts.get("spent"):  # the ban says it
            budget = restarts["budget"]
            said.append(f"{restarts['used']} of {budget} restart{'' if budget == 1 else 's'} "
                        "used"
                        + (f", forgiven at {_clock(restarts['window_ends'])}"
                           if restarts.get("window_ends") else ""))
        fault = g.get("last_fault")
        if fault and (banned or restarts.get("used")):
            said.append(f"last fault at {_clock(fault['time'])}"
                        + (f" on {fault['node']}" if fault.get("node") else "")
                        + (f": {fault['reason']}" if fault.get("reason") else ""))
        said += [_trouble(t) for t in g.get("troubles") or ()]
        if said:
            lines.append(f"{g['group']}: " + "; ".join(said))
    lines += [f"{t['node']}: {_trouble(t, where=False)}" for t in status.get("troubles") or ()]
    if (away := status.get("store")) and not away.get("answered", True):
        lines.append(f"{status.get('node')} cannot read the store ({away['reason']}): this is "
                     f"its last view, read {away['view_age_s']:g} s ago; the other nodes "
                     "may have acted since")
    return lines


def _nowhere(status: Mapping[str, Any], candidates: list[str]) -> str:
    """Why a group runs nowhere: every node of its list, and what each is."""
    nodes, drained = status.get("nodes") or {}, set(status.get("drained") or ())
    states = [f"{c} {'drained' if c in drained else nodes.get(c, '?')}" for c in candidates]
    back = ("its agent started again — crg join in the embedded runtime — or crg undrain"
            if status.get("mode") == "embedded" else "its agent started again, or crg undrain")
    return (f"no node of its list left ({', '.join(states)}): its service is down until one "
            f"is back ({back})")


def _standby(status: Mapping[str, Any], g: Mapping[str, Any]) -> str:
    """Why an instance group waits offline away from its preferred node, and until
    when: that node out (down, drained, cut off), its restart budget spent there, a
    switchover, or -- none of these -- its manual failback."""
    home = g["preferred"]
    head = (f"an instance group, offline away from {home}, the one node where its "
            "application may run")
    state = (status.get("nodes") or {}).get(home)
    if g.get("target") and g["target"] == g.get("node"):
        return head  # "kept on ... by a switchover" follows
    if any(b.get("node") == home for b in g.get("banned") or ()):
        return f"{head}: its restart budget is spent there"
    if home in (status.get("drained") or ()):
        return f"{head}, until {home} is undrained"
    if state not in ("up", "suspect"):
        return f"{head}, until {home} is back"
    return (f"{head}: {home} is back, but {g['group']} fails back only when moved "
            f"(crg switchover {g['group']} {home})")


def _trouble(trouble: Mapping[str, Any], where: bool = True) -> str:
    """``acquire-vip failing on n2 since 12:03:04: cannot add 10.0.0.1/24: ...``."""
    return (f"{trouble['action']} failing" + (f" on {trouble['node']}" if where else "")
            + f" since {_clock(trouble['since'])}: {trouble['reason']}")


def title(status: Mapping[str, Any]) -> str:
    """``cluster shop (embedded)``; one node of several hosts: ``cluster shop (node n1)``,
    or ``(node n1, starting)`` while its agent does not run yet, ``(node n1, waiting for n2
    to register: 12.3 s of --start-wait left)`` at a cold start; ``, stopping`` once the
    runtime is on its way out (Ctrl-C, SIGTERM: the drained nodes are its own doing);
    ``, cannot read the store: its view of 2.5 s ago`` when the store did not answer."""
    where = str(status["mode"])
    if status.get("node"):
        where += f" {status['node']}"
        if status.get("agent") == "starting":
            where += ", starting"
        if waiting := status.get("waiting"):
            where += (f", waiting for {and_list(waiting['for'])} to register: "
                      f"{left_text(waiting['left_s'])} of --start-wait left")
    if status.get("stopping"):
        where += ", stopping"
    if (away := status.get("store")) and not away.get("answered", True):
        where += f", cannot read the store: its view of {away['view_age_s']:g} s ago"
    return f"cluster {status['cluster']} ({where})"


def nodes_line(status: Mapping[str, Any]) -> str:
    """``nodes: n1 suspect (lease runs out in 0.7 s), n2 down and drained, n3 up``."""
    suspects = status.get("suspects") or {}
    drained = status.get("drained") or ()

    def one(node: str, state: str) -> str:
        if state == "suspect" and node in suspects:
            return f"{node} suspect (lease runs out in {suspects[node]:g} s)"
        return f"{node} {node_words(state, node in drained)}"

    return "nodes: " + ", ".join(one(n, s) for n, s in status["nodes"].items())


def sink_lines(status: Mapping[str, Any]) -> list[str]:
    """One line per output of the runtime that fails (none when all work): ``events
    /var/log/crg/events.jsonl failing since 12:00:01: No space left on device (12 lines
    waiting, 0 dropped)``."""
    lines = []
    for sink in status.get("sinks", ()):
        if sink.get("state") != "failing":
            continue
        since = sink.get("since")
        when = time.strftime(" since %H:%M:%S", time.localtime(since)) if since else ""
        lines.append(f"{sink['sink']} {sink['target']} failing{when}: {sink['reason']} "
                     f"({sink['pending']} lines waiting, {sink['dropped']} dropped)")
    return lines


def config_line(status: Mapping[str, Any]) -> str | None:
    """``config 71e07cd97595`` (the fingerprint, short), naming any live node that runs
    another configuration — another revision of the same core while a rolling change is
    under way, or one that conflicts; None for a runtime that does not say."""
    sha = status.get("config_sha256")
    if not sha:
        return None
    line = f"config {short(sha)}"
    others = {n: c for n, c in (status.get("node_configs") or {}).items() if c != sha}
    cores = status.get("node_cores") or {}
    mine = cores.get(status.get("node")) if status.get("node") else None
    along = {n: c for n, c in others.items()
             if isinstance(c, str) and mine is not None and cores.get(n) == mine}
    if along:
        line += "; rolling change: " + ", ".join(
            f"{n} runs {short(c)}" for n, c in sorted(along.items()))
    if others.keys() - along.keys():
        line += "; DIFFERENT on " + ", ".join(
            f"{n} ({short(c) if c else 'not published'})" for n, c in sorted(others.items())
            if n not in along)
    http = status.get("http")
    if http:
        line += "; http " + ", ".join(f"{n} {a or '-'}" for n, a in http.items())
    return line
