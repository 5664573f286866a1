"""A :class:`PacemakerConfig` as a shell script of ``pcs`` commands.

The script builds the configuration in a CIB file with ``pcs -f`` and, when given no file,
takes the running cluster's CIB first and pushes it back at the end, so the cluster sees
the whole configuration at once (as pcs's documentation advises) rather than one resource
at a time. Nodes are not created: ``pcs cluster setup`` does that.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterable

from crg.bridges.pacemaker_model import INFINITY, PacemakerConfig, Primitive, seconds_text

_PCS = 'pcs -f "$cib"'

# pcs resource create checks an agent's metadata on this machine; a systemd unit that is
# installed only on the cluster's nodes would be refused without --force.
_NEEDS_FORCE = ("systemd", "lsb")


def pcs_script(config: PacemakerConfig, warnings: list[str]) -> str:
    lines = ["#!/bin/sh",
             f"# Exported by crg from {_one_line(config.source)}: cluster "
             f"{config.cluster_name}."]
    if warnings:
        lines.append("# Not exported or changed (crg export pacemaker printed these too):")
        lines += [f"#   - {_one_line(w)}" for w in warnings]
    # cluster-name is pcs cluster setup's to set; pcs refuses it here.
    properties = " ".join(f"{k}={v}" for k, v in config.properties if k != "cluster-name")
    lines += [
        "#",
        "# Usage: sh THIS_SCRIPT [--cluster-properties] [CIB_FILE]",
        "#   with CIB_FILE: apply the configuration to that file (pcs -f), for example one",
        "#   written by 'pcs cluster cib CIB_FILE'; without: take the running cluster's CIB,",
        "#   apply the configuration to it and push it back in one step.",
        f"#   --cluster-properties: also set {properties}.",
        "#   They hold for every resource of the cluster, not only these groups (an opt-in",
        "#   cluster starts no resource without a location constraint, and fencing off is",
        "#   fencing off for all), so they are set only when asked: for a cluster built",
        "#   for this configuration alone.",
        "set -eu",
        'properties=""',
        'if [ "${1:-}" = "--cluster-properties" ]; then',
        "  properties=1; shift",
        "fi",
        'if [ "$#" -gt 0 ]; then',
        '  cib=$1; push=""',
        "else",
        '  cib=$(mktemp); push=1',
        '  pcs cluster cib "$cib"',
        "fi",
        'if [ -n "$properties" ]; then',
        f"  {_PCS} property set {properties}",
        "else",
        f"  echo 'cluster properties left as they are (--cluster-properties sets "
        f"{properties})' >&2",
        "fi",
    ]
    for group in config.groups:
        for member in group.members:
            lines.append(_resource(member, group.id))
        lines.append(_command(f"resource meta {shlex.quote(group.id)}",
                              (f"{k}={v}" for k, v in group.meta)))
    # One command per resource and direction, naming all its nodes: pcs takes about a
    # second a call, and a group's standby list would otherwise cost one call per node.
    nodes: dict[tuple[str, str], list[str]] = {}
    for location in config.locations:
        node = shlex.quote(location.node)
        if location.score <= -INFINITY:
            nodes.setdefault((location.rsc, "avoids"), []).append(node)
        else:
            nodes.setdefault((location.rsc, "prefers"), []).append(f"{node}={location.score}")
    for (rsc, direction), targets in nodes.items():
        lines.append(f"{_PCS} constraint location {shlex.quote(rsc)} {direction} "
                     + " ".join(targets))
    for colocation in config.colocations:
        # `--` keeps pcs from reading a negative score as an option.
        influence = "true" if colocation.influence else "false"
        lines.append(f"{_PCS} constraint colocation add {shlex.quote(colocation.rsc)} with "
                     f"{shlex.quote(colocation.with_rsc)} -- {colocation.score} "
                     f"id={shlex.quote(colocation.id)} influence={influence}")
    for alert in config.alerts:
        lines.append(_command("alert create", (f"id={alert.id}", f"path={alert.path}")))
    lines += [
        'if [ -n "$push" ]; then',
        '  pcs cluster cib-push "$cib" --config',
        '  rm -f "$cib"',
        "fi",
    ]
    return "\n".join(lines) + "\n"


def _resource(primitive: Primitive, group: str) -> str:
    words = [f"{k}={v}" for k, v in primitive.params]
    for op in primitive.ops:
        words += ["op", op.name]
        if op.interval_ms:
            words.append(f"interval={seconds_text(op.interval_ms)}")
        words.append(f"timeout={seconds_text(op.timeout_ms)}")
    words += ["--group", group]
    if primitive.standard in _NEEDS_FORCE:
        words.append("--force")
    return _command(f"resource create {shlex.quote(primitive.id)} "
                    f"{shlex.quote(primitive.agent)}", words)


def _one_line(text: str) -> str:
    """A comment's text on one line: a line break in a file's name would end the comment
    and make the rest of the name a command of the script."""
    return text.replace("\r", "\\r").replace("\n", "\\n")


def _command(head: str, words: Iterable[str]) -> str:
    return f"{_PCS} {head} " + " ".join(shlex.quote(w) for w in words)
