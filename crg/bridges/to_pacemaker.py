"""A crg configuration as a Pacemaker configuration (``crg export pacemaker``).

The mapping and its reasons are in README.md ("Using crg with Pacemaker or keepalived");
in short, per group a Pacemaker group of an ``ocf:heartbeat:IPaddr2`` VIP and the
application (:mod:`crg.bridges.app_to_pacemaker`), in run order; an opt-in cluster; and
scores chosen so that Pacemaker's arithmetic makes crg's placement decisions (the rules
are numbered as in SPEC.md, section 4):

* location scores fall by :data:`STEP` along the possible nodes, and the preferred node
  stands above them by a gap wider than the group's stickiness can bridge, so the first
  available candidate has the highest score (rules 6 to 8); every other node
  gets ``-INFINITY``;
* ``failback auto`` is a stickiness that outweighs every difference between possible
  nodes and not the preferred node's lead: a group away from home stays where it is
  when a better possible node comes back, and goes home when home does (rules 3, 4).
  Pacemaker counts a group's stickiness once per active member (the VIP alone while the
  application is stopped, both while it runs), so both one and two times it lie in that
  interval;
* ``avoid`` is a colocation of ``-penalty`` with the avoided group, the penalty larger
  than the whole spread of the candidates' scores plus an auto group's stickiness, so a
  node without an avoided group always wins over one with, even over the node the group
  is on (rule 3), and every score stays positive even with all the avoided groups on one
  node, so avoidance stays soft (choice 10);
* ``failback manual`` is a stickiness larger than the spread plus every penalty, so a
  placed group stays (rule 4).
* every number is a multiple of :data:`STEP` (100), or of a smaller step for a group
  whose numbers would otherwise reach Pacemaker's INFINITY: Pacemaker saturates a sum at
  INFINITY (which then absorbs every penalty) and would lose the order of the candidates
  and the avoid penalties, so the scale is compressed instead (the decisions depend on
  the ratios only); a group too large even for a step of 1 is an error;
* ``restarts R within W`` is ``migration-threshold=R+1`` and ``failure-timeout=W``: a
  budget spent on every candidate that is up bans the application everywhere while the
  VIP stays, Pacemaker's counterpart of a blocked group (rule 5); it differs in the alert
  and, for auto failback, in where the VIP waits (a warning says so).

What has no counterpart is returned as warnings at the statement concerned.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, replace

from crg.bridges.app_to_pacemaker import app_primitive
from crg.bridges.pacemaker_model import (
    INFINITY,
    Alert,
    Colocation,
    Group,
    Ids,
    Location,
    Op,
    PacemakerConfig,
    Primitive,
    seconds_text,
)
from crg.dsl import Config, ConfigError, Diagnostic, Failback, Fencing, Kind, Severity, SinkKind
from crg.dsl import Group as CrgGroup
from crg.dsl.source import Span

STEP = 100
"""Score difference between neighbours in a group's list of candidates (unless the
group's scores must be compressed to stay below INFINITY)."""
MEMBERS = 2
"""The members of an exported group (the VIP and the application): Pacemaker adds the
stickiness of each active member to the score of the node the group is on."""
VIP_OPS = (Op("monitor", 10_000, 20_000), Op("start", 0, 20_000), Op("stop", 0, 20_000))
"""IPaddr2's own advice (its metadata): check the address every 10 s; 20 s to start or
stop (what pcs writes for it too)."""
TIMING_DEFAULTS_MS = {"lease": 3000, "heartbeat": 500, "store-timeout": 500,
                      "fence-margin": 500}


@dataclass(frozen=True, slots=True)
class Scores:
    """The numbers of one group (see the module docstring)."""

    candidates: tuple[int, ...]
    avoid_penalty: int
    stickiness: int


class ScoresTooLarge(ValueError):
    """A group whose scores cannot stay below INFINITY even with a step of 1."""


def scores(group: CrgGroup) -> Scores:
    """The group's numbers, in steps of :data:`STEP`, or of the largest smaller step that
    keeps every sum Pacemaker makes of them below INFINITY: the highest location score
    plus the stickiness of both members. ScoresTooLarge when no step does."""
    unit = _scores(group, 1)
    top = unit.candidates[0] + MEMBERS * unit.stickiness
    step = min(STEP, (INFINITY - 1) // top)
    if step < 1:
        raise ScoresTooLarge(
            f"group {group.name}: with {len(group.candidates)} candidates and "
            f"{len(group.avoid)} avoided groups its Pacemaker scores would reach "
            f"INFINITY ({INFINITY}) even in steps of 1 (the preferred node's score plus the "
            f"stickiness of both members would be {top}), and Pacemaker would lose the "
            "order of its candidates and its avoid penalties")
    return unit if step == 1 else _scores(group, step)


def _scores(group: CrgGroup, step: int) -> Scores:
    count, avoided = len(group.candidates), len(group.avoid)
    between_possible = step * max(count - 2, 0)
    # Auto: more than every difference between possible nodes, once or twice (one or two
    # active members), and less than the preferred node's lead, twice counted.
    # (A group with one candidate has nowhere to stay or go: none, as crg's import reads.)
    auto = between_possible + step if count > 1 else 0
    lead = 2 * auto + step
    spread = lead + between_possible if count > 1 else 0
    penalty = spread + 2 * auto + step
    # The lowest candidate keeps step after every avoided group's penalty: still allowed.
    base = step + penalty * avoided
    manual = spread + penalty * avoided + step
    possible = tuple(base + step * (count - 2 - i) for i in range(count - 1))
    preferred = (possible[0] + lead) if possible else base
    return Scores((preferred, *possible), penalty,
                  manual if group.failback is Failback.MANUAL else auto)


class _Warnings:
    def __init__(self) -> None:
        self.items: list[Diagnostic] = []

    def __call__(self, message: str, span: Span) -> None:
        diagnostic = Diagnostic(Severity.WARNING, message, span, None, "export")
        if diagnostic not in self.items:  # a statement in `defaults` speaks for every group
            self.items.append(diagnostic)


def to_pacemaker(config: Config) -> tuple[PacemakerConfig, list[Diagnostic]]:
    warn = _Warnings()
    cluster = config.cluster
    groups, locations, colocations = [], [], []
    for group in config.groups:
        try:
            numbers = scores(group)
        except ScoresTooLarge as exc:
            raise ConfigError(config.source, [Diagnostic(
                Severity.ERROR, str(exc), group.where("avoid") if group.avoid else group.span,
                "avoid fewer groups, or give the group fewer candidates", "export")]) from None
        groups.append(_group(group, cluster.name, numbers, warn))
        for node, score in zip(group.candidates, numbers.candidates, strict=True):
            locations.append(Location(f"{group.name}-on-{node}", group.name, node, score))
        for node in cluster.nodes:
            if node not in group.candidates:
                locations.append(Location(f"{group.name}-not-on-{node}", group.name, node,
                                          -INFINITY))
        if group.kind is Kind.INSTANCE:
            # Offline mode: the application may run on the preferred node only; elsewhere
            # the group's VIP runs alone (a group stops at its first member that cannot run).
            for node in cluster.nodes:
                if node != group.preferred:
                    locations.append(Location(f"{group.name}-app-not-on-{node}",
                                              f"{group.name}-app", node, -INFINITY))
            warn(f"instance group: on {', '.join(group.possible) or 'no other node'} "
                 "Pacemaker holds the VIP without the application, as crg's offline mode "
                 "does; unlike crg it brings the group back to its preferred node whenever "
                 "the application can run there (whatever failback says), "
                 "keeps the VIP there once the restart budget is spent, and ignores an "
                 "operator's move to another node (crm_resource accepts it, exit 0; crg "
                 "switchover moves the group there in offline mode)",
                 group.where("kind"))
        for other in group.avoid:
            colocations.append(Colocation(f"{group.name}-avoids-{other}", group.name, other,
                                          -numbers.avoid_penalty))
        _unmapped(group, warn)
    if config.groups:
        # Said once: it holds for every group.
        warn("restarts: once a group's budget is spent on every candidate that is up, crg "
             "blocks it (VIP held, application stopped, one blocked alert) until a clean-up, "
             "the window or a node's return; Pacemaker's migration-threshold bans the "
             "application everywhere as well and keeps the VIP up until 'pcs resource "
             "cleanup', the failure-timeout or a node rejoining, but raises no blocked alert "
             "(alert agents see each failed monitor), and with failback auto it moves the "
             "VIP alone to the preferred node", config.groups[0].where("restarts"))
    _check_ids(config, groups)
    ids = Ids([*(g.id for g in groups), *(m.id for g in groups for m in g.members)])
    locations = [replace(c, id=ids.take(c.id)) for c in locations]
    colocations = [replace(c, id=ids.take(c.id)) for c in colocations]
    properties = [("symmetric-cluster", "false"), ("stonith-enabled", "false"),
                  ("cluster-name", cluster.name)]
    unfenced = [g for g in config.groups if g.fencing is Fencing.NONE]
    if unfenced and len(unfenced) == len(config.groups):
        # Every group keeps running when cut off: the cluster-wide policy that says so.
        properties.append(("no-quorum-policy", "ignore"))
    else:
        if unfenced:
            warn("fencing none has no per-resource counterpart: Pacemaker's no-quorum-policy "
                 "is cluster-wide and the other groups fence themselves; exported as 'stop' "
                 "(a node without quorum stops its groups, as fencing self does)",
                 unfenced[0].where("fencing"))
        properties.append(("no-quorum-policy", "stop"))
    warn("stonith-enabled=false: crg's fencing self has no counterpart in the CIB; configure "
         "a fencing device and set stonith-enabled=true before production", cluster.span)
    timings = [k for k in TIMING_DEFAULTS_MS if k in cluster.spans]
    if timings:
        warn(f"{', '.join(timings)}: cluster timing is corosync's (totem token, in "
             "corosync.conf), not the CIB's; not exported", cluster.where(timings[0]))
    result = PacemakerConfig(cluster.name, cluster.nodes, tuple(properties), tuple(groups),
                             tuple(locations), tuple(colocations),
                             tuple(replace(a, id=ids.take(a.id))
                                   for a in _alerts(config, warn)), config.source.path)
    _check_characters(config, result)
    return result, warn.items


_NOT_IN_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
"""What XML 1.0 cannot hold, not even as a character reference."""


def _check_characters(config: Config, exported: PacemakerConfig) -> None:
    """A control character in a command (an escape sequence, a bell) cannot be written in
    a CIB, and pcs refuses it: bad input for the export, at its group."""
    texts = [(config.group(g.id).app.span, f"group {g.id}'s {m.id} {name}", value)
             for g in exported.groups for m in g.members for name, value in m.params]
    texts += [(config.cluster.span, f"alert {a.id}'s path", a.path) for a in exported.alerts]
    for span, what, value in texts:
        found = _NOT_IN_XML.search(value)
        if found:
            raise ConfigError(config.source, [Diagnostic(
                Severity.ERROR, f"{what} holds the control character "
                                f"U+{ord(found.group()):04X}, which a CIB cannot hold (XML "
                                "1.0 has no way to write it)", span, None, "export")])


def _group(group: CrgGroup, cluster: str, numbers: Scores, warn: _Warnings) -> Group:
    vip_params = [("ip", group.vip.address), ("cidr_netmask", str(group.vip.prefix))]
    if group.vip.device:
        vip_params.append(("nic", group.vip.device))
    vip = Primitive(f"{group.name}-vip", "ocf", "heartbeat", "IPaddr2", tuple(vip_params),
                    VIP_OPS)
    app = app_primitive(group, cluster, warn)
    meta = [("resource-stickiness", str(numbers.stickiness)),
            # crg restarts R times, then fails over: the (R+1)th failure moves the group.
            ("migration-threshold", str(group.restarts + 1)),
            ("failure-timeout", seconds_text(group.restart_window_ms))]
    return Group(group.name, (vip, app), tuple(meta))


def _unmapped(group: CrgGroup, warn: _Warnings) -> None:
    for hook in group.hooks:
        warn(f"hook {hook.kind.value}: Pacemaker has no service events between groups; "
             "not exported", hook.span)
    if group.hooks:
        return
    # Without hooks, notify has no effect an operator can see; with hooks it is named above.


def _alerts(config: Config, warn: _Warnings) -> tuple[Alert, ...]:
    """Command sinks become Pacemaker alert agents (cluster-wide, called for every node,
    resource and fencing event with CRM_alert_* variables, not for crg's last-node and
    blocked alerts with CRG_*)."""
    paths: dict[str, Alert] = {}
    for group in config.groups:
        for sink in group.alerts:
            if sink.kind is SinkKind.LOG:
                continue  # Pacemaker logs every resource event itself
            if sink.kind is SinkKind.WEBHOOK:
                warn("alert webhook: Pacemaker has no webhook alert agent; not exported",
                     sink.span)
                continue
            # Split as crg splits the command to run it (shell words): a quoted path with
            # a space is one word.
            argv = shlex.split(sink.target or "")
            path = argv[0] if argv else ""
            message = ("alert command: exported as a cluster-wide Pacemaker alert agent, "
                       "called for every node, resource and fencing event with CRM_alert_* "
                       "variables (crg calls it for the last-node, blocked and stranded "
                       "alerts, with CRG_*)")
            if len(argv) > 1:
                message += (f"; Pacemaker runs the path {shlex.quote(path)} alone, so the "
                            f"arguments are dropped ({shlex.join(argv[1:])}; an alert's "
                            "instance_attributes would reach it as environment variables)")
            warn(message, sink.span)
            if path and path not in paths:
                paths[path] = Alert(f"alert-{len(paths) + 1}", path)
    return tuple(paths.values())


def _check_ids(config: Config, groups: list[Group]) -> None:
    """Pacemaker ids share one namespace; ``web-vip`` the group and ``web``'s VIP would
    clash. Such a name is bad input for the export."""
    seen: dict[str, str] = {}
    for group in groups:
        for rid in (group.id, *(m.id for m in group.members)):
            if rid in seen:
                raise ConfigError(config.source, [Diagnostic(
                    Severity.ERROR,
                    f"the Pacemaker id '{rid}' would name both {seen[rid]} and a resource of "
                    f"group {group.id}; rename one of the groups",
                    config.group(group.id).span, None, "export")])
            seen[rid] = f"a resource of group {group.id}"
