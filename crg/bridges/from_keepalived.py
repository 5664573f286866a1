"""keepalived configurations as a crg draft (``crg import keepalived``).

Each file is one node's ``keepalived.conf`` (named by ``global_defs { router_id }``, else
by the file name). Each VRRP instance becomes a group: its first virtual address is the
VIP, the nodes that run the instance are its candidates in order of priority (``state
MASTER`` first among equals, then the order of the files, with a warning: keepalived
breaks a tie by address), ``nopreempt`` kept by the preferred node is ``failback manual``
(:mod:`keepalived_preempt`: keepalived clears it for a MASTER and for priority 255), a
tracked
``vrrp_script`` is an ``exec`` monitor with its interval, timeout and ``fall``, and the
address moves at the first fault as keepalived's does (``restarts 0``).

keepalived moves addresses and runs no application, but a crg group has one: the import
writes ``sleep infinity`` in its place, which holds the group's VIP and nothing else, and
says so. ``notify_fault`` becomes an alert command; the other notify scripts are named in
comments (crg runs a group's start command where it comes up and its stop command where
it leaves: that is where they belong). With a single file the peers are not known: they
are named after the instance's ``unicast_peer`` (else the file's other instances', else
one ``peer``) and assumed to mirror this node (its MASTER instances prefer it, its BACKUP
ones a peer, with its nopreempt), and a warning and a comment say so.

An ``include`` is followed as keepalived follows it (:mod:`keepalived_include`): what the
included files hold is the including file's node's, and what is said of their text names
them, at their lines.
"""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass, field

from crg.bridges.crg_writer import Draft, DraftGroup, crg_name, literal
from crg.bridges.import_notes import Notes, said_with_errors
from crg.bridges.import_secrets import masked_keepalived
from crg.bridges.keepalived_include import IncludedFile, Reader, read_keepalived
from crg.bridges.keepalived_preempt import Preemption, failback, read_preemption
from crg.bridges.keepalived_syntax import Stmt, Token, error_at
from crg.dsl import Source
from crg.dsl.export import duration_text
from crg.dsl.source import NO_SPAN, Span
from crg.files import STDIN_NAME

PLACEHOLDER_APP = 'app {\n  start "sleep infinity"\n}'
NO_INSTANCE = ("crg imports each 'vrrp_instance NAME { ... }' block as a group, with at "
               "least 'virtual_ipaddress { ADDRESS/PREFIX }' inside, one statement a line")
_WHY = {
    "virtual_router_id": " (VRRP's own: crg agrees on owners through its store)",
    "authentication": " (VRRP's own: crg agrees on owners through its store)",
    "advert_int": " (failure detection: crg's lease and heartbeat, in the cluster block)",
    "unicast_src_ip": " (VRRP's own: crg agrees on owners through its store)",
}
MAPPED_INSTANCE = {"state", "priority", "interface", "virtual_ipaddress", "nopreempt",
                   "preempt", "track_script", "notify_fault", "unicast_peer"}


class _Said:
    """The import's warnings, one :class:`Notes` a file: a statement read from an included
    file is warned about in that file, at its own line."""

    def __init__(self, notes: list[Notes]) -> None:
        self.notes = notes
        self._by_path: dict[str, Notes] = {}

    def of(self, source: Source) -> Notes:
        """``source``'s notes, added to the list the first time (in the order the files
        are first warned about: each node's own file is, first of its files)."""
        if (found := self._by_path.get(source.path)) is None:
            found = self._by_path[source.path] = Notes(source)
            self.notes.append(found)
        return found

    def add(self, at: Token | Stmt, message: str, comments: list[str] | None = None) -> str:
        return self.of(at.source).add(at.span, message, comments)


@dataclass
class _Instance:
    node: str
    statement: Stmt
    said: _Said
    preemption: Preemption
    read_as: list[str] = field(default_factory=list)
    """What was said of how keepalived reads its state and nopreempt."""

    @property
    def priority(self) -> int:
        return self.preemption.priority

    @property
    def master(self) -> bool:
        return self.preemption.master


@dataclass
class _Node:
    name: str
    file: IncludedFile
    said: _Said
    scripts: dict[str, Stmt] = field(default_factory=dict)
    peers: dict[str, list[str]] = field(default_factory=dict)
    """Each instance's ``unicast_peer`` addresses, as node names (a single file's)."""

    def peers_of(self, instance: str) -> tuple[list[str], str]:
        """The peers assumed for ``instance`` when this file is the only one given, and
        where their names come from."""
        if own := self.peers.get(instance):
            return own, "its unicast_peer"
        others = list(dict.fromkeys(p for peers in self.peers.values() for p in peers))
        if others:
            return others, "the unicast_peer of the file's other instances"
        return ["peer"], "no unicast_peer in the file"


def from_keepalived(sources: list[Source], read: Reader) -> tuple[Draft, list[Notes]]:
    """The draft of ``sources``, one node's file each; ``read`` reads a file an include
    names."""
    notes: list[Notes] = []  # every file's so far: an error comes with what they say
    with said_with_errors(notes):
        draft = _read(sources, read, _Said(notes))
    return draft, notes


def _read(sources: list[Source], read: Reader, said: _Said) -> Draft:
    nodes: list[_Node] = []
    # Said while the includes are followed, before the draft exists: its comments then.
    included_comments: list[str] = []

    def warn(at: Token, message: str) -> None:
        said.add(at, message, included_comments)

    for source in sources:
        said.of(masked_keepalived(source))  # the node's own file's warnings first
        nodes.append(_node(read_keepalived(source, read, warn), said))
    _given_and_included(nodes)
    names = [n.name for n in nodes]
    for index, node in enumerate(nodes):
        if node.name in names[:index]:
            # An empty file is named by its file name: its first line stands for it.
            hint = "give each node's file its own router_id in global_defs"
            message = f"two files name the node '{node.name}'"
            if node.file.statements:
                raise error_at(node.file.statements[0], message, hint)
            raise node.file.error(Span.point(1, 1), message, hint)
    draft = Draft("keepalived", list(names))
    draft.included = [(i.path, i.keyword.source.path) for n in nodes for i in n.file.included]
    draft.comments.append("Imported by crg from " + ", ".join(map(_files, nodes))
                          + " (keepalived, one file per node).")
    draft.comments += included_comments
    _shared(nodes, said, draft)
    instances: dict[str, list[_Instance]] = {}
    for node in nodes:
        for statement in node.file.statements:
            _top_level(node, statement, instances, draft)
    if len(nodes) == 1:
        peers = list(dict.fromkeys(p for name in instances for p in nodes[0].peers_of(name)[0]))
        draft.nodes += peers
        draft.comments.append(
            f"Only {names[0]}'s file was given: the peers ({', '.join(peers)}) are assumed to "
            f"mirror it (an instance that is MASTER on {names[0]} prefers it, a BACKUP one "
            "the first peer, with the same nopreempt). Import every node's file to use their "
            "real priorities.")
    for name, found in instances.items():
        draft.groups.append(_group(name, found, nodes, draft))
    if not draft.groups:
        # What was left out (an include that matched nothing...) says why: shown with the
        # error, which points where the file ends (an instance would have come before).
        file = nodes[-1].file
        where = "" if len(nodes) == 1 else f" in any of the {len(nodes)} files"
        raise file.error(Span.point(*file.source.end()), f"no vrrp_instance to import{where}",
                         NO_INSTANCE)
    return draft


def _files(node: _Node) -> str:
    """The node's file, and those it includes, for the comment that says what was read."""
    included = list(dict.fromkeys(i.path for i in node.file.included))
    return node.file.source.path + (f" (with {', '.join(included)})" if included else "")


def _given_and_included(nodes: list[_Node]) -> None:
    """Refuse a node's file that another one includes. Given on the command line as well
    (as the import once advised), a conf.d fragment became a node of its own, named after
    the file, that runs the instances of the node that includes it."""
    given = {os.path.realpath(n.file.source.path): n for n in nodes
             if n.file.source.path != STDIN_NAME}
    for node in nodes:
        for inclusion in node.file.included:
            if (other := given.get(inclusion.real)) is not None:
                raise error_at(inclusion.keyword,
                               f"{inclusion.keyword.text} {inclusion.pattern}: reads "
                               f"{inclusion.path}, which is also given as a node's file "
                               f"({other.file.source.path}); what a file includes is part of "
                               "the node that includes it",
                               "give crg import each node's own keepalived.conf only: the "
                               "files it includes are read with it")


def _shared(nodes: list[_Node], said: _Said, draft: Draft) -> None:
    """Say where a file is included for two nodes. An include names a path on the machine
    the import runs on: the copies of two nodes' keepalived.conf that both include
    /etc/keepalived/conf.d/*.conf read the same files here, this machine's, where each
    node reads its own."""
    readers: dict[str, str] = {}
    for node in nodes:
        for inclusion in node.file.included:
            first = readers.setdefault(inclusion.real, node.name)
            if first != node.name:
                said.add(inclusion.keyword,
                         f"{inclusion.keyword.text} {inclusion.pattern}: {inclusion.path} is "
                         f"read for {first} too; an include is read on this machine, not on "
                         f"the node: if {node.name}'s own copy differs, import with the "
                         "include pointing at it", draft.comments)


def _node(file: IncludedFile, said: _Said) -> _Node:
    name = file.source.path.rsplit("/", 1)[-1].rsplit(".", 1)[0]
    defs = next((s for s in file.statements if s.name == "global_defs"), None)
    router_id = defs.find("router_id") if defs else None
    if router_id is not None and router_id.words:
        name = router_id.words[0]
    node = _Node(crg_name(name), file, said)
    if node.name != name:
        what = "router_id" if router_id is not None and router_id.words else "file name"
        said.of(router_id.source if router_id else file.source).add(
            router_id.span if router_id else NO_SPAN,
            f"{what} '{name}': node renamed {node.name} (not a crg name as it was)")
    for statement in file.statements:
        if statement.name == "vrrp_script" and statement.words:
            node.scripts[statement.words[0]] = statement
        if statement.name == "vrrp_instance" and statement.words:
            peer_block = statement.find("unicast_peer")
            peers = node.peers.setdefault(statement.words[0], [])
            for peer in (peer_block.children or []) if peer_block else []:
                peer_name = crg_name(f"peer-{peer.name}")
                if peer_name not in peers:
                    peers.append(peer_name)
    return node


def _top_level(node: _Node, statement: Stmt, instances: dict[str, list[_Instance]],
               draft: Draft) -> None:
    if statement.name == "vrrp_instance":
        if not statement.words or statement.children is None:
            raise error_at(statement, "vrrp_instance needs a name and a block")
        twice = next((i for i in instances.get(statement.words[0], ())
                      if i.node == node.name), None)
        if twice is not None:
            earlier = twice.statement
            here = earlier.source.path == statement.source.path
            if here and earlier.span == statement.span:
                # One file read twice: two includes (or one pattern's braces) match it.
                raise error_at(statement, f"vrrp_instance {statement.words[0]} is read twice: "
                                          f"its file is included twice for {node.name}",
                               "include each file once")
            where = f"line {earlier.span.line}" if here else f"{earlier.source.path}:{earlier.span}"
            # In another file: one the node's file includes, which keepalived reads in place.
            what = "this file" if here else f"{node.name}'s files"
            raise error_at(statement, f"vrrp_instance {statement.words[0]} is defined twice "
                                      f"in {what} (first at {where})",
                           "give each instance its own name")
        said: list[str] = []  # the group's comments too, once it exists
        preemption = read_preemption(node.name, statement,
                                     lambda at, message: said.append(node.said.add(at, message)))
        instances.setdefault(statement.words[0], []).append(
            _Instance(node.name, statement, node.said, preemption, said))
    elif statement.name == "vrrp_script":
        pass  # read with the instances that track it
    elif statement.name == "global_defs":
        for entry in statement.children or []:
            if entry.name != "router_id":
                node.said.add(entry, f"global_defs {entry.name}: no counterpart in crg; not "
                                     "imported", draft.comments)
    else:
        what = {"virtual_server": "LVS virtual servers", "vrrp_sync_group":
                "sync groups (instances that move together)"}.get(statement.name,
                                                                  statement.name)
        node.said.add(statement, f"{what}: no counterpart in crg; not imported",
                      draft.comments)


def _group(name: str, found: list[_Instance], nodes: list[_Node], draft: Draft) -> DraftGroup:
    first = found[0]
    node = next(n for n in nodes if n.name == first.node)
    group = DraftGroup(crg_name(name))
    group.comments.append(f"vrrp_instance {name}.")
    if group.name != name:
        first.said.add(first.statement, f"vrrp_instance {name}: renamed {group.name} (not a "
                                        "crg name as it was)")
    statement = first.statement
    _vip(node, statement, group)
    group.add(PLACEHOLDER_APP, "keepalived runs no application, only the address moves: "
                               "this placeholder holds the VIP alone; put the service's own "
                               "start command here")
    _monitors(node, statement, group)
    candidates = sorted(found, key=lambda i: (-i.priority, not i.master,
                                              [n.name for n in nodes].index(i.node)))
    order = [(i.node, i.preemption) for i in candidates]
    if len(nodes) == 1:
        order = _mirrored(name, first, node, group)
    _ties(name, candidates, group)
    group.add(f"preferred {order[0][0]}")
    if order[1:]:
        group.add("possible " + ", ".join(n for n, _ in order[1:]))
    for instance in found:
        group.comments += [m for m in instance.read_as if m not in group.comments]
    policy = failback(name, order)
    if policy.differs is not None:
        at = next((i for i in candidates if i.node in policy.climbing), first)
        at.said.add(at.statement, policy.differs, group.comments)
    group.add(f"failback {'manual' if policy.manual else 'auto'}")
    group.add("restarts 0 within 5m", "keepalived moves the address at the first failed "
                                      "check (after 'fall' failures): no local restart")
    for instance in found[1:]:
        _compare(instance, first, nodes, group)
    for instance in found:
        _unmapped(instance, group)
    return group


def _mirrored(name: str, first: _Instance, node: _Node,
              group: DraftGroup) -> list[tuple[str, Preemption]]:
    """The candidates of an instance of the only file given: its peers are invented, and
    assumed to mirror this node (a MASTER instance prefers it, a BACKUP one a peer) with
    the nopreempt written here. Said at the instance, since the group's preferred node
    may be a node nobody named."""
    peers, whence = node.peers_of(name)
    # A mirrored peer keeps the nopreempt as it is written here (nodes that share one
    # setting, BACKUP everywhere, are how nopreempt is meant to be used).
    flags = [s for s in first.statement.children or () if s.name in ("nopreempt", "preempt")]
    theirs = Preemption(first.priority, False,
                        bool(flags) and flags[-1].name == "nopreempt")
    ours = [(first.node, first.preemption)]
    mirrored = [(p, theirs) for p in peers]
    order = [*ours, *mirrored] if first.master else [*mirrored, *ours]
    first.said.add(first.statement,
                   f"vrrp_instance {name}: only {first.node}'s file was given: "
                   f"{', '.join(peers)} {'is' if len(peers) == 1 else 'are'} invented ({whence}) "
                   f"and assumed to mirror {first.node}; the preferred node is {order[0][0]}; "
                   "import every node's file to use their real priorities", group.comments)
    return order


def _ties(name: str, candidates: list[_Instance], group: DraftGroup) -> None:
    """Warn of nodes with the same priority, each set once, at the priority of the one crg
    puts last. keepalived breaks a tie neither by ``state`` nor by any order in the files:
    when both claim the address, the one whose advertisements come from the higher address
    keeps it (RFC 5798 6.4.3; vrrp_state_master_rx in keepalived's vrrp.c compares the
    sender's address with its own, unicast_src_ip or mcast_src_ip if set, else the
    interface's primary address), which the files may not even say. Said only in a comment,
    the order crg had picked went unchecked."""
    for priority in sorted({i.priority for i in candidates}, reverse=True):
        tied = [i for i in candidates if i.priority == priority]
        if len(tied) < 2:
            continue
        last = tied[-1]
        names = [i.node for i in tied]
        sources = [a for i in tied if (a := _source_address(i.statement)) is not None]
        known = ""
        if len(sources) == len(tied) and len({a.version for a in sources}) == 1:
            # Each one's source address is in its file: the one keepalived prefers is known.
            address, winner = max(zip(sources, names, strict=True))
            known = f" (here {winner}'s, {address})"
        last.said.add(last.statement.find("priority") or last.statement,
                      f"vrrp_instance {name}: {', '.join(names[:-1])} and {names[-1]} have the "
                      f"same priority {priority}; crg orders them {', '.join(names)} (MASTER "
                      "first, then as the files were given), but keepalived gives a tie to the "
                      "node whose advertisements come from the higher IP address (its "
                      "unicast_src_ip or mcast_src_ip, else the interface's primary address; "
                      f"RFC 5798 6.4.3){known}: check that order, or give the nodes different "
                      "priorities", group.comments)


def _source_address(instance: Stmt) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The address an instance's advertisements come from, where its file says it."""
    for keyword in ("unicast_src_ip", "mcast_src_ip"):
        statement = instance.find(keyword)
        if statement is not None and statement.words:
            try:
                return ipaddress.ip_address(statement.words[0])
            except ValueError:
                return None
    return None


def _compare(instance: _Instance, first: _Instance, nodes: list[_Node],
             group: DraftGroup) -> None:
    """Name what another node's copy of the instance says differently: a crg group has one
    address and one set of checks for every node, taken from the first file."""
    node = next(n for n in nodes if n.name == instance.node)
    theirs = DraftGroup(group.name, comments=group.comments)
    _vip(node, instance.statement, theirs)
    _monitors(node, instance.statement, theirs)
    for what, prefix in (("virtual address", "vip "), ("checks", "monitor ")):
        verb = "differs" if what == "virtual address" else "differ"
        ours = [s.text for s in group.statements if s.text.startswith(prefix)]
        other = [s.text for s in theirs.statements if s.text.startswith(prefix)]
        if other != ours:
            instance.said.add(instance.statement,
                              f"vrrp_instance {instance.statement.words[0]} on "
                              f"{instance.node}: its {what} ({'; '.join(other)}) {verb} from "
                              f"{first.node}'s ({'; '.join(ours)}); a crg group has the same "
                              f"on every node: {first.node}'s is imported", group.comments)


def _vip(node: _Node, instance: Stmt, group: DraftGroup) -> None:
    block = instance.find("virtual_ipaddress")
    addresses = block.children if block is not None and block.children else []
    if not addresses:
        raise error_at(instance, f"vrrp_instance {instance.words[0]} has no virtual_ipaddress")
    entry = addresses[0]
    text = entry.name
    # An IPv6 zone (fe80::1%eth0/64) names the interface; ipaddress would drop it.
    address, _, zone = text.partition("/")[0].partition("%")
    try:
        interface = ipaddress.ip_interface(address + text[len(text.partition("/")[0]):])
        if zone and interface.version != 6:
            raise ValueError(text)
    except ValueError:
        raise error_at(entry, f"'{text}' is not an IP address (with an optional /prefix)"
                       ) from None
    if "/" not in text:
        node.said.add(entry, f"{text}: no prefix; keepalived then uses "
                             f"/{interface.max_prefixlen}, and so does the import",
                      group.comments)
    device = None
    words = entry.words
    if "dev" in words and words.index("dev") + 1 < len(words):
        device = words[words.index("dev") + 1]
    elif zone:
        device = zone
    else:
        interface_stmt = instance.find("interface")
        device = interface_stmt.words[0] if interface_stmt and interface_stmt.words else None
    group.add(f"vip {interface.with_prefixlen}" + (f" dev {device}" if device else ""))
    extra = [w for w in words if w not in ("dev", device)]
    if extra:
        node.said.add(entry, f"{text}: {' '.join(extra)} has no counterpart; not "
                             "imported", group.comments)
    for more in addresses[1:]:
        node.said.add(more, f"{more.name}: a crg group has one VIP; not imported",
                      group.comments)


def _monitors(node: _Node, instance: Stmt, group: DraftGroup) -> None:
    tracked = instance.find("track_script")
    entries = list(tracked.children or []) if tracked is not None else []
    seen: set[str] = set()
    for entry in entries:
        name = entry.name
        if name in seen:
            # two monitors of one script would run the check twice and count each
            # failure twice
            node.said.add(entry, f"track_script lists {name} again; imported once "
                                 "(two monitors of it would count each failure twice)",
                          group.comments)
            continue
        seen.add(name)
        script = node.scripts.get(name)
        if script is None:
            raise error_at(tracked if tracked else instance,
                           f"track_script names '{name}', which no vrrp_script defines")
        command = script.find("script")
        if command is None or not command.words:
            raise error_at(script, f"vrrp_script {name} has no script")
        glued = [w for w in command.words[1:] if w in _SCRIPT_SETTINGS]
        if glued:
            # vrrp_script chk { script "/bin/check" interval 2 fall 2 } on one line:
            # keepalived's script takes the rest of its line, settings included
            rest = " ".join(command.words[command.words.index(glued[0]):])
            node.said.add(command, f"vrrp_script {name}: the script's line goes on with "
                                   f"'{rest}', which keepalived reads as the script's "
                                   "arguments, not as settings, and so does crg (each "
                                   "setting needs a line of its own)", group.comments)
        interval = _milliseconds(node, script, "interval", 1000)
        timeout = _milliseconds(node, script, "timeout", interval)
        fall = _count(node, script, "fall", 1)
        group.add(f"monitor exec {literal(' '.join(command.words))} every "
                  f"{duration_text(interval)} timeout "
                  f"{duration_text(min(timeout, interval))} fails {fall}")
        if timeout > interval:
            node.said.add(script.find("timeout") or script,
                          f"vrrp_script {name}: timeout {duration_text(timeout)} is longer "
                          f"than its interval; imported as {duration_text(interval)} (crg "
                          "runs one check at a time)", group.comments)
        weight = script.find("weight")
        if weight is not None and weight.words and weight.words[0] not in ("0", "+0", "-0"):
            node.said.add(weight, f"vrrp_script {name}: weight {weight.words[0]} changes "
                                  "the priority instead of failing the instance; crg "
                                  "counts a failed check as a fault", group.comments)
        if entry.words:
            node.said.add(entry, f"track_script {name} {' '.join(entry.words)}: a weight "
                                 "changes the priority instead of failing the instance; "
                                 "crg counts a failed check as a fault", group.comments)
        for other in script.children or []:
            if other.name not in _MAPPED_SCRIPT:
                why = _SCRIPT_WHY.get(other.name, "")
                node.said.add(other, f"vrrp_script {name}: {other.name} has no "
                                     f"counterpart in crg{why}; not imported",
                              group.comments)
    if not entries:
        group.add("monitor process", "no track_script: crg watches the placeholder process")


_MAPPED_SCRIPT = {"script", "interval", "timeout", "fall", "weight"}
_SCRIPT_SETTINGS = {*_MAPPED_SCRIPT - {"script"}, "rise", "user", "init_fail"}
"""The settings of a vrrp_script, which a one-line block glues onto its script."""
_SCRIPT_WHY = {"rise": " (the passed checks keepalived needs before a node leaves its "
                       "fault state)",
               "user": " (crg runs a check as its own user)"}


def _milliseconds(node: _Node, script: Stmt, keyword: str, default: int) -> int:
    """keepalived's seconds (decimals allowed) in milliseconds, at least one."""
    statement = script.find(keyword)
    if statement is None or not statement.words:
        return default
    try:
        seconds = float(statement.words[0])
    except ValueError:
        raise error_at(statement.args[0], f"{keyword} must be a number") from None
    if not 0 < seconds <= 86_400:
        raise error_at(statement.args[0], f"{keyword} must be more than 0 and at "
                                          "most a day of seconds")
    return max(round(seconds * 1000), 1)


def _count(node: _Node, script: Stmt, keyword: str, default: int) -> int:
    statement = script.find(keyword)
    if statement is None or not statement.words:
        return default
    try:
        return max(int(statement.words[0]), 1)
    except ValueError:
        raise error_at(statement.args[0], f"{keyword} must be a whole number") from None


def _unmapped(instance: _Instance, group: DraftGroup) -> None:
    for entry in instance.statement.children or []:
        if entry.name in MAPPED_INSTANCE:
            if entry.name == "notify_fault" and entry.words:
                alert = f"alert command {literal(' '.join(entry.words))}"
                alerts = [s.text for s in group.statements
                          if s.text.startswith("alert command")]
                if not alerts:
                    message = instance.said.add(
                        entry, "notify_fault: becomes an alert command, which crg calls for "
                               "the last-node, blocked and stranded alerts rather than for a "
                               "fault")
                    group.add(alert, message)
                elif alert not in alerts:
                    instance.said.add(entry, f"notify_fault (on {instance.node}) "
                                             f"{' '.join(entry.words)}: differs from "
                                             f"the {alerts[0]} imported "
                                             "from another node; crg calls one on "
                                             "every node; not imported", group.comments)
            continue
        hint = _WHY.get(entry.name, "")
        if entry.name.startswith("notify"):
            hint = (": crg runs a group's start command where it comes up and its stop "
                    "command where it leaves; put the script there")
        instance.said.add(entry, f"{entry.name} (on {instance.node}): no counterpart "
                                 f"in crg{hint}; not imported", group.comments)
