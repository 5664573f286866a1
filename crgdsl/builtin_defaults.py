"""Values used when neither a group nor the ``defaults`` block sets them (documented in README)."""

from __future__ import annotations

from crg.dsl.model import Failback, Fault, Fencing, Kind

KIND = Kind.FAILOVER
# Manual failback, as in Serviceguard and Oracle Clusterware: a group that survived a failure
# stays where it is until an operator moves it, instead of taking a second outage by itself.
FAILBACK = Failback.MANUAL
FENCING = Fencing.SELF
RESTARTS = 2
RESTART_WINDOW_MS = 5 * 60_000

START_TIMEOUT_MS = 30_000
STOP_TIMEOUT_MS = 10_000
STATUS_TIMEOUT_MS = 5_000
STOP_SIGNAL = "TERM"

MONITOR_INTERVAL_MS = 2_000
MONITOR_TIMEOUT_MS = 1_000
MONITOR_FAILS = 3

LEASE_MS = 3_000
HEARTBEAT_MS = 500
STORE_TIMEOUT_MS = 500
FENCE_MARGIN_MS = 500
MAX_DOWN = 1
FAULTS = frozenset({Fault.CRASH, Fault.APP_FAULT, Fault.SWITCHOVER})

SIGNALS = ("TERM", "INT", "HUP", "QUIT", "KILL", "USR1", "USR2")
RESERVED_GROUP_NAMES = ("all", "none")
