"""Operator commands (``switchover``, ``clear``, ``offline``, ``online``, ``drain``,
``undrain``, ``cleanup``, ``maintenance-on``/``-off``) as the spec's environment events,
shared by the embedded and the one-node runtime.

A command takes effect or says why (README, "Operating a cluster"). The spec says
whether its event can happen in the current state (:func:`crg.spec.present.commands
.refusal`); the one obstacle worth waiting out is a group that is not at rest while the
cluster service takes it somewhere (the spec accepts a command on a group only once it is
settled, SPEC.md choice 11), and that wait is bounded by the client's timeout. Anything
else — the target down, banned, drained, not a candidate, switching disabled, the same
switchover in force — is answered at once. An accepted command is then *followed*: until
the groups it concerns are at rest (no step of the cluster service left for them, no
fault a monitor reported waiting to be applied), and the outcome is what their
placements say then, in the spec's words.

Every command, accepted or refused, is logged and written to the events with the client
that sent it (the peer's pid and uid from the control socket, and its command line).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import psutil

from crg.runtime.commit import (
    CUT_OFF,
    NOT_ENABLED,
    RACE,
    ActorOf,
    Services,
    commit,
    enabled,
    read_state,
)
from crg.runtime.control_outcome import fell_short
from crg.runtime.drivers.sinks import iso_time
from crg.runtime.node_watch import forget_reset
from crg.runtime.notices import extra_for
from crg.runtime.observations import suspects
from crg.runtime.records import SHUTDOWN_MARK
from crg.runtime.store.base import StoreError
from crg.runtime.store_reset_over import reset_over
from crg.spec import Action, ActionKind, Model, State
from crg.spec.present.commands import (
    at_rest,
    cleanups,
    concerned,
    linked,
    needed,
    outcome_line,
    refusal,
)
from crg.spec.present.modes import placement_of
from crg.spec.present.simulation import Event, ScenarioError, Simulation

if TYPE_CHECKING:
    from crg.runtime.machine import Machine

log = logging.getLogger("crg.runtime")

POLL_MS = 200
"""Longest wait for a store change while waiting for a group to come to rest."""

GROUP_COMMANDS = ("switchover", "clear", "offline", "online", "cleanup", "maintenance-on",
                  "maintenance-off")
NODE_COMMANDS = ("drain", "undrain")
OPERATOR_EVENTS = GROUP_COMMANDS + NODE_COMMANDS
"""The requests of the control API that are operator commands on the spec's state."""
CLEANUP_STORE_RESET = "cleanup-store-reset"
"""``crg cleanup --store-reset``: clear the note that the store lost what it held. The
note is the runtime's, not the cluster's state: no spec event."""
OPERATOR_REQUESTS = (*OPERATOR_EVENTS, CLEANUP_STORE_RESET)
"""The requests of the control API that are operator commands."""

ARITY = {"switchover": (2, 2), "clear": (1, 1), "offline": (1, 1), "online": (1, 1),
         "drain": (1, 1), "undrain": (1, 1), "cleanup": (1, 2), "maintenance-on": (0, None),
         "maintenance-off": (0, None)}

# What a command came to (the ``result`` of its answer; the client's exit code).
DONE = "done"
"""Accepted, and its groups came to rest with what it asked for."""
ACCEPTED = "accepted"
"""Accepted; not followed (``--no-wait``)."""
REFUSED = "refused"
"""It cannot take effect now; nothing was changed (for this event)."""
UNSETTLED = "unsettled"
"""Accepted, but its groups did not come to rest within the time given."""
OTHERWISE = "otherwise"
"""Accepted, and its groups came to rest without what it asked for (the switchover's
target failed, say)."""
_SEVERITY = (DONE, ACCEPTED, OTHERWISE, UNSETTLED, REFUSED)


class CommandError(Exception):
    """A request that is not a command at all (an unknown name, a missing argument):
    bad input, exit code 2 for the client."""


@dataclass(frozen=True)
class Client:
    """Who sent a command: the peer of the control socket (``SO_PEERCRED``)."""

    pid: int | None = None
    uid: int | None = None
    command: str | None = None
    """Its command line, when it can be read (``crg switchover web n2``)."""
    gone: asyncio.Event | None = field(default=None, compare=False, repr=False)
    """Set when the client closed its connection before its answer (see
    ``crg.runtime.control``)."""

    @property
    def left(self) -> bool:
        """The client went away (interrupted): nothing more is to be done for it."""
        return self.gone is not None and self.gone.is_set()

    @staticmethod
    def of(peer: Any) -> Client:
        if not isinstance(peer, Mapping):
            return Client()
        pid, uid, gone = peer.get("pid"), peer.get("uid"), peer.get("gone")
        pid = pid if isinstance(pid, int) and pid > 0 else None
        command = None
        if pid is not None:
            try:
                argv = psutil.Process(pid).cmdline()
                command = " ".join(_shorter(a) if i < 2 else a
                                   for i, a in enumerate(argv))[:200] or None
            except (psutil.Error, OSError):
                pass
        return Client(pid, uid if isinstance(uid, int) else None, command,
                      gone if isinstance(gone, asyncio.Event) else None)

    @staticmethod
    def itself(why: str) -> Client:
        """The runtime, giving a command of its own (``crg run`` draining to stop)."""
        return Client(os.getpid(), os.getuid(), f"this runtime: {why}")

    def as_dict(self) -> dict[str, Any]:
        return {"pid": self.pid, "uid": self.uid, "command": self.command}

    def __str__(self) -> str:
        if self.pid is None:
            return "an unknown client"
        who = f"pid {self.pid}, uid {self.uid}"
        return f"{who} ({self.command})" if self.command else who


def _shorter(arg: str) -> str:
    """``/usr/bin/python3 /usr/local/bin/crg`` reads as ``python3 crg``."""
    return arg.rsplit("/", 1)[-1] if arg.startswith("/") else arg


def in_maintenance(model: Model, state: State, owner: int | None = None) -> list[str]:
    """The groups in maintenance (owned by node ``owner``, if given): a runtime that
    stops ends their maintenance first, so that they halt in order instead of being
    killed when its time is up."""
    out = []
    for topo in model.groups:
        gv = model.group_vars(state, topo.index)
        if gv.maintenance and (owner is None or gv.owner == owner + 1):
            out.append(topo.name)
    return out


def text(event: Event) -> str:
    """``switchover web n2``, ``maintenance on web`` (the command as an operator types
    it)."""
    name = ("cleanup --store-reset" if event.name == CLEANUP_STORE_RESET
            else event.name.replace("maintenance-", "maintenance "))
    return " ".join((name, *event.args))


@dataclass
class Answer:
    results: list[dict[str, Any]] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)
    outcome: dict[str, Any] = field(default_factory=dict)

    @property
    def result(self) -> str:
        found = [str(r["result"]) for r in self.results] or [REFUSED]
        taken = [r for r in found if r != REFUSED]
        if taken and len(taken) < len(found):
            # Some of its events were taken (maintenance on a b, a refused): "refused"
            # would say that nothing changed. Not all it asked for came about: each line
            # says which.
            return max((*taken, OTHERWISE), key=_SEVERITY.index)
        return max(found, key=_SEVERITY.index)

    def as_dict(self) -> dict[str, Any]:
        return {"result": self.result, "message": "\n".join(self.lines),
                "lines": self.lines, "results": self.results, "outcome": self.outcome}


class StoreAway(Exception):
    """The store cannot be read now (it does not answer, or this node is cut off from it):
    nothing can be decided on a command, which is refused (or, accepted, not followed)
    with this reason — never an error that reads as a runtime that stopped."""


Reported = Callable[[str], Sequence[str]]
"""Group -> the nodes where its monitors reported a failure that is not applied yet."""


def _none_reported(group: str) -> Sequence[str]:
    return ()


def _nothing() -> None:
    pass


DEFAULT_TIMEOUT_S = 10.0
"""How long a request that does not say waits for its group to come to rest."""
MAX_TIMEOUT_S = 24 * 3600.0


STOPPING = ("the runtime is stopping (Ctrl-C or SIGTERM) and takes no more commands: "
            "it is halting its groups in order; nothing was changed")
"""Why a runtime on its way out refuses operator commands: a command taken then (an
undrain, an online) would start again what the shutdown is halting, until its deadline
killed it."""


def timeout_of(request: Mapping[str, Any]) -> float:
    """The request's ``timeout`` in seconds (CommandError for one that is not a number
    between 0 and a day)."""
    value = request.get("timeout", DEFAULT_TIMEOUT_S)
    if isinstance(value, bool) or not isinstance(value, int | float) or \
            not 0 <= value <= MAX_TIMEOUT_S:
        raise CommandError(f"bad request: timeout {value!r} is not a number of seconds "
                           f"between 0 and {MAX_TIMEOUT_S:g}")
    return float(value)


@dataclass
class Operator:
    services: Services
    simulation: Simulation
    actor_of: ActorOf
    reported: Reported = _none_reported
    on_accept: Callable[[], None] = _nothing
    """Called after each accepted event (the embedded runtime wakes its lanes)."""
    dead: Callable[[], Iterable[str]] = tuple
    """The nodes this process knows are dead before their leases say so (the embedded
    runtime's crashed agents)."""
    holding: Callable[[], str | None] = _nothing
    """Why this runtime's agent takes no step yet (``crg run --start-wait``: None when it
    does), said with a command whose groups did not come to rest in time."""
    machine: Machine | None = None
    """Whose alert sinks hear that the store-reset alert is over when ``crg cleanup
    --store-reset`` clears its note (None: nobody's; the embedded runtime's store never
    loses what it holds)."""

    def actor(self) -> Any:
        return self.actor_of() if callable(self.actor_of) else self.actor_of

    async def state(self) -> tuple[int, State]:
        """The store's revision and the spec's state in it. Raises StoreAway when the
        store cannot be read, and when this node is cut off from it: its last view would
        decide the command on a cluster that may have moved on."""
        actor = self.actor()
        if actor.cut:
            raise StoreAway(f"{actor.node} is {CUT_OFF} (its lease was not renewed in time: "
                            "it fences itself); try again once it is back in contact (crg "
                            "status says so)")
        try:
            snap, state = await read_state(self.services, actor)
        except StoreError as exc:
            raise StoreAway(self._unreadable(exc)) from None
        return snap.revision, state

    async def wait(self, revision: int) -> None:
        try:
            await self.services.store.wait(self.services.keys.prefix, revision, POLL_MS)
        except StoreError as exc:
            raise StoreAway(self._unreadable(exc)) from None

    def _unreadable(self, exc: StoreError) -> str:
        return (f"{self.actor().node or 'the runtime'} cannot read the store ({exc}); try "
                "again once it answers")

    # -- the command as a whole -------------------------------------------------------------

    async def command(self, op: str, args: Sequence[str], *, every_group: bool = False,
                      timeout_s: float = 10.0, follow: bool = False,
                      client: Client | None = None) -> dict[str, Any]:
        """Carry out ``op`` (see the module's docstring) within ``timeout_s``: waiting for
        a group that is on its way to rest before its event is accepted and, with
        ``follow``, for the groups concerned to come to rest after. Raises CommandError
        for bad input."""
        client = client or Client()
        if op == CLEANUP_STORE_RESET:
            return await self.forget_store_reset(client)
        deadline = time.monotonic() + max(timeout_s, 0.0)
        answer = Answer()
        try:
            events = await self.events(op, tuple(args), every_group, answer, client)
        except StoreAway as exc:  # it had to read the store to know which events
            self._refused(Event(op, tuple(args)), f"{exc}; nothing was changed", answer,
                          client)
            return answer.as_dict()
        accepted = []
        for event in events:
            if await self.accept(event, deadline, answer, client):
                accepted.append(event)
        if accepted and follow:
            await self.follow(accepted, deadline, answer, client)
        elif accepted:
            answer.lines.extend(f"{text(e)}: accepted" for e in accepted)
        return answer.as_dict()

    async def events(self, op: str, args: tuple[str, ...], every_group: bool, answer: Answer,
                     client: Client) -> list[Event]:
        """The spec events ``op`` stands for: one, or (``cleanup GROUP``) one per node with
        something to clean up, or (``maintenance on|off``) one per group."""
        if op not in ARITY:
            raise CommandError(f"unknown request {op!r}")
        low, high = ARITY[op]
        if op.startswith("maintenance-"):
            groups = [g.name for g in self.simulation.config.groups] if every_group else args
            if not groups or (every_group and args):
                raise CommandError(f"{text(Event(op, ()))}: name the groups, or --all "
                                   "(not both)" if args else
                                   f"{text(Event(op, ()))}: name a group, or --all")
            events = [Event(op, (group,)) for group in dict.fromkeys(groups)]
            if every_group:  # --all: every group that is not already as asked
                _, state = await self.state()
                left = needed(self.simulation.model, state, events)
                answer.lines.extend(f"{text(e)}: nothing to do: "
                                    f"{self.simulation.obstacle(state, e)}"
                                    for e in events if e not in left)
                events = left
        elif not low <= len(args) <= (high or len(args)):
            raise CommandError(f"{op} takes {low if low == high else f'{low} or {high}'} "
                               f"argument(s), not {len(args)}")
        elif op == "cleanup" and len(args) == 1:
            self._check(Event(op, args))  # "cleanup wb: unknown group...", as every command
            _, state = await self.state()
            events = cleanups(self.simulation, state, args[0])
            if not events:
                reason = (f"{args[0]} has no failure recorded: no restart used and no node "
                          "banned, nothing to clean up")
                self._refused(Event(op, args), reason, answer, client)
        else:
            events = [Event(op, args)]
        for event in events:
            self._check(event)
        return events

    async def forget_store_reset(self, client: Client) -> dict[str, Any]:
        """Clear the note that the store lost what it held (:func:`crg.runtime.node_watch
        .reset`), which ``crg status`` says until then: the operator has given again the
        commands still wanted. Refused when there is no such note."""
        event, answer = Event(CLEANUP_STORE_RESET, ()), Answer()
        try:
            mark = await forget_reset(self.services.store, self.services.keys)
        except StoreError as exc:
            self._refused(event, f"{self._unreadable(exc)}; nothing was changed", answer,
                          client)
            return answer.as_dict()
        if mark is None:
            self._refused(event, "nothing to clear: no loss of what the store held is "
                          "noted (none was seen, or its note is cleared already)", answer,
                          client)
            return answer.as_dict()
        since = mark.get("since")
        when = f" on {iso_time(since)}" if isinstance(since, int | float) else ""
        line = (f"cleared the note that the store lost what it held{when}; what operators "
                "had set before it is given again by hand only (crg status shows what is "
                "set now)")
        # Accepted, then its outcome, as every command that takes effect is recorded.
        self._accepted(event, answer, client)
        answer.results[-1]["result"] = DONE
        answer.lines.append(f"{text(event)}: {line}")
        log.info("command %s: %s", text(event), line)
        self.services.events.emit({"event": "command-outcome", "command": event.name,
                                   "args": [], "result": DONE, "detail": line})
        if self.machine is not None:  # the page's episode ends with its note
            reset_over(self.machine, mark, str(client))
        return answer.as_dict()

    def _check(self, event: Event) -> None:
        try:
            self.simulation.check_names(event)
        except ScenarioError as exc:
            raise CommandError(f"{text(event)}: {exc.reason}") from None

    # -- accepting ------------------------------------------------------------------------

    async def accept(self, event: Event, deadline: float, answer: Answer,
                     client: Client) -> bool:
        """Commit ``event`` once the spec enables it; wait (until ``deadline``) only while
        its group is on its way to rest. Returns whether it was accepted."""
        try:
            return await self._accept(event, deadline, answer, client)
        except StoreAway as exc:
            self._refused(event, f"{exc}; nothing was changed", answer, client)
            return False

    async def _accept(self, event: Event, deadline: float, answer: Answer,
                      client: Client) -> bool:
        began = time.monotonic()
        while True:
            if client.left:  # Ctrl-C on a command still waiting: it must not happen later
                self._refused(event, "its client went away (interrupted?) before it could "
                              "be taken; nothing was changed", answer, client)
                return False
            revision, state = await self.state()
            refused = refusal(self.simulation, state, event)
            if refused is None and (why := await self._runtime_refusal(event)) is not None:
                self._refused(event, why, answer, client)
                return False
            if refused is None:
                action = self.simulation.action(state, event)
                try:
                    outcome = await commit(self.services, self.actor_of, action,
                                           extra_for(self.services, action,
                                                     self.actor().node or "runtime",
                                                     "operator"))
                except StoreError as exc:
                    self._unknown(event, str(exc), answer, client)
                    return False
                if outcome.committed:
                    self._accepted(event, answer, client)
                    self.on_accept()
                    return True
                if outcome.why not in (RACE, NOT_ENABLED):
                    self._refused(event, outcome.why, answer, client)  # cut off, say
                    return False
                # The store changed since it was read: look again.
            elif not refused.busy:
                self._refused(event, refused.reason, answer, client)
                return False
            elif time.monotonic() >= deadline:
                waited = time.monotonic() - began
                held = self.holding()
                self._refused(event, f"{refused.reason}, and did not come to rest within "
                              f"{waited:.0f} s{f' ({held})' if held else ''}; try again "
                              "when it is (crg status)", answer, client)
                return False
            await self.wait(revision)

    async def _runtime_refusal(self, event: Event) -> str | None:
        """Why the runtime refuses a command that the spec takes (None: it does not)."""
        try:
            return await self._silent_target(event) or await self._stopping_node(event)
        except StoreError:
            return None  # the commit that follows meets the store's trouble and says it

    async def _stopping_node(self, event: Event) -> str | None:
        """Why an undrain must not be taken: the node drained itself to stop and its
        agent is still moving its groups away. Taken from another host, the undrain brought
        them back onto a node whose agent then killed them at its stop deadline."""
        if event.name != "undrain":
            return None
        node, keys, store = event.args[0], self.services.keys, self.services.store
        mark = (await store.snapshot(keys.drained(node))).get(keys.drained(node))
        if mark is None or mark.value != SHUTDOWN_MARK:
            return None
        if (await store.snapshot(keys.node(node))).get(keys.node(node)) is None:
            return None  # stopped already: a node that is gone may be undrained, as any
        return (f"{node} is stopping (its agent drained it to stop cleanly and is moving its "
                "groups away); it takes them back itself when it starts again")

    async def _silent_target(self, event: Event) -> str | None:
        """Why a switchover must not go to its target although the spec takes it: the
        target stopped renewing its lease (a crash not yet counted, a hung host). The spec
        sees it up until its lease runs out; the group would halt where it runs, wait for
        a node that never claims it, and come back once the target is counted down — an
        outage for nothing, which the operator asked for only because status still said
        the node was up a moment before."""
        if event.name != "switchover":
            return None
        node, s = event.args[1], self.services
        snap = await s.store.snapshot(s.keys.node(node))
        silent = await suspects(s.store, snap, s.keys, [node], s.config.cluster,
                                dead=self.dead())
        if node not in silent:
            return None
        return (f"{node} stopped renewing its lease (it runs out in {silent[node]:g} s): it "
                "may be dead, and the group would halt here to wait for it; switch over "
                "once it renews again (crg status shows it up, not suspect), or to another "
                "node")

    def refuse(self, op: str, args: Sequence[str], reason: str,
               client: Client | None = None) -> dict[str, Any]:
        """Refuse ``op`` as a whole before asking the spec (the runtime is stopping, say):
        logged and recorded as every refused command is."""
        answer = Answer()
        self._refused(Event(op, tuple(args)), reason, answer, client or Client())
        return answer.as_dict()

    def _accepted(self, event: Event, answer: Answer, client: Client) -> None:
        log.info("command %s from %s: accepted", text(event), client)
        self.services.events.emit({"event": "command", "command": event.name,
                                   "args": list(event.args), "client": client.as_dict(),
                                   "result": ACCEPTED})
        answer.results.append({"command": text(event), "result": ACCEPTED, "reason": None})

    def _unknown(self, event: Event, why: str, answer: Answer, client: Client) -> None:
        """The store stopped answering while the command was written (or right after,
        before the write could be looked for): it may have landed. Neither refused
        (something may have changed) nor accepted (it may not have)."""
        line = (f"may or may not have been taken: the store stopped answering while it was "
                f"written ({why}); crg status says whether it was, once the store answers "
                "— give it again only then")
        self._not_taken(event, UNSETTLED, line, line, answer, client)

    def _refused(self, event: Event, reason: str, answer: Answer, client: Client) -> None:
        self._not_taken(event, REFUSED, reason, f"refused: {reason}", answer, client)

    def _not_taken(self, event: Event, result: str, reason: str, said: str, answer: Answer,
                   client: Client) -> None:
        """Log, record and answer a command that was not (or not surely) taken."""
        self._answered(event, result, reason, said, answer, client, logging.WARNING)

    def _answered(self, event: Event, result: str, reason: str | None, said: str,
                  answer: Answer, client: Client, level: int) -> None:
        """Log, record and answer a command with what came of it, in a line."""
        log.log(level, "command %s from %s: %s", text(event), client, said)
        self.services.events.emit({"event": "command", "command": event.name,
                                   "args": list(event.args), "client": client.as_dict(),
                                   "result": result, "reason": reason})
        answer.results.append({"command": text(event), "result": result, "reason": reason})
        answer.lines.append(f"{text(event)}: {said}")

    # -- following ------------------------------------------------------------------------

    async def follow(self, events: Sequence[Event], deadline: float, answer: Answer,
                     client: Client | None = None) -> None:
        """Wait until the groups ``events`` concern are at rest (bounded by ``deadline``,
        and by the client: one that went away is followed no longer); then say, in the
        answer, how each command came out."""
        model = self.simulation.model
        groups = tuple(dict.fromkeys(g for e in events for g in concerned(model, e)))
        # Groups linked to them by avoid may be moved by the command too: waited for (not
        # counted in its result) and named if they moved.
        others = linked(model, groups)
        began = time.monotonic()
        try:
            revision, first = await self.state()
        except StoreAway as exc:
            self._unfollowed(events, answer, str(exc))
            return
        state, away = first, None
        while True:
            resting = at_rest(model, state, groups) and not self._pending(state, groups)
            gone = client is not None and client.left
            if (resting and at_rest(model, state, others)) or gone or \
                    time.monotonic() >= deadline:
                break
            try:
                await self.wait(revision)
                revision, state = await self.state()
            except StoreAway as exc:  # accepted: say what is known, not "refused"
                away = str(exc)
                break
        waited = time.monotonic() - began
        results = {r["command"]: r for r in answer.results}
        for event in events:
            short = fell_short(model, state, event, self.reported) if resting else None
            if gone and not resting:
                # Ctrl-C while it was followed: nobody reads the answer, and an outcome
                # logged up to --timeout (a day at most) later would read as news.
                result, line = ACCEPTED, ("accepted; its client went away before its groups "
                                          "came to rest (it stays in force)")
            elif not resting and away is not None:
                result, line = UNSETTLED, (f"accepted, but not followed to rest: {away} "
                                           "(it stays in force; crg status shows the rest)")
            elif not resting:
                held = self.holding()
                result, line = UNSETTLED, (f"accepted, but not at rest within {waited:.0f} s "
                                           f"({f'{held}; ' if held else ''}it stays in "
                                           "force; crg status shows the rest)")
            elif short is not None:
                result, line = OTHERWISE, f"accepted, but {short}"
            else:
                result, line = DONE, "done"
            results[text(event)]["result"] = result
            answer.lines.append(f"{text(event)}: {line}")
            log.info("command %s: %s", text(event), line)
            self.services.events.emit({"event": "command-outcome", "command": event.name,
                                       "args": list(event.args), "result": result,
                                       "detail": line})
        for g in groups:
            p = placement_of(model, state, g)
            if p.node is not None and p.node in self.reported(p.group):
                # Its monitors say failed, held (in maintenance) or not applied yet: what
                # crg status shows, not the spec's "up" of before the failure.
                p = dataclasses.replace(p, app="failed")
            answer.lines.append(f"  {outcome_line(p)}")
            answer.outcome[p.group] = {**p.as_dict(), "target": p.target}
        for g in others:
            before, p = placement_of(model, first, g), placement_of(model, state, g)
            if before.node != p.node:
                answer.lines.append(f"  {outcome_line(p)} (moved too: it was on "
                                    f"{before.node or 'no node'})")
                answer.outcome[p.group] = {**p.as_dict(), "target": p.target}

    def _unfollowed(self, events: Sequence[Event], answer: Answer, why: str) -> None:
        """The commands were accepted, and the store could not be read after: how they
        came out is not known here."""
        results = {r["command"]: r for r in answer.results}
        for event in events:
            line = (f"accepted, but not followed to rest: {why} (it stays in force; crg "
                    "status shows the rest)")
            results[text(event)]["result"] = UNSETTLED
            answer.lines.append(f"{text(event)}: {line}")
            log.info("command %s: %s", text(event), line)
            self.services.events.emit({"event": "command-outcome", "command": event.name,
                                       "args": list(event.args), "result": UNSETTLED,
                                       "detail": line})

    def _pending(self, state: State, groups: tuple[int, ...]) -> bool:
        """A failure a monitor reported for one of ``groups`` waits to be applied (as the
        spec's ``fault``, which it would start moving the group)."""
        model = self.services.model
        for g in groups:
            name = model.groups[g].name
            for node in self.reported(name):
                fault = Action(ActionKind.FAULT, g, model.topology.node_index(node))
                if enabled(model, state, fault) is not None:
                    return True
        return False
