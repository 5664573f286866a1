"""A Pacemaker CIB as a crg draft (``crg import pacemaker``).

What maps (README.md, "Using crg with Pacemaker or keepalived", has the table): a
Pacemaker group of an ``IPaddr2`` address and an application becomes a crg group; its
location scores give the order of ``[preferred] + possible`` (highest first; a negative
score excludes the node); stickiness that outweighs every score difference is ``failback
manual``, less than the preferred node's lead is ``auto`` (with a comment when it does
not also keep the group between possible nodes, as crg's auto does); a negative
colocation between two groups is ``avoid``; ``migration-threshold`` and
``failure-timeout`` are ``restarts R within W``; monitor operations are monitors.
Everything else is named where it was found (a warning) and where it would have gone (a
comment in the ``.crg``). Malformed input is a positioned error.
"""

from __future__ import annotations

import ipaddress
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

from crg.bridges import pacemaker_cluster as cluster
from crg.bridges.app_from_pacemaker import (
    BadElement,
    app_from_primitive,
    primitive_params,
    unread_op_settings,
)
from crg.bridges.crg_writer import Draft, DraftGroup, Statement, crg_name
from crg.bridges.import_notes import Notes, said_with_errors
from crg.bridges.import_secrets import pair_text
from crg.bridges.pacemaker_boolean import boolean
from crg.bridges.pacemaker_model import INFINITY
from crg.bridges.pacemaker_nvpairs import (
    bad_set_score,
    first_values,
    ordered_pairs,
    ordered_sets,
    score,
)
from crg.bridges.pacemaker_time import DurationError, duration_ms, duration_text
from crg.bridges.xml_source import XmlDocument

VIP_AGENTS = {("ocf", "heartbeat", "IPaddr2"), ("ocf", "heartbeat", "IPaddr"),
              ("ocf", "heartbeat", "IPv6addr")}
"""The address agents; IPv6addr names its address ``ipv6addr`` where the others say ``ip``."""
MAX_RESTARTS = 100
DEFAULT_BUDGET = "2 within 5m"
MAX_WINDOW_MS = 24 * 3_600_000


@dataclass
class _Group:
    element: ET.Element
    name: str
    vip: ET.Element
    app: ET.Element
    members: list[ET.Element]
    draft: DraftGroup
    scores: dict[str, int] = field(default_factory=dict)
    avoid: list[str] = field(default_factory=list)
    app_banned: set[str] = field(default_factory=set)
    """Nodes where the application alone may not run (an instance group's offline mode)."""


A_SCORE = "a Pacemaker score (a whole number, INFINITY or -INFINITY)"


def from_cib(doc: XmlDocument) -> tuple[Draft, Notes]:
    notes = Notes(doc.source)
    with said_with_errors([notes]):  # what was not imported before an error, with it
        draft = _read_cib(doc, notes)
    return draft, notes


def _read_cib(doc: XmlDocument, notes: Notes) -> Draft:
    root = doc.root
    if root.tag != "cib":
        raise doc.error(root, f"not a Pacemaker CIB: the document is <{root.tag}>, not <cib>",
                        "export one with 'pcs cluster cib FILE' or 'cibadmin --query'")
    configuration = root.find("configuration")
    if configuration is None:
        raise doc.error(root, "<cib> has no <configuration>")
    if (bad := bad_set_score(configuration)) is not None:
        # Pacemaker's schema refuses it (crm_verify); its scheduler would read 0.
        raise doc.error(bad, f"{doc.describe(bad)}: score '{bad.get('score')}' is not "
                             f"{A_SCORE}")
    properties = first_values(cluster.properties(configuration))
    written = properties.get("cluster-name") or _stem(doc.source.path)
    draft = Draft(crg_name(written), [])
    if draft.name != written:
        crm_config = configuration.find("crm_config")
        notes.add(doc.where(crm_config if crm_config is not None else configuration),
                  f"cluster name '{written}': renamed {draft.name} (not a crg name as it "
                  "was)", draft.comments)
    draft.comments.append(f"Imported by crg from {doc.source.path} (Pacemaker CIB).")
    nodes = _nodes(doc, configuration, notes, draft.comments)
    draft.nodes = list(nodes.values())
    defaults = first_values(ordered_pairs(configuration.find("rsc_defaults"),
                                          "meta_attributes"))
    cluster.settings_overridden(doc, configuration, READ_META, notes, draft)
    for section, read in (("crm_config", cluster.READ_PROPERTIES), ("rsc_defaults", READ_META),
                          ("op_defaults", {"timeout"})):
        cluster.unread_settings(doc, configuration.find(section), read, notes, draft)
    groups = _groups(doc, configuration, notes, draft, cluster.op_timeout(doc, configuration))
    _constraints(doc, configuration, groups, notes, draft)
    symmetric = cluster.boolean_property(doc, configuration, "symmetric-cluster", True)
    placed = {gid: group for gid, group in groups.items()
              if _placement(doc, group, nodes, symmetric, defaults, notes, draft)}
    for group in placed.values():
        _budget(doc, group, defaults, notes)
        for other in dict.fromkeys(o for o in group.avoid if o not in placed):
            notes.add(doc.where(group.element), f"{doc.describe(group.element)}: its "
                                                f"colocation away from {other}, which is not "
                                                "imported; not imported", group.draft.comments)
        avoided = list(dict.fromkeys(groups[o].name for o in group.avoid if o in placed))
        if avoided:
            group.draft.add("avoid " + ", ".join(avoided))
        draft.groups.append(group.draft)
    cluster.quorum_policy(doc, configuration, notes, draft)
    cluster.alerts(doc, configuration, notes, draft)
    if not draft.groups:
        resources = configuration.find("resources")
        if resources is None:  # nothing to point at but where it would be
            raise doc.error(configuration, "no group could be imported: <configuration> "
                                           "has no <resources>", _A_GROUP)
        error = doc.error(resources,
                          "no group could be imported: crg needs a Pacemaker group of an "
                          "IPaddr2 address and an application (the warnings say why each "
                          "resource was left out)", _A_GROUP)
        raise error  # the warnings that say why each resource was left out come with it
    return draft


_A_GROUP = ("a group crg imports is <group id=\"web\"> holding an ocf:heartbeat:IPaddr2 "
            "primitive (its ip) and the primitive of an application")


def _stem(path: str) -> str:
    name = path.rsplit("/", 1)[-1]
    return name.rsplit(".", 1)[0] or "imported"


def _nodes(doc: XmlDocument, configuration: ET.Element, notes: Notes,
           comments: list[str]) -> dict[str, str]:
    """The CIB's nodes, each with its name in crg (``uname`` unless it is not a crg name:
    a host name may start with a digit, a crg name may not)."""
    nodes: dict[str, str] = {}
    for node in configuration.iterfind("nodes/node"):
        name = node.get("uname") or node.get("id") or ""
        if not name:
            raise doc.error(node, "<node> without a uname (or an id): no name to place "
                                  "groups on", "give each node its uname, as "
                                               "'pcs cluster cib' writes it")
        if node.get("type") in ("ping",):
            notes.add(doc.where(node), f"{doc.describe(node)}: a ping node hosts nothing; "
                                       "not imported", comments)
            continue
        nodes[name] = _node_name(doc, node, name, nodes, notes, comments)
        for attributes in (*node.iterfind("instance_attributes"), *node.iterfind("utilization")):
            pairs = first_values(attributes.iter("nvpair"))
            if not pairs:
                continue
            standby = (" (a node in standby: crg drain is its counterpart)"
                       if boolean(pairs.get("standby"))
                       else "")
            notes.add(doc.where(attributes),
                      f"{doc.describe(node)} {name}: {attributes.tag.replace('_', ' ')} "
                      + ", ".join(pair_text(k, v) for k, v in pairs.items())
                      + f": no counterpart in crg{standby}; not imported", comments)
    if not nodes:
        listed = configuration.find("nodes")  # an element without children is false
        raise doc.error(listed if listed is not None else configuration,
                        "the CIB lists no nodes (<nodes> is empty)",
                        "take the CIB from a cluster that has been set up "
                        "('pcs cluster cib FILE')")
    return nodes


def _node_name(doc: XmlDocument, node: ET.Element, name: str, nodes: dict[str, str],
               notes: Notes, comments: list[str]) -> str:
    """``name`` as a crg name, renamed with a warning if need be (``18node1`` is
    ``_18node1``): its host's ``crg run --node`` takes the new name."""
    if name in nodes:
        raise doc.error(node, f"node '{name}' is listed twice in <nodes>")
    same = next((n for n in nodes if n.casefold() == name.casefold()), None)
    if same is not None:
        # Pacemaker matches node names in any case: its constraints on either would
        # reach both, and crg, whose names are exact, would place them apart.
        raise doc.error(node, f"nodes '{same}' and '{name}' differ only in case: Pacemaker "
                              "takes them for one node", "rename one of the two nodes")
    renamed = crg_name(name)
    if renamed in nodes.values():
        other = next(n for n, crg in nodes.items() if crg == renamed)
        raise doc.error(node, f"nodes '{other}' and '{name}' would both be '{renamed}' in "
                              "crg (a crg name has letters, digits, _ . -, and does not "
                              "start with a digit)", "rename one of the two nodes")
    if renamed == name:
        return name
    notes.add(doc.where(node), f"node '{name}': renamed {renamed} (not a crg name as it "
                               f"was: letters, digits, _ . -, not starting with a digit); "
                               f"start its agent as crg run --node {renamed}", comments)
    return renamed


# -- resources -------------------------------------------------------------------------------


def _groups(doc: XmlDocument, configuration: ET.Element, notes: Notes,
            draft: Draft, op_timeout: int) -> dict[str, _Group]:
    resources = configuration.find("resources")
    groups: dict[str, _Group] = {}
    templates = {t.get("id", ""): t for t in configuration.iterfind("resources/template")}
    for element in list(resources) if resources is not None else []:
        where = doc.where(element)
        if element.tag == "template":
            continue  # read with the primitives made from it
        if element.tag == "primitive":
            if element.get("class") == "stonith":
                notes.add(where, f"{doc.describe(element)}: a fencing device; crg's groups "
                                 "fence themselves (fencing self); not imported", draft.comments)
            else:
                notes.add(where, f"{doc.describe(element)}: a resource outside a group; crg "
                                 "imports groups of an IPaddr2 address and an application; not "
                                 "imported", draft.comments)
            continue
        if element.tag != "group":
            notes.add(where, f"{doc.describe(element)}: {element.tag} resources have no "
                             "counterpart in crg; not imported", draft.comments)
            continue
        group = _group(doc, element, notes, draft, templates, op_timeout)
        if group is not None:
            groups[element.get("id", "")] = group
    return groups


def _group(doc: XmlDocument, element: ET.Element, notes: Notes, draft: Draft,
           templates: dict[str, ET.Element], op_timeout: int) -> _Group | None:
    gid = element.get("id") or ""
    if not gid:
        raise doc.error(element, "<group> without an id")
    members = [_from_template(doc, m, templates) for m in element.iterfind("primitive")]
    for member in members:
        if not member.get("class") or not member.get("type"):
            raise doc.error(member, f"{doc.describe(member)}: no class or type (nor a "
                                    "template giving them): no agent to run")
    vips = [m for m in members if _agent(m) in VIP_AGENTS]
    apps = [m for m in members if m not in vips]
    if not vips or not apps:
        missing = "IPaddr2 address" if not vips else "application"
        notes.add(doc.where(element), f"{doc.describe(element)}: has no {missing}; a crg "
                                      "group needs both; not imported", draft.comments)
        return None
    name = crg_name(gid)
    draft_group = DraftGroup(name)
    if name != gid:
        notes.add(doc.where(element), f"{doc.describe(element)}: renamed {name} (not a crg "
                                      "name as it was)", draft_group.comments)
    for extra in vips[1:] + apps[1:]:
        notes.add(doc.where(extra), f"{doc.describe(extra)}: a crg group has one VIP and one "
                                    f"application; not imported", draft_group.comments)
    if members.index(vips[0]) > members.index(apps[0]):
        notes.add(doc.where(element), f"{doc.describe(element)}: the application starts "
                                      "before the address here; crg always acquires the VIP "
                                      "first", draft_group.comments)
    group = _Group(element, name, vips[0], apps[0], members, draft_group)
    _vip(doc, group, notes)
    try:
        app = app_from_primitive(apps[0], lambda e, m: notes.add(
            doc.where(e), f"{doc.describe(e)}: {m}", draft_group.comments), op_timeout)
    except BadElement as exc:
        raise doc.error(exc.element, f"{doc.describe(apps[0])}: {doc.describe(exc.element)}: "
                                     f"{exc}") from None
    except (DurationError, ValueError) as exc:
        raise doc.error(apps[0], f"{doc.describe(apps[0])}: {exc}") from None
    draft_group.add("app {\n" + "\n".join("  " + line.replace("\n", "\n  ")
                                          for line in app.items) + "\n}")
    for monitor in app.monitors:
        draft_group.add(monitor)
    _unread_attributes(doc, group, notes)
    return group


READ_META = {"resource-stickiness", "migration-threshold", "failure-timeout"}


def _unread_attributes(doc: XmlDocument, group: _Group, notes: Notes) -> None:
    """Name the meta attributes (target-role, is-managed, priority, allow-migrate...),
    conditional attribute sets and utilization of the group and its two imported members
    that the import does not read."""
    comments = group.draft.comments
    for owner in (group.element, group.vip, group.app):
        what = doc.describe(owner)
        for attributes in (*owner.iterfind("meta_attributes"),
                           *(owner.iterfind("instance_attributes")
                             if owner is not group.element else ())):
            if attributes.find("rule") is not None:
                notes.add(doc.where(attributes),
                          f"{what}: a rule decides when {doc.describe(attributes)} applies; "
                          "crg has no rules: read as if it always held", comments)
            if attributes.tag != "meta_attributes":
                continue
            for pair in attributes.iterfind("nvpair"):
                if pair.get("name") not in READ_META:
                    notes.add(doc.where(pair), f"{what}: "
                                               f"{pair_text(pair.get('name'), pair.get('value'))}"
                                               " has no counterpart in crg; not imported",
                              comments)
        cluster.overridden_said(doc, what, ordered_sets(owner, "meta_attributes"), READ_META,
                                notes, comments)
        if owner is not group.element:
            cluster.overridden_said(doc, what, ordered_sets(owner, "instance_attributes"),
                                    None, notes, comments)
        for utilization in owner.iterfind("utilization"):
            used = ", ".join(pair_text(p.get("name"), p.get("value"))
                             for p in utilization.iterfind("nvpair"))
            notes.add(doc.where(utilization),
                      f"{what}: utilization {used} has no counterpart in crg (it places "
                      "groups by their lists and avoid only); not imported", comments)


def _from_template(doc: XmlDocument, primitive: ET.Element,
                   templates: dict[str, ET.Element]) -> ET.Element:
    """A primitive made from a ``<template>`` as Pacemaker reads it: the template's agent,
    parameters, operations and meta attributes, the primitive's own winning."""
    name = primitive.get("template")
    if name is None:
        return primitive
    template = templates.get(name)
    if template is None:
        raise doc.error(primitive, f"{doc.describe(primitive)}: template '{name}' is not in "
                                   "the CIB's resources")
    merged = ET.Element("primitive", {k: v for k, v in {**template.attrib,
                                                         **primitive.attrib}.items()
                                      if k != "template"})
    # the primitive's own first: a name given twice takes its first value, as Pacemaker
    # reads name-value pairs (crg.bridges.pacemaker_nvpairs)
    merged.extend([*primitive, *template])
    doc.positions[id(merged)] = doc.where(primitive)
    return merged


def _agent(primitive: ET.Element) -> tuple[str, str, str]:
    return (primitive.get("class", ""), primitive.get("provider", ""),
            primitive.get("type", ""))


def _vip(doc: XmlDocument, group: _Group, notes: Notes) -> None:
    params = primitive_params(group.vip)
    address = params.get("ip") or params.get("ipv6addr", "")
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        raise doc.error(group.vip, f"{doc.describe(group.vip)}: ip '{address}' is not an IP "
                                   "address") from None
    netmask = params.get("cidr_netmask", "")
    if not netmask:
        netmask = str(ip.max_prefixlen)
        notes.add(doc.where(group.vip), f"{doc.describe(group.vip)}: no cidr_netmask (IPaddr2 "
                                        f"takes the interface's); imported as /{netmask}",
                  group.draft.comments)
    try:
        prefix = ipaddress.ip_interface(f"{address}/{netmask}").network.prefixlen
    except ValueError:
        raise doc.error(group.vip, f"{doc.describe(group.vip)}: cidr_netmask '{netmask}' is "
                                   "not a prefix length or netmask") from None
    device = params.get("nic")
    if device and ":" in device:
        # IPaddr's alias form (eth0:1), which IPaddr2 reads as the interface and a label:
        # crg names the interface only (a label is an address's name in ip addr).
        device, _, label = device.partition(":")
        notes.add(doc.where(group.vip), f"{doc.describe(group.vip)}: nic={device}:{label}: "
                                        f"the label '{label}' has no counterpart in crg; "
                                        f"imported as dev {device}", group.draft.comments)
    group.draft.add(f"vip {address}/{prefix}" + (f" dev {device}" if device else ""))
    unread = [pair_text(k, v) for k, v in params.items() if k not in _VIP_PARAMS]
    if unread:
        notes.add(doc.where(group.vip), f"{doc.describe(group.vip)}: {', '.join(unread)}: no "
                                        "counterpart in crg (its address driver adds the "
                                        "address and announces it itself); not imported",
                  group.draft.comments)
    for op in group.vip.iterfind("operations/op"):
        name = op.get("name", "")
        if not name:
            raise doc.error(op, f"{doc.describe(group.vip)}: {doc.describe(op)}: an operation "
                                "without a name (start, stop, monitor...): Pacemaker's schema "
                                "requires one")
        every = op.get("interval", "0")
        what = f"{doc.describe(group.vip)}: {doc.describe(op)} ({name}" + (
            f" every {every})" if every.strip("0sm") else ")")
        if name not in ("start", "stop", "monitor"):
            notes.add(doc.where(op), f"{what}: the {name} operation has no counterpart in "
                                     "crg; not imported", group.draft.comments)
        role, enabled = op.get("role"), op.get("enabled")
        if role not in (None, "Started") or (enabled is not None and boolean(enabled) is False):
            said = ", ".join(f"{k}={v}" for k, v in (("role", role), ("enabled", enabled))
                             if v is not None)
            notes.add(doc.where(op), f"{what}: {said}: no counterpart in crg (it keeps every "
                                     "VIP the same way); not imported", group.draft.comments)
        unread_op_settings(op, _VipNote(doc, notes, what, group.draft.comments))


@dataclass(frozen=True)
class _VipNote:
    """Say what an operation of the address sets that crg has no place for."""

    doc: XmlDocument
    notes: Notes
    what: str
    comments: list[str]

    def __call__(self, element: ET.Element, message: str) -> None:
        self.notes.add(self.doc.where(element), f"{self.what}: {message}", self.comments)


_VIP_PARAMS = {"ip", "ipv6addr", "cidr_netmask", "nic"}
"""The address agents' parameters crg has a place for (the VIP's address, prefix and
interface)."""


def _meta(group: _Group, key: str, defaults: dict[str, str] | None = None) -> str | None:
    """A meta attribute as Pacemaker resolves it for the group's application, whose
    faults the restart budget counts: the application's own, else the group's (a member
    inherits what its group does not override), else the resource defaults."""
    pair = _meta_pair(group, key)
    return pair.get("value", "") if pair is not None else (defaults or {}).get(key)


def _meta_pair(group: _Group, key: str, member: ET.Element | None = None
               ) -> ET.Element | None:
    """The nvpair :func:`_meta` reads for ``member`` (the application by default), where
    it or the group has one (the first: Pacemaker takes the first of a name it finds)."""
    for element in (group.app if member is None else member, group.element):
        for pair in ordered_pairs(element, "meta_attributes"):
            if pair.get("name") == key:
                return pair
    return None


# -- constraints -----------------------------------------------------------------------------


def _owner(owners: dict[str, _Group], rsc: str | None) -> _Group | None:
    return owners.get(rsc) if rsc is not None else None


def _owners(groups: dict[str, _Group]) -> dict[str, _Group]:
    """The imported group of every resource id: the group's and its members'."""
    owners: dict[str, _Group] = {}
    for group in groups.values():
        for rid in (group.element.get("id"), *(m.get("id") for m in group.members)):
            if rid is not None:
                owners.setdefault(rid, group)
    return owners


def _constraints(doc: XmlDocument, configuration: ET.Element, groups: dict[str, _Group],
                 notes: Notes, draft: Draft) -> None:
    constraints = configuration.find("constraints")
    owners = _owners(groups)
    for element in list(constraints) if constraints is not None else []:
        where, what = doc.where(element), doc.describe(element)
        if element.tag == "rsc_location" and (left := _operator_command(element)):
            group = _owner(owners, element.get("rsc"))
            notes.add(where, f"{what}: {left}", (group.draft if group else draft).comments)
            continue
        if element.find("rule") is not None or element.find("resource_set") is not None:
            notes.add(where, f"{what}: rules and resource sets have no counterpart in crg; "
                             "not imported", draft.comments)
            continue
        if element.tag in ("rsc_location", "rsc_colocation"):
            role = next((f"{a}={element.get(a)}" for a in ("role", "rsc-role", "with-rsc-role")
                         if element.get(a) not in (None, "Started")), None)
            if role is not None:
                # A group is never promoted: Pacemaker never applies it to one.
                notes.add(where, f"{what}: {role}: applies to promotable resources only, "
                                 "which crg does not import; not imported", draft.comments)
                continue
            for attribute in ("resource-discovery", "node-attribute"):
                if element.get(attribute) is not None:
                    notes.add(where, f"{what}: {attribute}={element.get(attribute)} has no "
                                     "counterpart in crg; read as if it were not there",
                              draft.comments)
        try:
            value = score(element.get("score"))
        except ValueError:
            raise doc.error(element, f"{what}: score '{element.get('score')}' is not a "
                                     "Pacemaker score") from None
        if element.tag == "rsc_location":
            group = _owner(owners, element.get("rsc"))
            node = element.get("node")
            if group is None or node is None:
                notes.add(where, f"{what}: not about an imported group's node (rsc-pattern "
                                 "and roles are not imported)", draft.comments)
            elif element.get("rsc") == group.app.get("id") and value <= -INFINITY:
                group.app_banned.add(node)
            elif value <= -INFINITY and element.get("rsc") not in (group.element.get("id"),
                                                                   group.vip.get("id")):
                # The group stops at that member there: what runs before it stays.
                notes.add(where, f"{what}: a ban of one member from {node} holds the "
                                 "members after it off that node only; crg places the "
                                 "group whole; not imported", group.draft.comments)
            else:
                # Pacemaker places a group by the scores of all its members, summed (each
                # member is colocated with the one before it, its preferences included).
                group.scores[node] = max(-INFINITY, min(INFINITY,
                                                        group.scores.get(node, 0) + value))
        elif element.tag == "rsc_colocation":
            ours, theirs = (_owner(owners, element.get("rsc")),
                            _owner(owners, element.get("with-rsc")))
            if ours is None or theirs is None or ours is theirs:
                notes.add(where, f"{what}: not between two imported groups; not imported",
                          draft.comments)
            elif value >= 0:
                notes.add(where, f"{what}: keeping groups together has no counterpart in crg "
                                 "(only avoid); not imported", ours.draft.comments)
            else:
                ours.avoid.append(theirs.element.get("id", ""))
                if value <= -INFINITY:
                    notes.add(where, f"{what}: -INFINITY forbids sharing a node; crg's avoid "
                                     "is soft (a group rather shares a node than stops)",
                              ours.draft.comments)
                elif _influence(element, ours):
                    them, us = theirs.element.get("id", ""), ours.element.get("id", "")
                    notes.add(where, f"{what}: with influence (Pacemaker's default) {them} "
                                     f"is placed for {us}'s sake too, away from where {us} "
                                     f"would run; crg's avoid is one way: {us} avoids {them}, "
                                     f"and {them} goes where its own list says (set "
                                     "influence=false for Pacemaker to place them so)",
                              ours.draft.comments)
        else:
            why = {"rsc_order": " (groups start independently)",
                   "rsc_ticket": " (tickets grant resources to a site of a multi-site "
                                 "cluster)"}.get(element.tag, "")
            notes.add(where, f"{what}: {element.tag} has no counterpart in crg{why}; not "
                             "imported", draft.comments)


def _influence(colocation: ET.Element, dependent: _Group) -> bool:
    """Whether Pacemaker lets the dependent's preferences move the colocation's primary:
    the constraint's ``influence``, by default the dependent's ``critical`` meta
    attribute, itself true by default. (With -INFINITY it does not matter: the two never
    share a node either way.)"""
    given = colocation.get("influence")
    if given is None:
        pair = _meta_pair(dependent, "critical", dependent.element)
        given = pair.get("value") if pair is not None else None
    return boolean(given) is not False


def _operator_command(element: ET.Element) -> str | None:
    """What an operator did, for a location constraint that ``crm_resource --move`` /
    ``--ban`` (and ``pcs resource move`` / ``ban``, which call it) left behind: they name
    it ``cli-prefer-RSC`` or ``cli-ban-RSC-on-NODE``. Read as configuration, a move would
    make its node the preferred one and a ban strike its node off the list."""
    ident, rsc, node = element.get("id", ""), element.get("rsc"), element.get("node")
    # With a lifetime (--lifetime, pcs resource move ... lifetime=) the node is in a rule:
    # #uname eq NODE, and the date it ends in a date expression.
    rule = element.find("rule")
    until = ""
    if rule is not None:
        for expression in rule.iterfind("expression"):
            if expression.get("attribute") == "#uname" and expression.get("operation") == "eq":
                node = node or expression.get("value")
        ends = [d.get("end") for d in rule.iterfind("date_expression") if d.get("end")]
        until = f" until {ends[0]}" if ends else ""
    node = node or "its node"
    if ident.startswith("cli-prefer-"):
        return (f"an operator's move of {rsc} to {node}{until} (pcs resource move), not "
                f"configuration: not imported; crg's counterpart is crg switchover {rsc} "
                f"{node}, withdrawn by crg clear {rsc} (as pcs resource clear)")
    if ident.startswith("cli-ban-"):
        return (f"an operator's ban of {rsc} from {node}{until} (pcs resource ban), not "
                f"configuration: not imported; crg has no ban by hand (crg drain {node} "
                "takes the node out for every group)")
    return None


def _placement(doc: XmlDocument, group: _Group, names: dict[str, str], symmetric: bool,
               defaults: dict[str, str], notes: Notes, draft: Draft) -> bool:
    """The group's candidates and failback; False when no node may run it. ``names``: each
    node's crg name, by its name in the CIB."""
    nodes = list(names)
    where = doc.where(group.element)
    located = _as_listed(group.scores, nodes)
    group.app_banned = set(_as_listed(dict.fromkeys(group.app_banned, 0), nodes))
    scores = {n: located.get(n, 0) for n in nodes if symmetric or n in located}
    for node in located:
        if node not in nodes:
            notes.add(where, f"{doc.describe(group.element)}: a location on '{node}', which "
                             "is not a node of the CIB; not imported", group.draft.comments)
    allowed = sorted((n for n, s in scores.items() if s >= 0),
                     key=lambda n: (-scores[n], nodes.index(n)))
    if not allowed:
        # A parked group (Pacemaker never starts it) does not keep the others out.
        notes.add(where, f"{doc.describe(group.element)}: no node may run it (every "
                         "location score is negative): Pacemaker never starts it; not "
                         "imported", draft.comments)
        return False
    values = [scores[n] for n in allowed]
    if len(set(values)) < len(values):
        notes.add(where, f"{doc.describe(group.element)}: equal scores on "
                         f"{', '.join(n for n in allowed if values.count(scores[n]) > 1)}; "
                         "crg needs an order: taken as listed in <nodes>",
                  group.draft.comments)
    if group.app_banned:
        if set(allowed[1:]) <= group.app_banned and allowed[0] not in group.app_banned:
            group.draft.add("kind instance", "the application may run on the preferred node "
                                             "only; elsewhere the address is held alone: "
                                             "crg's offline mode")
        else:
            notes.add(where, f"{doc.describe(group.element)}: the application is kept off "
                             f"{', '.join(sorted(group.app_banned))} only; crg places the "
                             "application with its group; not imported", group.draft.comments)
    group.draft.add(f"preferred {names[allowed[0]]}")
    if allowed[1:]:
        group.draft.add("possible " + ", ".join(names[n] for n in allowed[1:]))
    _failback(doc, group, values, defaults, notes)
    return True


def _as_listed(scores: dict[str, int], nodes: list[str]) -> dict[str, int]:
    """``scores`` by node as ``<nodes>`` spells it: Pacemaker matches a constraint's node
    name in any case (``N3`` is ``n3``); a name of no node is kept as it is written."""
    listed = {n.lower(): n for n in nodes}
    out: dict[str, int] = {}
    for node, value in scores.items():
        name = listed.get(node.lower(), node)
        out[name] = max(-INFINITY, min(INFINITY, out.get(name, 0) + value))
    return out


def _failback(doc: XmlDocument, group: _Group, values: list[int], defaults: dict[str, str],
              notes: Notes) -> None:
    # Pacemaker sums the stickiness of every active member of a group, the ones crg
    # leaves out too (a Filesystem between the address and the application).
    stickiness = 0
    for member in group.members:
        pair = _meta_pair(group, "resource-stickiness", member)
        text = (pair.get("value", "") if pair is not None
                else defaults.get("resource-stickiness", "0"))
        try:
            stickiness += score(text)
        except ValueError:
            raise _meta_error(doc, group, "resource-stickiness",
                              f"'{text}' is not {A_SCORE}", member) from None
    spread = values[0] - values[-1]
    lead = values[0] - values[1] if len(values) > 1 else 0
    between = values[1] - values[-1] if len(values) > 1 else 0
    if stickiness > spread:
        group.draft.add("failback manual")
    elif stickiness < lead or len(values) == 1:
        # Home outscores every other node plus the stickiness: Pacemaker fails back.
        if stickiness > between or len(values) <= 2:
            group.draft.add("failback auto")
        else:
            group.draft.add("failback auto", f"stickiness {stickiness} does not outweigh "
                                             "every difference between the possible nodes: "
                                             "Pacemaker also moves the group up its list "
                                             "when a better possible node comes back; crg's "
                                             "failback auto returns to the preferred node "
                                             "only")
            notes.add(doc.where(group.element), f"{doc.describe(group.element)}: stickiness "
                                                f"{stickiness} moves it between possible "
                                                "nodes too; imported as failback auto, which "
                                                "returns to the preferred node only")
    else:
        group.draft.add("failback manual", f"stickiness {stickiness} outweighs some score "
                                           "differences but not all: Pacemaker moves it back "
                                           "from some nodes only; crg has no such mixture")
        notes.add(doc.where(group.element), f"{doc.describe(group.element)}: stickiness "
                                            f"{stickiness} is between failback auto and "
                                            "manual; imported as manual")


def _meta_error(doc: XmlDocument, group: _Group, key: str, why: str,
                member: ET.Element | None = None) -> Exception:
    """Bad input at the nvpair that holds ``key`` (at the group where it comes from the
    resource defaults)."""
    pair = _meta_pair(group, key, member)
    where = pair if pair is not None else group.element
    source = "" if pair is not None else " (from rsc_defaults)"
    return doc.error(where, f"{doc.describe(group.element)}: {key}{source}: {why}")


def _budget(doc: XmlDocument, group: _Group, defaults: dict[str, str], notes: Notes) -> None:
    threshold_text = _meta(group, "migration-threshold", defaults) or "INFINITY"
    timeout_text = _meta(group, "failure-timeout", defaults) or "0"
    for pair in group.vip.iterfind("meta_attributes/nvpair"):
        if pair.get("name") in ("migration-threshold", "failure-timeout"):
            notes.add(doc.where(pair), f"{doc.describe(group.vip)}: {pair.get('name')}="
                                       f"{pair.get('value')} on the address: crg's restart "
                                       "budget counts the application's faults; not imported",
                      group.draft.comments)
    try:
        threshold = score(threshold_text)
    except ValueError:
        raise _meta_error(doc, group, "migration-threshold",
                          f"'{threshold_text}' is not {A_SCORE}") from None
    try:
        window = duration_ms(timeout_text)
    except DurationError as exc:
        raise _meta_error(doc, group, "failure-timeout", str(exc)) from None
    comments = []
    if threshold < 0:
        # Pacemaker 2.1 (pe_warn_once: "must be non-negative, using 1 instead") bans the
        # resource from a node at its first failure there; 3.0 and later take the default,
        # INFINITY, instead (complex.c, unpack_migration_threshold).
        comments.append(f"migration-threshold={threshold_text} is negative: Pacemaker 2.1 "
                        "reads it as 1 and moves the group at its first failure (Pacemaker "
                        "3.0 and later read it as INFINITY, the default): imported as 1")
        threshold = 1
    if threshold == 0 or threshold >= INFINITY:
        # Pacemaker's default. crg has no unbounded budget, and the checker explores every
        # restart of one: 100 would make checking slow (README, "The language").
        comments.append(f"migration-threshold={threshold_text}: Pacemaker restarts it in "
                        "place for ever and never moves it for failures; crg has no such "
                        f"budget: imported as its default, {DEFAULT_BUDGET}; raise it (at most "
                        f"{MAX_RESTARTS}, at the cost of checking time) to come closer")
        group.draft.statements.append(Statement(f"restarts {DEFAULT_BUDGET}", comments))
    else:
        restarts = min(threshold - 1, MAX_RESTARTS)
        if threshold - 1 > MAX_RESTARTS:
            comments.append(f"migration-threshold={threshold_text}: crg's largest budget is "
                            f"{MAX_RESTARTS} restarts")
        if window <= 0 or window > MAX_WINDOW_MS:
            comments.append(f"failure-timeout={timeout_text}: Pacemaker "
                            f"{'never forgets failures' if window <= 0 else 'waits longer'}; "
                            "crg's longest window is 24h")
            window = MAX_WINDOW_MS
        group.draft.statements.append(Statement(
            f"restarts {restarts} within {duration_text(window)}", comments))
    for comment in comments:
        notes.add(doc.where(group.element), f"{doc.describe(group.element)}: {comment}")
