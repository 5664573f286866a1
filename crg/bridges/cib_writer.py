"""A :class:`PacemakerConfig` as a CIB XML document (``crg export pacemaker``).

The document is what ``cibadmin --replace --xml-file`` or ``crm_verify --xml-file`` take:
the configuration section (cluster properties, nodes, resources, constraints, alerts) and
an empty status section. Node ids are 1, 2, ... in the order of crg's ``nodes``, which is
how ``pcs cluster setup`` numbers them; a cluster with other corosync node ids should take
the configuration without the ``nodes`` section (or the pcs script, which creates none).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from crg.bridges.pacemaker_model import (
    Ids,
    Op,
    PacemakerConfig,
    Primitive,
    score_text,
    seconds_text,
)

SCHEMA = "pacemaker-3.6"
"""The oldest schema that holds everything exported: ``influence`` on a colocation came
with it (Pacemaker 2.1)."""


def cib_xml(config: PacemakerConfig, warnings: list[str]) -> str:
    """The CIB document; ``warnings`` (what did not map) go into a comment at the top."""
    cib = ET.Element("cib", {"validate-with": SCHEMA, "admin_epoch": "0", "epoch": "1",
                             "num_updates": "0"})
    cib.append(ET.Comment(_header(config, warnings)))
    ids = config.ids()
    configuration = ET.SubElement(cib, "configuration")
    crm_config = ET.SubElement(configuration, "crm_config")
    options = ET.SubElement(crm_config, "cluster_property_set",
                            {"id": ids.take("cib-bootstrap-options")})
    for name, value in config.properties:
        _nvpair(ids, options, name, value)
    nodes = ET.SubElement(configuration, "nodes")
    for index, node in enumerate(config.nodes, start=1):
        ET.SubElement(nodes, "node", {"id": str(index), "uname": node})
    resources = ET.SubElement(configuration, "resources")
    for group in config.groups:
        element = ET.SubElement(resources, "group", {"id": group.id})
        for member in group.members:
            _primitive(ids, element, member)
        meta = ET.SubElement(element, "meta_attributes", {"id": ids.take(f"{group.id}-meta")})
        for name, value in group.meta:
            _nvpair(ids, meta, name, value)
    constraints = ET.SubElement(configuration, "constraints")
    for location in config.locations:
        ET.SubElement(constraints, "rsc_location", {
            "id": location.id, "rsc": location.rsc, "node": location.node,
            "score": score_text(location.score)})
    for colocation in config.colocations:
        ET.SubElement(constraints, "rsc_colocation", {
            "id": colocation.id, "rsc": colocation.rsc, "with-rsc": colocation.with_rsc,
            "score": score_text(colocation.score),
            "influence": "true" if colocation.influence else "false"})
    if config.alerts:
        alerts = ET.SubElement(configuration, "alerts")
        for alert in config.alerts:
            ET.SubElement(alerts, "alert", {"id": alert.id, "path": alert.path})
    ET.SubElement(cib, "status")
    ET.indent(cib, space="  ")
    return ET.tostring(cib, encoding="unicode") + "\n"


def _header(config: PacemakerConfig, warnings: list[str]) -> str:
    lines = [f" Exported by crg from {config.source}: cluster {config.cluster_name}."]
    if warnings:
        lines.append(" Not exported or changed (crg export pacemaker printed these too):")
        lines += [f"   - {w}" for w in warnings]
    return _comment_safe("\n".join(lines)) + "\n"


def _comment_safe(text: str) -> str:
    """``--`` may not appear inside an XML comment: not in a file name or a cluster name
    (``a--b`` is a crg name) either, and not in a run of three dashes, which one
    replacement of ``--`` leaves as ``- --``."""
    return re.sub("-(?=-)", "- ", text)


def _primitive(ids: Ids, parent: ET.Element, primitive: Primitive) -> None:
    attributes = {"id": primitive.id, "class": primitive.standard}
    if primitive.provider:
        attributes["provider"] = primitive.provider
    attributes["type"] = primitive.type
    element = ET.SubElement(parent, "primitive", attributes)
    if primitive.params:
        params = ET.SubElement(element, "instance_attributes",
                               {"id": ids.take(f"{primitive.id}-instance_attributes")})
        for name, value in primitive.params:
            _nvpair(ids, params, name, value)
    operations = ET.SubElement(element, "operations")
    for op in primitive.ops:
        ET.SubElement(operations, "op", {
            "id": ids.take(op_id(primitive, op)),
            "name": op.name, "interval": seconds_text(op.interval_ms),
            "timeout": seconds_text(op.timeout_ms)})


def _nvpair(ids: Ids, parent: ET.Element, name: str, value: str) -> None:
    """An nvpair whose id is its set's, then its name: ``web-meta-migration-threshold``."""
    ET.SubElement(parent, "nvpair", {"id": ids.take(f"{parent.get('id')}-{name}"),
                                     "name": name, "value": value})


def op_id(primitive: Primitive, op: Op) -> str:
    return f"{primitive.id}-{op.name}-interval-{seconds_text(op.interval_ms)}"
