"""The validated configuration: frozen dataclasses, each with the position it came from.

Positions (``span``/``spans``) are excluded from equality, so two files that say the same
thing compare equal however they are laid out (``parse(fmt(x)) == parse(x)``).
"""

from __future__ import annotations

import enum
import ipaddress
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, overload

from crg.dsl.diagnostics import Diagnostic
from crg.dsl.source import NO_SPAN, Source, Span

IPInterface = ipaddress.IPv4Interface | ipaddress.IPv6Interface


class Kind(enum.StrEnum):
    FAILOVER = "failover"
    """A single-instance application that runs where the VIP is and moves with it."""
    INSTANCE = "instance"
    """One instance of a multiple-instance application: runs only on its preferred node;
    elsewhere the VIP is held in offline mode (claims 30-44)."""


class Failback(enum.StrEnum):
    AUTO = "auto"
    MANUAL = "manual"


class Fencing(enum.StrEnum):
    SELF = "self"
    """A node that loses its lease releases the group before anyone may take it over."""
    NONE = "none"
    """The node keeps the group when cut off (unsafe under partitions; the checker shows why)."""


class Fault(enum.StrEnum):
    CRASH = "crash"
    APP_FAULT = "app-fault"
    SWITCHOVER = "switchover"
    """Operator commands on groups: switchover, offline, online."""
    DRAIN = "drain"
    """Operator commands on nodes: drain (maintenance, shutdown) and undrain."""
    PARTITION = "partition"
    MAINTENANCE = "maintenance"
    """Operator maintenance mode of groups: the cluster service takes no action for them
    (``crg maintenance on|off``)."""


class MonitorKind(enum.StrEnum):
    PROCESS = "process"
    TCP = "tcp"
    HTTP = "http"
    EXEC = "exec"


class SinkKind(enum.StrEnum):
    LOG = "log"
    COMMAND = "command"
    WEBHOOK = "webhook"


def _frozen(mapping: Mapping[str, Span] | None = None) -> Mapping[str, Span]:
    return MappingProxyType(dict(mapping or {}))


@dataclass(frozen=True, slots=True)
class Command:
    text: str
    """The command as written, placeholders included."""
    argv: tuple[str, ...]
    """``text`` split like a shell would (no shell is involved unless the app says ``shell``)."""
    timeout_ms: int
    span: Span = field(default=NO_SPAN, compare=False)


@dataclass(frozen=True, slots=True)
class Stop:
    command: Command | None
    """A stop command, or None to stop with ``signal``."""
    signal: str
    """Signal name without the SIG prefix; also what is sent after a stop command times out."""
    timeout_ms: int
    span: Span = field(default=NO_SPAN, compare=False)


@dataclass(frozen=True, slots=True)
class App:
    start: Command
    stop: Stop
    status: Command | None
    env: tuple[tuple[str, str], ...]
    shell: bool
    directory: str | None
    span: Span = field(default=NO_SPAN, compare=False)


@dataclass(frozen=True, slots=True)
class Monitor:
    kind: MonitorKind
    target: str | None
    interval_ms: int
    timeout_ms: int
    fails: int
    span: Span = field(default=NO_SPAN, compare=False)


@dataclass(frozen=True, slots=True)
class Sink:
    kind: SinkKind
    target: str | None
    span: Span = field(default=NO_SPAN, compare=False)


@dataclass(frozen=True, slots=True)
class Vip:
    interface: IPInterface
    device: str | None
    span: Span = field(default=NO_SPAN, compare=False)

    @property
    def address(self) -> str:
        return str(self.interface.ip)

    @property
    def prefix(self) -> int:
        return self.interface.network.prefixlen

    def __str__(self) -> str:
        return str(self.interface)


class OtherGroups(Sequence[str]):
    """Every group of the file but one, in file order: ``notify all``, the default.

    Listing every other group for every group would make a configuration of n groups
    hold n² names (2,000 groups: four million, built and kept before anything is checked);
    this is one view per group on a list all of them share. It is a sequence like any
    other: it iterates, tests membership (in constant time) and compares equal to a tuple
    or list with the same names."""

    __slots__ = ("_hash", "_members", "_names", "name")

    def __init__(self, names: tuple[str, ...], members: frozenset[str], name: str) -> None:
        self._names = names
        self._members = members
        self.name = name
        """The group left out."""
        self._hash: int | None = None

    def __len__(self) -> int:
        return len(self._names) - (1 if self.name in self._members else 0)

    def __iter__(self) -> Iterator[str]:
        return (g for g in self._names if g != self.name)

    def __contains__(self, value: object) -> bool:
        return value != self.name and value in self._members

    @overload
    def __getitem__(self, index: int) -> str: ...
    @overload
    def __getitem__(self, index: slice) -> tuple[str, ...]: ...

    def __getitem__(self, index: int | slice) -> str | tuple[str, ...]:
        return tuple(self)[index]

    def __eq__(self, other: object) -> bool:
        if isinstance(other, OtherGroups):
            return self.name == other.name and self._names == other._names
        if isinstance(other, tuple | list):
            return tuple(self) == tuple(other)
        return NotImplemented

    def __hash__(self) -> int:
        if self._hash is None:
            self._hash = hash(tuple(self))  # as the equal tuple's
        return self._hash

    def __repr__(self) -> str:
        return f"OtherGroups(all but {self.name!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (OtherGroups, (self._names, self._members, self.name))


@dataclass(frozen=True, slots=True)
class Group:
    name: str
    kind: Kind
    vip: Vip
    app: App
    monitors: tuple[Monitor, ...]
    preferred: str
    possible: tuple[str, ...]
    """Standby nodes, in the order they are tried."""
    failback: Failback
    restarts: int
    """Local restarts allowed within ``restart_window_ms`` before the group fails over."""
    restart_window_ms: int
    notify: Sequence[str]
    """Groups that receive this group's service up/down events (default: every other, as
    an :class:`OtherGroups`)."""
    avoid: tuple[str, ...]
    """Groups this one prefers not to share a node with (soft anti-affinity)."""
    alerts: tuple[Sink, ...]
    hooks: tuple[Sink, ...]
    """Where service events *received* from other groups go (in the manner of FAN callouts)."""
    fencing: Fencing
    span: Span = field(default=NO_SPAN, compare=False)
    spans: Mapping[str, Span] = field(default_factory=_frozen, compare=False)
    """Position of each statement by keyword (``preferred``, ``possible``, ``vip``...)."""

    @property
    def candidates(self) -> tuple[str, ...]:
        """The sequenced list: preferred node first, then the possible nodes in order."""
        return (self.preferred, *self.possible)

    def where(self, keyword: str) -> Span:
        return self.spans.get(keyword, self.span)


@dataclass(frozen=True, slots=True)
class Cluster:
    name: str
    nodes: tuple[str, ...]
    lease_ms: int
    heartbeat_ms: int
    store_timeout_ms: int
    fence_margin_ms: int
    max_down: int
    """Checker assumption: at most this many nodes are down (crashed or cut off) at once."""
    faults: frozenset[Fault]
    """Checker assumption: which kinds of fault and command to explore."""
    span: Span = field(default=NO_SPAN, compare=False)
    spans: Mapping[str, Span] = field(default_factory=_frozen, compare=False)
    node_spans: Mapping[str, Span] = field(default_factory=_frozen, compare=False)

    def where(self, keyword: str) -> Span:
        return self.spans.get(keyword, self.span)


@dataclass(frozen=True, slots=True)
class Config:
    cluster: Cluster
    groups: tuple[Group, ...]
    source: Source = field(default=Source("<memory>", ""), compare=False)
    warnings: tuple[Diagnostic, ...] = field(default=(), compare=False)

    def group(self, name: str) -> Group:
        for group in self.groups:
            if group.name == name:
                return group
        raise KeyError(name)

    @property
    def nodes(self) -> tuple[str, ...]:
        return self.cluster.nodes
