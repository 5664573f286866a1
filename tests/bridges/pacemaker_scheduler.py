"""Pacemaker's real scheduler on an exported CIB, one event at a time (``crm_simulate``).

``crm_simulate -x IN -S -O OUT`` computes the transition the scheduler would run for the
cluster status in IN, plus the injected events, pretends every action succeeds and saves
the resulting status. A cluster here is a CIB file that each event rewrites:

* start-up: every node joins at once (``--node-up`` for each);
* ``crash(n)``: ``--node-fail n`` (with stonith disabled, the scheduler takes the node and
  everything on it for stopped, as after fencing);
* ``rejoin(n)``: the node's resource history and transient attributes (fail counts) are
  erased first — what the controller does when a rebooted node joins: it comes back empty
  — then ``--node-up n``;
* ``fault(rsc, interval, n)``: a recurring monitor of ``rsc`` on ``n`` reports "not
  running" (``--op-inject rsc_monitor_INTERVAL@n=7``); crm_simulate records the failed
  operation and raises the fail count, as the controller would;
* ``cleanup(rsc, n)``: what ``crm_resource --cleanup --resource rsc --node n`` has the
  controller do: ``rsc``'s history on ``n`` and its fail counts there are erased (the
  scheduler then probes ``n`` for it, and crm_simulate's probe finds it stopped).
* ``move(g, n)`` and ``clear(g)``: the operator's ``crm_resource --move --resource g
  --node n`` and ``crm_resource --clear --resource g``, run as they are on the CIB file
  (``CIB_file``: crm_resource edits the file instead of a live cluster's CIB). The move
  leaves the location constraint ``cli-prefer-g`` (score INFINITY, on n) until the clear
  removes it (with any ``cli-ban-g-*``).

After the event the scheduler runs again until it schedules nothing (a transition can
leave work for the next one), at most :data:`MAX_TRANSITIONS` times. The placement read
back is each resource's node from the XML status that crm_simulate prints.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

CRM_SIMULATE = shutil.which("crm_simulate") or "/usr/sbin/crm_simulate"
CRM_VERIFY = shutil.which("crm_verify") or "/usr/sbin/crm_verify"
CIBADMIN = shutil.which("cibadmin") or "/usr/sbin/cibadmin"
CRM_RESOURCE = shutil.which("crm_resource") or "/usr/sbin/crm_resource"
MAX_TRANSITIONS = 5
CALL_TIMEOUT_S = 30
ALREADY = 108
"""CRM_EX_EXISTS: crm_resource's exit code for a move to the node the resource runs on
(it writes nothing then)."""
NOT_RUNNING = 7
"""OCF_NOT_RUNNING: what a monitor returns when the application is gone."""


def available() -> bool:
    return Path(CRM_SIMULATE).exists() and Path(CRM_VERIFY).exists()


def verify(cib: Path) -> subprocess.CompletedProcess[str]:
    """``crm_verify --xml-file`` on ``cib``: the configuration's own checks."""
    return subprocess.run([CRM_VERIFY, "--xml-file", str(cib), "-V"], capture_output=True,
                          text=True, timeout=CALL_TIMEOUT_S, check=False)


@functools.cache
def feature_set() -> str:
    """The CIB feature set of the installed Pacemaker, as its empty CIB states it."""
    done = subprocess.run([CIBADMIN, "--empty"], capture_output=True, text=True,
                          timeout=CALL_TIMEOUT_S, check=True)
    return ET.fromstring(done.stdout).get("crm_feature_set", "")


class SchedulerError(RuntimeError):
    """crm_simulate failed or did not settle: the test reports it, never skips it."""


@dataclass
class Cluster:
    """One simulated cluster: a CIB file in ``workdir`` and the placement after each event."""

    workdir: Path
    nodes: tuple[str, ...]
    calls: int = 0

    @classmethod
    def start(cls, cib_text: str, nodes: tuple[str, ...], workdir: Path) -> tuple[Cluster,
                                                                                 dict[str, str]]:
        root = ET.fromstring(cib_text)
        # Quorum and the feature set are the running cluster's to write (the export leaves
        # them out). Without a feature set, Pacemaker reads fail counts in the legacy
        # format (one per resource) and would never see the ones recorded per operation.
        root.set("have-quorum", "1")
        root.set("crm_feature_set", feature_set())
        cluster = cls(workdir, nodes)
        cluster._path.write_text(ET.tostring(root, encoding="unicode"))
        placement = cluster._run([arg for n in nodes for arg in ("--node-up", n)])
        # The start-up run validated the exported configuration against Pacemaker's
        # schema; the events change only the status section, and validating it again at
        # every run was half of each crm_simulate's time (the scheduler's decisions do not
        # depend on it).
        saved = ET.parse(cluster._path).getroot()
        saved.set("validate-with", "none")
        cluster._path.write_text(ET.tostring(saved, encoding="unicode"))
        return cluster, placement

    @property
    def _path(self) -> Path:
        return self.workdir / "cib.xml"

    def crash(self, node: str) -> dict[str, str]:
        return self._run(["--node-fail", node])

    def rejoin(self, node: str) -> dict[str, str]:
        root, node_state = self._node_state(node)
        for child in list(node_state):
            if child.tag == "lrm":
                for entry in list(child):
                    child.remove(entry)
            elif child.tag == "transient_attributes":
                node_state.remove(child)
        self._path.write_text(ET.tostring(root, encoding="unicode"))
        return self._run(["--node-up", node])

    def cleanup(self, resource: str, node: str) -> dict[str, str]:
        root, node_state = self._node_state(node)
        for resources in node_state.iter("lrm_resources"):
            for entry in list(resources):
                if entry.get("id") == resource:
                    resources.remove(entry)
        prefixes = (f"fail-count-{resource}#", f"last-failure-{resource}#")
        for attributes in node_state.iter("instance_attributes"):
            for pair in list(attributes):
                if pair.get("name", "").startswith(prefixes):
                    attributes.remove(pair)
        self._path.write_text(ET.tostring(root, encoding="unicode"))
        return self._run([])

    def move(self, group: str, node: str) -> dict[str, str]:
        """The operator moves ``group`` (the Pacemaker group, named as the crg group) to
        ``node``; without ``--force`` no ``cli-ban`` is written for the node it leaves."""
        # Refused only when the group already runs on ``node``: the real tool then writes
        # nothing and the cluster goes on as it was, and so does this one.
        self._resource_tool(["--move", "--resource", group, "--node", node], ALREADY)
        return self._run([])

    def clear(self, group: str) -> dict[str, str]:
        self._resource_tool(["--clear", "--resource", group])
        return self._run([])

    def fault(self, resource: str, interval_ms: int, node: str) -> dict[str, str]:
        return self._run(["--op-inject",
                          f"{resource}_monitor_{interval_ms}@{node}={NOT_RUNNING}"])

    def _resource_tool(self, args: list[str], *tolerated: int) -> int:
        """``crm_resource ARGS`` on the CIB file; its exit code (0, or one of ``tolerated``)."""
        command = [CRM_RESOURCE, *args]
        done = subprocess.run(command, capture_output=True, text=True, timeout=CALL_TIMEOUT_S,
                              check=False, env={**os.environ, "CIB_file": str(self._path)})
        if done.returncode not in (0, *tolerated):
            raise SchedulerError(f"CIB_file={self._path} {' '.join(command)} exited "
                                 f"{done.returncode}: {done.stderr.strip()[-2000:]}")
        return done.returncode

    def _node_state(self, node: str) -> tuple[ET.Element, ET.Element]:
        root = ET.parse(self._path).getroot()
        for node_state in root.iter("node_state"):
            if node_state.get("uname") == node:
                return root, node_state
        raise SchedulerError(f"no status for node {node} in {self._path}")

    def _run(self, event: list[str]) -> dict[str, str]:
        """Apply ``event`` and let the scheduler settle; the placement: resource -> node."""
        placement: dict[str, str] = {}
        for attempt in range(MAX_TRANSITIONS):
            result = self._simulate(event if attempt == 0 else [])
            placement, pending = _read(result)
            if not pending:
                return placement
        raise SchedulerError(f"crm_simulate still schedules actions after {MAX_TRANSITIONS} "
                             f"transitions in {self.workdir}")

    def _simulate(self, extra: list[str]) -> str:
        out = self.workdir / "next.xml"
        command = [CRM_SIMULATE, "--xml-file", str(self._path), "--simulate", "--save-output",
                   str(out), "--output-as=xml", *extra]
        self.calls += 1
        done = subprocess.run(command, capture_output=True, text=True,
                              timeout=CALL_TIMEOUT_S, check=False)
        if done.returncode != 0:
            raise SchedulerError(f"{' '.join(command)} exited {done.returncode}: "
                                 f"{done.stderr.strip()[-2000:]}")
        out.replace(self._path)
        return done.stdout


def _read(output: str) -> tuple[dict[str, str], bool]:
    """The placement after the transition, and whether the transition did anything."""
    root = ET.fromstring(output)
    status = root.find("revised_cluster_status")
    if status is None:  # nothing was scheduled: the status did not change
        status = root.find("cluster_status")
    assert status is not None
    placement = {}
    for resource in status.iter("resource"):
        nodes = [n.get("name", "") for n in resource.findall("node")]
        if resource.get("active") == "true" and nodes:
            placement[resource.get("id", "")] = ",".join(sorted(nodes))
    actions = root.find("actions")
    return placement, actions is not None and len(actions) > 0
