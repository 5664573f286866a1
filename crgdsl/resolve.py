"""From the syntax tree to a validated :class:`Config`, collecting every problem on the way."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from crg.dsl import builtin_defaults as D
from crg.dsl import misread, values
from crg.dsl.diagnostics import Collector, and_list, did_you_mean
from crg.dsl.export import duration_text
from crg.dsl.misread import Misread
from crg.dsl.model import (
    App,
    Cluster,
    Config,
    Failback,
    Fault,
    Fencing,
    Group,
    Kind,
    Monitor,
    MonitorKind,
    OtherGroups,
    Sink,
    SinkKind,
    Vip,
)
from crg.dsl.source import NO_SPAN, Source, Span
from crg.dsl.syntax import (
    AppStmt,
    AssumeDownStmt,
    AssumeFaultsStmt,
    ClusterBlock,
    DefaultsBlock,
    Document,
    GroupBlock,
    GroupStmt,
    ListStmt,
    MonitorStmt,
    Name,
    NodesStmt,
    RestartsStmt,
    SinkStmt,
    TimingStmt,
    VipStmt,
    WordStmt,
)

_REPEATABLE = ("monitor", "alert", "hook")
_NOT_IN_DEFAULTS = ("vip", "preferred", "possible", "avoid")


def keyword_of(stmt: GroupStmt) -> str:
    if isinstance(stmt, WordStmt | ListStmt | SinkStmt):
        return stmt.keyword
    return {VipStmt: "vip", AppStmt: "app", MonitorStmt: "monitor",
            RestartsStmt: "restarts"}[type(stmt)]


@dataclass
class Settings:
    """Interpreted statements of one block (a group, or the defaults)."""

    values: dict[str, Any] = field(default_factory=dict)
    spans: dict[str, Span] = field(default_factory=dict)
    names: dict[str, tuple[Name, ...]] = field(default_factory=dict)
    """Unresolved references (preferred, possible, notify, avoid) for later checks."""
    misread: set[str] = field(default_factory=set)
    """Statements found misspelt inside a list: their absence is not reported again."""


def interpret(statements: Sequence[GroupStmt], diag: Collector, *, in_defaults: bool) -> Settings:
    out = Settings()
    for stmt in statements:
        word = keyword_of(stmt)
        if in_defaults and word in _NOT_IN_DEFAULTS:
            diag.error(f"'{word}' cannot be set in defaults; it belongs to each group",
                       stmt.span, code="defaults")
            continue
        if word not in _REPEATABLE and word in out.spans:
            diag.error(f"'{word}' given twice (first at {out.spans[word]})", stmt.span,
                       code="duplicate")
            continue
        out.spans.setdefault(word, stmt.span)
        if isinstance(stmt, WordStmt):
            _word(stmt, out, diag)
        elif isinstance(stmt, ListStmt):
            out.names[stmt.keyword] = stmt.names
        elif isinstance(stmt, VipStmt):
            out.values["vip"] = values.vip(stmt, diag)
        elif isinstance(stmt, AppStmt):
            out.values["app"] = values.app(stmt, diag)
        elif isinstance(stmt, MonitorStmt):
            out.values.setdefault("monitor", []).append(values.monitor(stmt, diag))
        elif isinstance(stmt, RestartsStmt):
            out.values["restarts"] = values.count(stmt.count, "restarts", diag, 0,
                                                  values.MAX_RESTARTS)
            if stmt.window is not None:
                out.values["within"] = values.positive_ms(stmt.window, "restart window", diag)
        else:
            out.values.setdefault(stmt.keyword, []).append(values.sink(stmt, diag))
    return out


def _word(stmt: WordStmt, out: Settings, diag: Collector) -> None:
    if stmt.keyword == "preferred":
        out.names["preferred"] = (stmt.value,)
    elif stmt.keyword == "kind":
        out.values["kind"] = values.enum_value(Kind, stmt.value, "group kind", diag)
    elif stmt.keyword == "failback":
        out.values["failback"] = values.enum_value(Failback, stmt.value, "failback policy", diag)
    else:
        out.values["fencing"] = values.enum_value(Fencing, stmt.value, "fencing mode", diag)


class Resolver:
    def __init__(self, source: Source, diag: Collector) -> None:
        self.source = source
        self.diag = diag
        self.nodes_misread = False
        self._vips: list[tuple[str, Vip]] = []
        """Every group block's VIP that parsed, with the group's name: also those of the
        groups that another error leaves out, so that a VIP used twice is reported in the
        same run as the other errors."""
        self._every: tuple[dict[str, Span], tuple[str, ...], frozenset[str]] | None = None

    def resolve(self, document: Document) -> Config | None:
        clusters = [b for b in document.blocks if isinstance(b, ClusterBlock)]
        defaults = [b for b in document.blocks if isinstance(b, DefaultsBlock)]
        groups = [b for b in document.blocks if isinstance(b, GroupBlock)]
        if not clusters:
            self.diag.error("no cluster block", Span.point(1, 1),
                            hint="start the file with: cluster NAME { nodes n1 n2 }",
                            code="missing")
        for extra in clusters[1:]:
            self.diag.error(f"second cluster block (the first is at {clusters[0].span})",
                            extra.span, hint="one file describes one cluster", code="duplicate")
        for extra_d in defaults[1:]:
            self.diag.error(f"second defaults block (the first is at {defaults[0].span})",
                            extra_d.span, code="duplicate")
        cluster = self.cluster(clusters[0], _placed_nodes(groups)) if clusters else None
        base = (interpret(defaults[0].statements, self.diag, in_defaults=True) if defaults
                else Settings())
        group_names = self._group_names(groups)
        self._split_lists(base, set(), group_names)
        for ref in base.names.get("notify", ()):
            if ref.text not in group_names and ref.text not in D.RESERVED_GROUP_NAMES:
                self.unknown_group(ref, "notify", group_names)
        # A misspelt `nodes` statement leaves the nodes unknown: checking the groups'
        # nodes against an empty list would only repeat that one error many times.
        placing = None if self.nodes_misread else cluster
        resolved = [self.group(g, base, placing, group_names) for g in groups]
        if not groups:
            self.diag.warning("no groups defined", clusters[0].span if clusters
                              else Span.point(1, 1), code="empty")
        final = tuple(g for g in resolved if g is not None)
        if cluster is not None:
            self._cross_checks(final, cluster, _placed_nodes(groups))
        if cluster is None or self.diag.has_errors:
            return None
        warnings = tuple(d for d in self.diag.items if not d.is_error)
        return Config(cluster, final, self.source, warnings)

    # -- cluster ---------------------------------------------------------------------

    def cluster(self, block: ClusterBlock, placed: set[str]) -> Cluster:
        """``placed``: the nodes that groups name as preferred or possible."""
        spans: dict[str, Span] = {}
        misspelt: set[str] = set()
        nodes: list[str] = []
        node_spans: dict[str, Span] = {}
        timing = {"lease": D.LEASE_MS, "heartbeat": D.HEARTBEAT_MS,
                  "store-timeout": D.STORE_TIMEOUT_MS, "fence-margin": D.FENCE_MARGIN_MS}
        max_down = D.MAX_DOWN
        max_down_text = str(max_down)
        faults = set(D.FAULTS)
        for stmt in block.statements:
            word = _cluster_word(stmt)
            if word in spans:
                self.diag.error(f"'{word}' given twice (first at {spans[word]})", stmt.span,
                                code="duplicate")
                continue
            spans[word] = stmt.span
            if isinstance(stmt, NodesStmt):
                for name in self._node_names(stmt, placed, misspelt):
                    if name.text in node_spans:
                        self.diag.error(f"node '{name.text}' listed twice", name.span,
                                        code="duplicate")
                        continue
                    node_spans[name.text] = name.span
                    nodes.append(name.text)
            elif isinstance(stmt, TimingStmt):
                timing[stmt.keyword] = values.positive_ms(stmt.value, stmt.keyword, self.diag)
            elif isinstance(stmt, AssumeDownStmt):
                max_down = values.count(stmt.count, "nodes down", self.diag, 0)
                max_down_text = values.shown(stmt.count.text)
            else:
                faults = set()
                kinds = {f.value for f in Fault}
                names, found = misread.split(stmt.names, "assume faults", "cluster",
                                             _member_of(kinds), kinds)
                misspelt |= self._report(found)
                for name in names:
                    fault = values.enum_value(Fault, name, "fault kind", self.diag)
                    if fault in faults:  # harmless, but a slip for another kind, perhaps
                        self.diag.warning(f"fault kind '{name.text}' listed twice", name.span,
                                          code="assumption")
                    elif fault is not None:
                        faults.add(fault)
        self.nodes_misread = not nodes and "nodes" in misspelt
        if not nodes and not self.nodes_misread:
            self.diag.error(f"cluster '{block.name.text}' has no nodes", block.span,
                            hint="add a line such as: nodes n1 n2 n3", code="missing")
        elif nodes and max_down > len(nodes):
            self.diag.error(f"cannot assume {max_down_text} nodes down: the cluster has only "
                            f"{len(nodes)}", spans.get("assume-down", block.span), code="value")
        elif max_down == len(nodes) and max_down > 0:
            self.diag.warning("every node may be down at once, so no group can keep its VIP",
                              spans.get("assume-down", block.span), code="assumption")
        self._timing_rule(timing, spans, block)
        return Cluster(block.name.text, tuple(nodes), timing["lease"], timing["heartbeat"],
                       timing["store-timeout"], timing["fence-margin"], max_down,
                       frozenset(faults), block.span, spans, node_spans)

    def _node_names(self, stmt: NodesStmt, placed: set[str],
                    misspelt: set[str]) -> tuple[Name, ...]:
        """The names of a ``nodes`` statement without a misspelt statement that followed it.

        Any name is a valid node, so a name is only taken for a statement (``asume faults
        crash`` after the list) if no group uses it, it starts a line, and the name after it
        is not used by a group either.
        """
        names = stmt.names
        unused = {i for i, n in enumerate(names) if n.text not in placed}
        suspects = {id(names[i]) for i in unused
                    if i + 1 in unused and self._starts_line(names[i])}
        keep, found = misread.split(names, "nodes", "cluster", lambda n: id(n) not in suspects,
                                    [n.text for n in names])
        misspelt |= self._report(found)
        return keep

    def _starts_line(self, name: Name) -> bool:
        return self.source.line(name.span.line)[: name.span.column - 1].strip() == ""

    def _report(self, found: Sequence[Misread]) -> set[str]:
        for entry in found:
            self.diag.error(entry.message, entry.name.span, hint=entry.hint, code="syntax")
        return {entry.keyword for entry in found}

    def _split_lists(self, settings: Settings, nodes: set[str],
                     group_names: dict[str, Span]) -> None:
        """Take misspelt statements out of the lists of one block (see crg.dsl.misread)."""
        for keyword, names in list(settings.names.items()):
            if keyword == "preferred":
                continue
            known = set(nodes) if keyword == "possible" else {*group_names,
                                                              *D.RESERVED_GROUP_NAMES}
            settings.names[keyword], found = misread.split(names, keyword, "group",
                                                           _member_of(known), known)
            settings.misread |= self._report(found)

    def _timing_rule(self, timing: dict[str, int], spans: dict[str, Span],
                     block: ClusterBlock) -> None:
        # Self-fencing is only safe if a node notices a lost lease and fences itself before
        # the lease can expire: one heartbeat, two store timeouts (the failed renewal and a
        # retry), then the fence itself, all within the lease (cf. Patroni's
        # loop_wait + 2 * retry_timeout <= ttl).
        need = (timing["heartbeat"] + 2 * timing["store-timeout"] + timing["fence-margin"])
        if all(values.in_range_ms(ms) for ms in timing.values()) and need > timing["lease"]:
            self.diag.error(
                f"lease {duration_text(timing['lease'])} is too short: heartbeat + 2 x "
                f"store-timeout + fence-margin = {duration_text(need)} must not exceed it",
                spans.get("lease", block.span),
                hint=f"raise the lease to at least {duration_text(need)} or shorten the "
                     "others",
                code="timing")

    # -- groups ----------------------------------------------------------------------

    def _group_names(self, groups: Sequence[GroupBlock]) -> dict[str, Span]:
        seen: dict[str, Span] = {}
        for g in groups:
            name = g.name
            if name.text in D.RESERVED_GROUP_NAMES:
                self.diag.error(f"'{name.text}' is reserved and cannot name a group", name.span,
                                code="value")
            if name.text in seen:
                self.diag.error(f"group '{name.text}' defined twice (first at "
                                f"{seen[name.text]})", name.span, code="duplicate")
                continue
            seen[name.text] = name.span
        return seen

    def group(self, block: GroupBlock, base: Settings, cluster: Cluster | None,
              group_names: dict[str, Span]) -> Group | None:
        own = interpret(block.statements, self.diag, in_defaults=False)
        nodes = set(cluster.nodes) if cluster else set()
        self._split_lists(own, nodes, group_names)
        misspelt = own.misread | base.misread

        def get(key: str, default: Any) -> Any:  # the group's own statement wins
            return own.values.get(key, base.values.get(key, default))

        name = block.name.text
        preferred = self._preferred(block, own, nodes, cluster, misspelt)
        possible = self._possible(own, nodes, cluster, preferred)
        notify = self._group_refs("notify", own, base, name, group_names)
        avoid = tuple(self._group_refs("avoid", own, base, name, group_names))
        vip: Vip | None = own.values.get("vip")
        if vip is not None:
            self._vips.append((name, vip))
        if "vip" not in own.spans and "vip" not in misspelt:
            self.diag.error(f"group '{name}' has no vip", block.name.span,
                            hint="add a line such as: vip 10.0.0.10/24", code="missing")
        app: App | None = get("app", None)
        if "app" not in own.spans and "app" not in base.spans and "app" not in misspelt:
            self.diag.error(f"group '{name}' has no app", block.name.span,
                            hint='add: app { start "..." }', code="missing")
        monitors: list[Monitor | None] = get("monitor", [])
        if not monitors and "monitor" not in misspelt:
            self.diag.error(f"group '{name}' has no monitor", block.name.span,
                            hint="add at least one, e.g.: monitor process", code="missing")
        alerts: list[Sink | None] = get("alert", [Sink(SinkKind.LOG, None, NO_SPAN)])
        hooks: list[Sink | None] = get("hook", [])
        kind = get("kind", D.KIND)
        failback = get("failback", D.FAILBACK)
        fencing = get("fencing", D.FENCING)
        if (vip is None or app is None or preferred is None or None in monitors
                or None in alerts or None in hooks or kind is None or failback is None
                or fencing is None):
            return None
        spans = {**base.spans, **own.spans}
        group = Group(
            name=name, kind=kind, vip=vip, app=app,
            monitors=tuple(m for m in monitors if m is not None),
            preferred=preferred, possible=possible, failback=failback,
            restarts=get("restarts", D.RESTARTS),
            restart_window_ms=get("within", D.RESTART_WINDOW_MS),
            notify=notify, avoid=avoid,
            alerts=tuple(a for a in alerts if a is not None),
            hooks=tuple(h for h in hooks if h is not None),
            fencing=fencing, span=block.span, spans=spans,
        )
        self._vip_in_urls(group)
        self._group_warnings(group, block, cluster)
        return group

    def _vip_in_urls(self, group: Group) -> None:
        """``{vip}`` as a URL's host: the runtime puts the bare address there, so an IPv6
        VIP needs the brackets written around the placeholder (and an IPv4 one none), or
        the monitor fails every check and the webhook is never reached."""
        version = group.vip.interface.version
        urls = [("http target", m.target, m.span) for m in group.monitors
                if m.kind is MonitorKind.HTTP and m.target is not None]
        urls += [("webhook", s.target, s.span) for s in (*group.alerts, *group.hooks)
                 if s.kind is SinkKind.WEBHOOK and s.target is not None]
        for what, target, span in urls:
            if values.url_problem(target) is not None:
                continue  # reported as it is
            problem = values.vip_host_problem(target, version)
            if problem is not None:
                sentence, fixed = problem
                self.diag.error(f"{what} '{target}' of group '{group.name}' {sentence} "
                                f"(the VIP is {group.vip.address})", span,
                                hint=f'write "{fixed}"', code="value")

    def _preferred(self, block: GroupBlock, own: Settings, nodes: set[str],
                   cluster: Cluster | None, misspelt: set[str]) -> str | None:
        names = own.names.get("preferred")
        if not names and "preferred" in misspelt:
            return None
        if not names:
            self.diag.error(f"group '{block.name.text}' has no preferred node", block.name.span,
                            hint="add a line such as: preferred n1", code="missing")
            return None
        name = names[0]
        if cluster is not None and name.text not in nodes:
            self._unknown_node(name, cluster)
            return None
        return name.text

    def _possible(self, own: Settings, nodes: set[str], cluster: Cluster | None,
                  preferred: str | None) -> tuple[str, ...]:
        seen: dict[str, Span] = {}
        for name in own.names.get("possible", ()):
            if cluster is not None and name.text not in nodes:
                self._unknown_node(name, cluster)
            elif name.text == preferred:
                self.diag.error(f"'{name.text}' is the preferred node and cannot also be a "
                                "possible node", name.span,
                                hint="possible nodes are the standbys tried after the "
                                "preferred one", code="reference")
            elif name.text in seen:
                self.diag.error(f"node '{name.text}' listed twice (first at "
                                f"{seen[name.text]})", name.span, code="duplicate")
            else:
                seen[name.text] = name.span
        return tuple(seen)

    def _unknown_node(self, name: Name, cluster: Cluster) -> None:
        self.diag.error(f"unknown node '{name.text}'", name.span,
                        hint=did_you_mean(name.text, cluster.nodes), code="unknown-node")

    def _others(self, group_names: dict[str, Span], name: str) -> OtherGroups:
        """Every group but ``name``: one shared list for all the groups (linear, not
        quadratic, in the number of groups)."""
        if self._every is None or self._every[0] is not group_names:
            self._every = (group_names, tuple(group_names), frozenset(group_names))
        return OtherGroups(self._every[1], self._every[2], name)

    def _group_refs(self, keyword: str, own: Settings, base: Settings, name: str,
                    group_names: dict[str, Span]) -> Sequence[str]:
        inherited = keyword not in own.names
        refs = own.names.get(keyword, base.names.get(keyword))
        if refs is None:
            return self._others(group_names, name) if keyword == "notify" else ()
        words = [r.text for r in refs]
        if "all" in words or "none" in words:
            if len(words) > 1:
                self.diag.error(f"'{keyword} all' and '{keyword} none' stand alone",
                                refs[0].span, code="value")
            if keyword == "notify":
                return self._others(group_names, name) if words[0] == "all" else ()
            self.diag.error(f"'avoid' takes group names, not '{words[0]}'", refs[0].span,
                            code="value")
            return ()
        out: list[str] = []
        for ref in refs:
            if ref.text == name:
                if not inherited:
                    self.diag.error(f"group '{name}' cannot {keyword} itself", ref.span,
                                    code="reference")
                continue
            if ref.text not in group_names:
                if not inherited:  # the defaults block's names are checked once, in resolve()
                    self.unknown_group(ref, keyword, group_names)
                continue
            if ref.text in out:
                self.diag.error(f"group '{ref.text}' listed twice", ref.span, code="duplicate")
                continue
            out.append(ref.text)
        return tuple(out)

    def unknown_group(self, ref: Name, keyword: str, group_names: dict[str, Span]) -> None:
        self.diag.error(f"unknown group '{ref.text}' in '{keyword}'", ref.span,
                        hint=did_you_mean(ref.text, group_names), code="unknown-group")

    def _group_warnings(self, group: Group, block: GroupBlock, cluster: Cluster | None) -> None:
        if not group.possible:
            self.diag.warning(f"group '{group.name}' has no possible node: it cannot fail over",
                              group.where("preferred"),
                              hint=_standby_hint(group, cluster), code="no-standby")
        if (cluster is not None and group.possible and cluster.faults & _TAKES_A_NODE_OUT
                and len(group.candidates) <= cluster.max_down < len(cluster.nodes)):
            # Its every node may be out at once within the assumption: crg check will say
            # coverage, after however long the rest of the check takes; say it now.
            n = len(group.candidates)
            self.diag.warning(
                f"group '{group.name}' runs on {n} nodes ({', '.join(group.candidates)}) and "
                f"the cluster assumes at most {cluster.max_down} nodes down: with "
                f"{'both' if n == 2 else f'all {n}'} out it has nowhere to run (crg check "
                "reports coverage)", group.where("possible"),
                hint=f"add a possible node, or assume at most {n - 1} "
                     f"node{'' if n - 1 == 1 else 's'} down", code="too-few-nodes")
        if (cluster is not None and group.fencing is Fencing.NONE
                and Fault.PARTITION not in cluster.faults):
            explored = ", ".join(sorted(f.value for f in cluster.faults))
            self.diag.warning(
                f"group '{group.name}' does not fence itself, and partitions are not "
                "explored: a node cut off from the store would keep the VIP while another "
                "takes the group over, and crg check does not look at that case",
                group.where("fencing") if "fencing" in group.spans else block.name.span,
                hint=f"explore it with: assume faults {explored}, partition (or use "
                     "fencing self)", code="fencing-unexplored")
        # Without a possible node the instance never leaves home (its VIP has nowhere to
        # wait offline): back with its node, it runs there again, whatever the failback.
        if group.kind is Kind.INSTANCE and group.failback is Failback.MANUAL and group.possible:
            self.diag.warning(f"instance group '{group.name}' has manual failback: after its "
                              "preferred node returns it stays offline until a switchover",
                              group.where("failback") if "failback" in group.spans
                              else block.name.span, code="offline-forever")

    def _cross_checks(self, groups: Sequence[Group], cluster: Cluster,
                      placed: set[str]) -> None:
        """``placed``: the nodes that group blocks name, valid or not — a group left out
        for an error of its own still uses its nodes (no 'unused node' for them)."""
        by_address: dict[str, tuple[str, Vip]] = {}
        for name, vip in self._vips:
            address = vip.address
            if address in by_address:
                first, first_vip = by_address[address]
                self.diag.error(f"VIP {address} is already used by group '{first}' (at "
                                f"{first_vip.span})", vip.span, code="duplicate-vip")
            else:
                by_address[address] = (name, vip)
        self._unexplored_faults(groups, cluster)
        self._unheard_hooks(groups)
        for node in cluster.nodes:
            if node not in placed and groups:
                self.diag.warning(f"node '{node}' is no group's preferred or possible node",
                                  cluster.node_spans.get(node, cluster.span), code="unused-node")

    def _unheard_hooks(self, groups: Sequence[Group]) -> None:
        """Hooks that no event can reach: ``notify`` names the receivers of a group's
        events, and one read the other way round (the groups to hear from) leaves the
        receiver's hooks silent for ever."""
        heard: set[str] = set()
        to_all: list[str] = []  # OtherGroups: no n² names for notify all
        for group in groups:
            if isinstance(group.notify, OtherGroups):
                to_all.append(group.name)
            else:
                heard.update(group.notify)
        for group in groups:
            if not group.hooks or group.name in heard or [g for g in to_all[:2]
                                                          if g != group.name]:
                continue
            self.diag.warning(
                f"group '{group.name}' has hooks, but no group sends it service events: "
                "no group's notify names it", group.hooks[0].span,
                hint=f"notify names the groups that receive a group's events: add "
                     f"'{group.name}' to the notify of the groups it should hear from (or "
                     "give them notify all, the default)", code="unheard-hooks")

    def _unexplored_faults(self, groups: Sequence[Group], cluster: Cluster) -> None:
        """A fault kind the file assumes that can never happen in it: crg check explores
        nothing of it, which a reader of ``assume faults`` would not guess."""
        given = "assume-faults" in cluster.spans
        out = sorted(f.value for f in cluster.faults & _TAKES_A_NODE_OUT)
        if cluster.max_down == 0 and out:
            none = f"no {out[0]}" if len(out) == 1 else "none of them"
            self.diag.warning(
                f"{and_list(out)} {'assumed' if given else 'assumed by default'}, but no node may "
                f"be out at once (assume at most 0 nodes down): crg check explores {none}",
                cluster.where("assume-faults" if given else "assume-down"),
                hint="assume at most 1 node down" + (", or leave them out of assume faults"
                                                      if given else ""),
                code="assumption")
        # Only when named: by default every kind is assumed, and a group without standbys
        # has its own warning (no-standby).
        if (given and Fault.SWITCHOVER in cluster.faults and groups
                and all(len(g.candidates) < 2 for g in groups)):
            self.diag.warning(
                "switchovers assumed, but no group has a second node to switch to: crg "
                "check explores none", cluster.where("assume-faults"),
                hint="give a group a possible node, or leave switchover out of assume faults",
                code="assumption")


_TAKES_A_NODE_OUT = frozenset({Fault.CRASH, Fault.PARTITION, Fault.DRAIN})
"""Fault kinds that take a node out of service, which ``assume at most K nodes down``
bounds (SPEC.md section 6, and the invariant events-enabled)."""


def _member_of(known: set[str]) -> Callable[[Name], bool]:
    return lambda name: name.text in known


def _placed_nodes(groups: Sequence[GroupBlock]) -> set[str]:
    """The node names that any group gives as its preferred or possible node."""
    out: set[str] = set()
    for group in groups:
        for stmt in group.statements:
            if isinstance(stmt, WordStmt) and stmt.keyword == "preferred":
                out.add(stmt.value.text)
            elif isinstance(stmt, ListStmt) and stmt.keyword == "possible":
                out |= {n.text for n in stmt.names}
    return out


def _cluster_word(stmt: object) -> str:
    if isinstance(stmt, NodesStmt):
        return "nodes"
    if isinstance(stmt, TimingStmt):
        return stmt.keyword
    if isinstance(stmt, AssumeDownStmt):
        return "assume-down"
    assert isinstance(stmt, AssumeFaultsStmt)
    return "assume-faults"


def _standby_hint(group: Group, cluster: Cluster | None) -> str:
    """``add standbys with: possible n2, n3``, with the cluster's own other nodes."""
    others = [n for n in (cluster.nodes if cluster is not None else ()) if n != group.preferred]
    if not others:
        return "add a node to the cluster, then standbys with: possible NODE"
    return f"add standbys with: possible {', '.join(others[:2])}"
