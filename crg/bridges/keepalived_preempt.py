"""Which node of a VRRP instance takes the address back when it returns, as keepalived
decides it (``crg import keepalived``): ``state``, ``priority`` and ``nopreempt`` per node.

What keepalived does (keepalived.conf(5); keepalived/vrrp/vrrp_parser.c and vrrp.c,
``vrrp_complete_instance`` and ``vrrp_state_backup``, read for this, not copied):

* ``nopreempt`` sets a flag of the instance and ``preempt`` clears it: the last of the two
  in the block holds. The flag is each node's own; nothing makes the nodes agree.
* ``state MASTER`` (in capitals: anything else but ``BACKUP`` is reported and read as
  BACKUP, and a BACKUP after a MASTER is ignored) is the state the node starts in. An
  instance without ``priority`` gets 255 when it starts as MASTER, else 100 (keepalived
  2.0 and later); one without ``state`` starts as MASTER when its priority is 255 (the
  address owner), else as BACKUP.
* keepalived clears ``nopreempt``, with a configuration error in its log, for priority
  255 ("nopreempt is incompatible with priority 255") and for an instance that starts as
  MASTER ("nopreempt will not work with initial state MASTER").
* A backup that keeps its ``nopreempt`` accepts the advertisements of a master of lower
  priority: it never takes the address from it. Without it, it ignores them and takes the
  address over when its timer runs out: every node with a higher priority than the
  holder's takes the address back when it returns, not the first one alone.

So a group is ``failback manual`` when its preferred node (the highest priority, the one
that would take the address back) keeps its ``nopreempt``, and ``auto`` otherwise. The
nodes between the preferred and the last one may behave otherwise than crg can say
(``auto`` returns to the preferred node only, ``manual`` moves nothing): that is warned.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from crg.bridges.keepalived_syntax import Stmt, error_at

OWNER = 255
"""The address owner's priority (VRRP_PRIO_OWNER)."""
DEFAULT_PRIORITY = 100
"""A backup's priority when the block gives none (VRRP_PRIO_DFL)."""

Warn = Callable[[Stmt, str], object]


@dataclass(frozen=True, slots=True)
class Preemption:
    """One node's part of an instance, as keepalived reads it."""

    priority: int
    master: bool
    """It starts as MASTER (``state MASTER``, or no state and priority 255)."""
    nopreempt: bool
    """``nopreempt`` holds: written, and not cleared by keepalived."""


def read_preemption(node: str, instance: Stmt, warn: Warn) -> Preemption:
    """``instance``'s priority, initial state and nopreempt on ``node``; a warning where
    keepalived reads them otherwise than they are written."""
    states = [s for s in instance.all("state") if s.words]
    master = any(s.words[0] == "MASTER" for s in states)
    for state in states:
        if state.words[0] not in ("MASTER", "BACKUP"):
            warn(state, f"state {state.words[0]} (on {node}): keepalived knows MASTER and "
                        "BACKUP only, as written (in capitals), and reads this as BACKUP; "
                        "so does the import")
    priority = instance.find("priority")
    try:
        if priority is None or not priority.words:
            value = OWNER if master else DEFAULT_PRIORITY
        else:
            value = int(priority.words[0])
        if not 1 <= value <= OWNER:
            raise ValueError(value)
    except ValueError:
        # keepalived too refuses it (and runs with 100 instead, which the order of the
        # candidates would not show).
        raise error_at(priority.args[0] if priority is not None and priority.args
                       else instance, "priority must be a whole number from 1 to 255"
                       ) from None
    if not states and value == OWNER:
        master = True
    flags = [s for s in instance.children or () if s.name in ("nopreempt", "preempt")]
    written = bool(flags) and flags[-1].name == "nopreempt"
    cleared = ("priority 255 (the address owner always takes its address back)"
               if value == OWNER else "state MASTER" if master else None)
    if written and cleared is not None:
        warn(flags[-1], f"nopreempt (on {node}): keepalived clears it for {cleared}, and "
                        f"says so in its log: {node} takes the address back when it "
                        "returns; so does the import")
    return Preemption(value, master, written and cleared is None)


@dataclass(frozen=True, slots=True)
class Failback:
    manual: bool
    differs: str | None
    """What keepalived does that the failback crg writes does not say, if anything."""
    climbing: tuple[str, ...] = ()
    """The nodes it is about."""


def failback(name: str, ordered: Sequence[tuple[str, Preemption]]) -> Failback:
    """The failback of an instance whose nodes are ``ordered`` (preferred first)."""
    (preferred, first), *others = ordered
    manual = first.nopreempt
    if not others:
        return Failback(manual, None)
    last = others[-1][1]
    # A node between the preferred and the last one that keeps no nopreempt takes the
    # address from any node of lower priority when it returns.
    climbing = [n for n, p in others[:-1] if not p.nopreempt and p.priority > last.priority]
    if not climbing:
        return Failback(manual, None)
    which = ", ".join(climbing)
    verb = "takes" if len(climbing) == 1 else "take"
    ours = ("crg's failback manual moves a placed group nowhere" if manual
            else "crg's failback auto returns to the preferred node only")
    why = (f"{preferred}, the preferred node, keeps its nopreempt" if manual
           else f"{preferred}, the preferred node, has no nopreempt")
    return Failback(manual, f"vrrp_instance {name}: {which} (without nopreempt) {verb} the "
                            "address back from a node of lower priority when it returns; "
                            f"{ours} ({why}); give {which} nopreempt for crg and "
                            "keepalived to agree", tuple(climbing))
