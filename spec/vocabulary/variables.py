"""State variables of the model (see SPEC.md, "State").

The state of a cluster is the node variables plus one :class:`GroupVars` per group. The
field values are ints/bools when evaluated concretely and z3 terms symbolically; the
field *names* are the vocabulary of SPEC.md.
"""

from __future__ import annotations

from typing import Any, NamedTuple


class NodeVars(NamedTuple):
    """Node status as three masks; a node in none of them is *up*.

    A node is *live* (its lease is valid, the store counts it) unless it is down or lost.
    """

    down: Any
    """Crashed: nothing runs there; its lease is gone."""
    cut: Any
    """Partitioned away but running, lease not yet expired: the others still count it."""
    lost: Any
    """Partitioned away, running, lease expired: the others have given up on it."""
    drained: Any
    """An operator is taking the node out of service (maintenance or shutdown): it stays
    up and halts its groups in order, but no group is placed on it."""


class GroupVars(NamedTuple):
    owner: Any
    """Node index + 1 of the node holding the group's ownership key (0: none). The key is
    bound to the owner's lease, so it disappears when the owner crashes or is lost."""
    target: Any
    """Switchover target, node index + 1 (0: none); in force while that node is live."""
    vip: Any
    """Mask of nodes where the VIP is configured (the physical truth, not the store's)."""
    app: Any
    """Mask of nodes where the application's process group exists."""
    mon: Any
    """Mask of nodes where the group's monitors run."""
    wd: Any
    """Mask of nodes running a watchdog for the group."""
    ban: Any
    """Mask of nodes where the group spent its restart budget (ineligible until forgiven)."""
    restarts: Any
    """Local restarts used on the current owner."""
    announced: Any
    """The last service event sent was *up* (so a *down* is owed when the service stops)."""
    alerted: Any
    """The last-node alert has been raised in the current episode: the stretch of states
    in which the group sits on its last available candidate (cleared by the very event
    that ends the stretch)."""
    blocked_alerted: Any
    """The blocked alert has been raised in the current episode: the stretch in which the
    group cannot run anywhere (its owner and every other candidate banned or out)."""
    stranded_alerted: Any
    """The stranded alert has been raised in the current episode: the stretch in which
    nobody hosts the group and none of its candidates is available (every node of its list
    down, lost or drained), so its service is down until one comes back."""
    failed: Any
    """The monitors reported the application failed on its owner; not yet cleaned up."""
    offline: Any
    """An operator put the group in offline mode: VIP held, application stopped."""
    maintenance: Any
    """An operator put the group in maintenance: the cluster service takes no action for it
    (no start, stop, move or clean-up; the alerts and self-fencing go on)."""


FLAG_FIELDS: tuple[str, ...] = ("announced", "alerted", "blocked_alerted", "stranded_alerted",
                                "failed", "offline", "maintenance")
"""The boolean group variables, in the order the packed layout stores them."""

MASK_FIELDS: tuple[str, ...] = ("vip", "app", "mon", "wd", "ban")
"""The per-node bit masks of a group, in the order the packed layout stores them."""

class AvoidedVars(NamedTuple):
    """What a group's rules read of a group it avoids: where it is, and what decides
    whether it stays there (a switchover target in force, its bans, maintenance). These
    change only by events, never by a step of the cluster service, so a group's own steps
    see them constant between events."""

    owner: Any
    target: Any
    ban: Any
    maintenance: Any


def avoided_vars(g: GroupVars) -> AvoidedVars:
    """The part of ``g`` a group avoiding it reads."""
    return AvoidedVars(g.owner, g.target, g.ban, g.maintenance)


NO_NODE = 0
"""Owner/target value meaning "no node"."""
