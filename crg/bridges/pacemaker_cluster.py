"""The cluster-wide part of a Pacemaker CIB for ``crg import pacemaker``: the cluster
properties it reads (``symmetric-cluster``, ``no-quorum-policy``) and names the others,
the operation defaults, and the alerts — each group's part is
:mod:`crg.bridges.from_pacemaker`'s."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterable

from crg.bridges.app_from_pacemaker import DEFAULT_OP_TIMEOUT_MS
from crg.bridges.crg_writer import Draft, Statement, literal
from crg.bridges.import_notes import Notes
from crg.bridges.import_secrets import pair_text
from crg.bridges.pacemaker_boolean import boolean
from crg.bridges.pacemaker_nvpairs import BOOTSTRAP, ordered_pairs, ordered_sets, overridden
from crg.bridges.pacemaker_time import DurationError, duration_ms
from crg.bridges.xml_source import XmlDocument

PLACING_PROPERTIES = ("symmetric-cluster", "no-quorum-policy", "cluster-name")
"""The cluster properties the import reads into the configuration."""
READ_PROPERTIES = {*PLACING_PROPERTIES,
                   # The cluster's own records: nothing to import.
                   "dc-version", "cluster-infrastructure", "have-watchdog",
                   "last-lrm-refresh"}


COUNTERPARTS = {
    "dc-deadtime": "its counterpart is an option of each host's agent, not of the "
                   "configuration (crg run --node N --start-wait DURATION: at a cold "
                   "start, wait for the other nodes)",
    # Said whatever its value: an operator who relied on fencing devices must hear that
    # crg's import keeps none (they are named where they are, as not imported).
    "stonith-enabled": "crg has no fencing devices: a node cut off from the others stops "
                       "what it holds before its lease runs out (fencing self, the "
                       "default)"}
"""Cluster properties whose counterpart is elsewhere in crg: the warning names it."""


def unread_settings(doc: XmlDocument, section: ET.Element | None, read: set[str],
                     notes: Notes, draft: Draft) -> None:
    """Name the cluster properties and resource or operation defaults that are not read,
    and the sets of them that a rule makes conditional."""
    if section is None:
        return
    for attributes in section:
        if attributes.find("rule") is not None:
            notes.add(doc.where(attributes),
                      f"<{section.tag}>: a rule decides when {doc.describe(attributes)} "
                      "applies; crg has no rules: read as if it always held", draft.comments)
        for pair in attributes.iterfind("nvpair"):
            name = pair.get("name") or ""
            if name not in read:
                why = ("an operation is imported with its own settings only, crg's defaults "
                       "for the rest" if section.tag == "op_defaults"
                       else COUNTERPARTS.get(name, "no counterpart in crg"))
                notes.add(doc.where(pair), f"<{section.tag}>: "
                                           f"{pair_text(name, pair.get('value'))}: {why}; "
                                           "not imported",
                          draft.comments)


def properties(configuration: ET.Element) -> list[ET.Element]:
    """The cluster properties' nvpairs in the order Pacemaker reads them:
    cib-bootstrap-options first, then the other sets by score."""
    return ordered_pairs(configuration.find("crm_config"), "cluster_property_set", BOOTSTRAP)


def overridden_said(doc: XmlDocument, what: str, sets: list[ET.Element],
                    names: Iterable[str] | None, notes: Notes, comments: list[str]) -> None:
    """Say where a setting the import reads is given again, with another value, in a set
    that Pacemaker reads later (``sets`` in its order): the value read is the first one's,
    which is not always the first in the document."""
    for found in overridden(sets, names):
        name = found.pair.get("name")
        notes.add(doc.where(found.pair),
                  f"{what}: {pair_text(name, found.pair.get('value'))} "
                  f"({doc.describe(found.within)}) is not read: Pacemaker reads "
                  f"{pair_text(name, found.winner.get('value'))} "
                  f"({doc.describe(found.winner_within)}) first ({found.why()}), and so "
                  "does the import", comments)


def settings_overridden(doc: XmlDocument, configuration: ET.Element, read_meta: set[str],
                        notes: Notes, draft: Draft) -> None:
    """:func:`overridden_said` for the cluster properties and the resource and operation
    defaults."""
    overridden_said(doc, "<crm_config>", ordered_sets(configuration.find("crm_config"),
                                                      "cluster_property_set", BOOTSTRAP),
                    PLACING_PROPERTIES, notes, draft.comments)
    overridden_said(doc, "<rsc_defaults>", ordered_sets(configuration.find("rsc_defaults"),
                                                        "meta_attributes"),
                    read_meta, notes, draft.comments)
    overridden_said(doc, "<op_defaults>", ordered_sets(configuration.find("op_defaults"),
                                                       "meta_attributes"),
                    ("timeout",), notes, draft.comments)


def op_timeout(doc: XmlDocument, configuration: ET.Element) -> int:
    """The timeout of an operation that gives none: op_defaults', else Pacemaker's 20 s."""
    for pair in ordered_pairs(configuration.find("op_defaults"), "meta_attributes"):
        if pair.get("name") == "timeout":
            try:
                return duration_ms(pair.get("value", ""))
            except DurationError as exc:
                raise doc.error(pair, f"<op_defaults> timeout: {exc}") from None
    return DEFAULT_OP_TIMEOUT_MS


def boolean_property(doc: XmlDocument, configuration: ET.Element, name: str,
                      default: bool) -> bool:
    """A cluster property that is a boolean; one that is not is bad input (Pacemaker
    would take the default, and crm_verify calls the configuration invalid)."""
    pair = next((p for p in properties(configuration) if p.get("name") == name), None)
    if pair is None:
        return default
    value = boolean(pair.get("value"))
    if value is None:
        raise doc.error(pair, f"{name}={pair.get('value')!r} is not a Pacemaker boolean",
                        "true, on, yes, y, 1 or false, off, no, n, 0")
    return value


QUORUM_POLICIES: dict[str, tuple[str | None, str | None]] = {
    "stop": (None, None),
    # Demote stops what cannot be demoted: every resource crg imports.
    "demote": (None, None),
    "suicide": ("fencing self", "a node that loses quorum fences itself (with STONITH "
                "enabled; without it Pacemaker falls back to stop); crg's closest is fencing "
                "self: a node cut off from the store stops its groups before another may "
                "take them over, without a reboot"),
    "ignore": ("fencing none", "nodes without quorum keep running and recovering their "
               "resources; imported as fencing none (unsafe under partitions, which crg "
               "check shows)"),
    "freeze": ("fencing none", "nodes without quorum keep the resources they run but start "
               "or recover none; crg has no such mode: imported as fencing none (a cut-off "
               "node keeps its groups; unsafe under partitions, which crg check shows)"),
}
"""Each no-quorum-policy (Pacemaker reads it in any case): the fencing statement it
becomes (None: crg's default, fencing self) and the warning that says how it differs."""


def quorum_policy(doc: XmlDocument, configuration: ET.Element, notes: Notes,
                   draft: Draft) -> None:
    pair = next((p for p in properties(configuration)
                 if p.get("name") == "no-quorum-policy"), None)
    if pair is None:
        return
    written = pair.get("value", "")
    if written.lower() not in QUORUM_POLICIES:
        # Pacemaker would take the default, stop, and crm_verify calls it invalid.
        raise doc.error(pair, f"no-quorum-policy={written!r} is not one Pacemaker knows",
                        ", ".join(QUORUM_POLICIES))
    statement, why = QUORUM_POLICIES[written.lower()]
    if statement is None or why is None:
        return
    message = notes.add(doc.where(pair), f"no-quorum-policy={written}: {why}")
    for draft_group in draft.groups:
        draft_group.add(statement, message)


def alerts(doc: XmlDocument, configuration: ET.Element, notes: Notes, draft: Draft) -> None:
    for alert in configuration.iterfind("alerts/alert"):
        path = alert.get("path")
        if not path:
            raise doc.error(alert, f"{doc.describe(alert)} has no path")
        message = notes.add(doc.where(alert), f"{doc.describe(alert)}: Pacemaker calls it for "
                                              "every node, resource and fencing event; crg "
                                              "calls an alert command for the last-node and "
                                              "blocked alerts of each group")
        for group in draft.groups:
            group.statements.append(Statement(f"alert command {literal(path)}", [message]))
        for child in alert:
            if child.tag in ("instance_attributes", "meta_attributes", "select"):
                said = ", ".join(pair_text(p.get("name"), p.get("value"))
                                 for p in child.iter("nvpair")) or ", ".join(
                                     c.tag for c in child)
                notes.add(doc.where(child), f"{doc.describe(alert)}: {child.tag} {said}: no "
                                            "counterpart in crg's alert command; not imported",
                          draft.comments)
        for recipient in alert.iterfind("recipient"):
            notes.add(doc.where(recipient), f"{doc.describe(recipient)}: recipients have no "
                                            "counterpart; not imported", draft.comments)
