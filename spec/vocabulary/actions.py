"""Actions: every transition of the model is one :class:`Action` of a known kind.

An action is ``(kind, group, node)`` with ``-1`` for "not applicable". Which rule defines
each kind, whether it is a step of the cluster service or an event of the environment,
and which fault kind enables it, is the rules' business: :mod:`crg.spec.rules.registry`.
"""

from __future__ import annotations

import enum
from typing import NamedTuple


class ActionKind(enum.IntEnum):
    # The cluster service, per group and node, in the order SPEC.md presents them.
    CLAIM = 0
    ACQUIRE_VIP = 1
    START_APP = 2
    START_MONITORS = 3
    NOTIFY_UP = 4
    STOP_MONITORS = 5
    STOP_APP = 6
    RELEASE_VIP = 7
    NOTIFY_DOWN = 8
    RELEASE_OWNERSHIP = 9
    WATCHDOG_CLEAN = 10
    WATCHDOG_RETIRE = 11
    FENCE = 12
    ALERT = 13
    ALERT_BLOCKED = 14
    # Time: a cut-off node's lease expires (system, per node).
    EXPIRE = 15
    # The environment, per node.
    CRASH = 16
    REJOIN = 17
    PARTITION = 18
    HEAL = 19
    # The environment, per group.
    FAULT = 20
    SWITCHOVER = 21
    FORGIVE = 22
    OFFLINE = 23
    ONLINE = 24
    # The environment (an operator), per node: maintenance or shutdown.
    DRAIN = 25
    UNDRAIN = 26
    # The environment (an operator), per group and node: clearing a failure record.
    CLEANUP = 27
    # The environment (an operator), per group: maintenance mode.
    MAINTENANCE_ON = 28
    MAINTENANCE_OFF = 29
    # The environment (an operator), per group: withdrawing a switchover.
    CLEAR = 30
    # The cluster service, per group, by the cluster's coordinator: the stranded alert
    # (numbered last so that the kinds recorded before it keep their numbers).
    ALERT_STRANDED = 31

    @property
    def label(self) -> str:
        return self.name.lower().replace("_", "-")


class Action(NamedTuple):
    kind: ActionKind
    group: int
    """Group index, or -1 for node events."""
    node: int
    """Node index (the node performing or suffering the action), or -1."""
