"""Operator commands read against a state (crg.spec.present.commands): refused at once for
what waiting cannot change, *busy* only while the group is on its way to rest, the groups
a command concerns, and whether what it asked for holds."""

from __future__ import annotations

from spec_helpers import config, simulate, system_path

from crg.spec import State
from crg.spec.present.commands import (
    Refusal,
    at_rest,
    cleanups,
    concerned,
    linked,
    needed,
    outcome_line,
    refusal,
    shortfall,
)
from crg.spec.present.modes import placement_of
from crg.spec.present.simulation import Event, Simulation

TRIO = config("nodes n1 n2 n3\n  assume at most 2 nodes down",
              "g: preferred n1 possible n2, n3 failback manual restarts 1",
              "h: preferred n3 possible n2")


def settled(*argv: str) -> tuple[Simulation, State]:
    sim, steps = simulate(TRIO, *argv)
    return sim, steps[-1].state


def refused(sim: Simulation, state: State, *event: str) -> Refusal | None:
    return refusal(sim, state, Event(event[0], tuple(event[1:])))


def test_an_enabled_command_is_not_refused() -> None:
    sim, state = settled()
    assert refused(sim, state, "switchover", "g", "n2") is None
    assert refused(sim, state, "drain", "n1") is None
    assert refused(sim, state, "maintenance-on", "g") is None


def test_what_waiting_cannot_change_is_refused_at_once() -> None:
    sim, state = settled("--fail", "n2")
    down = refused(sim, state, "switchover", "g", "n2")
    assert down == Refusal("n2 is down; it must be up", busy=False)
    # A node outside the list is refused as the others are: the names are valid.
    outside = refused(sim, state, "switchover", "h", "n1")
    assert outside is not None and not outside.busy
    assert "n1 is not a candidate of h" in outside.reason
    sim, state = settled("--drain", "n2")
    assert refused(sim, state, "switchover", "g", "n2") == Refusal(
        "n2 is drained: it may not host groups", busy=False)
    assert refused(sim, state, "drain", "n2") == Refusal("n2 is already drained", busy=False)
    assert refused(sim, state, "undrain", "n1") == Refusal("n1 is not drained", busy=False)


def test_a_banned_target_is_refused_with_what_to_do() -> None:
    sim, state = settled("--switchover", "g", "n2", "--fault", "g", "--fault", "g")
    assert placement_of(sim.model, state, 0).node == "n1"  # the ban sent it back
    banned = refused(sim, state, "switchover", "g", "n2")
    assert banned is not None and not banned.busy
    assert banned.reason.startswith("g has spent its restart budget on n2; clean up first "
                                    "(crg cleanup g n2)")
    assert [e.args for e in cleanups(sim, state, "g")] == [("g", "n2")]
    assert shortfall(sim.model, state, Event("switchover", ("g", "n2"))) == \
        "g is on n1 (mode normal), not on n2"


def test_a_switchover_whose_target_went_down_says_so() -> None:
    # accepted, then its target lost (a host that had hung a moment before): "not on n2"
    # alone read as a switchover that failed for no reason
    sim, state = settled("--switchover", "g", "n2", "--fail", "n2")
    assert placement_of(sim.model, state, 0).node == "n1"
    assert shortfall(sim.model, state, Event("switchover", ("g", "n2"))) == \
        "g is on n1 (mode normal), not on n2: n2 is down, which withdrew the switchover"


def test_every_node_down_refuses_a_switchover_by_the_target_not_by_waiting() -> None:
    sim, state = settled("--fail", "n1", "--fail", "n2", "--fail", "n3")
    assert refused(sim, state, "switchover", "g", "n2") == Refusal(
        "n2 is down; it must be up", busy=False)
    # Offline needs a placed group; with none available nothing will place it: no wait.
    offline = refused(sim, state, "offline", "g")
    assert offline == Refusal("g is not placed on any node (mode down)", busy=False)


def test_a_group_on_its_way_to_rest_is_busy() -> None:
    sim, state = settled()
    moving = sim.model.apply(state, sim.action(state, Event("drain", ("n1",))))
    assert not at_rest(sim.model, moving, (0,))
    assert at_rest(sim.model, moving, (1,)), "h has nothing on n1"
    busy = refused(sim, moving, "offline", "g")
    assert busy is not None and busy.busy and busy.reason.startswith("g is not at rest")
    for _, after in system_path(sim.model, moving):
        moving = after
    assert refused(sim, moving, "offline", "g") is None


def test_what_a_command_concerns_and_what_it_asked_for() -> None:
    sim, state = settled()
    model = sim.model
    assert concerned(model, Event("drain", ("n2",))) == (0, 1)
    assert concerned(model, Event("drain", ("n1",))) == (0,)
    assert concerned(model, Event("offline", ("h",))) == (1,)
    assert shortfall(model, state, Event("drain", ("n1",))) == "n1 still hosts g"
    assert shortfall(model, state, Event("drain", ("n2",))) is None
    assert shortfall(model, state, Event("switchover", ("g", "n1"))) is None
    assert cleanups(sim, state, "g") == []
    assert outcome_line(placement_of(model, state, 0)) == "g: normal on n1, application up"


def test_offline_and_online_fall_short_in_maintenance() -> None:
    # Accepted (the flag is set), but the cluster service takes no action for a group in
    # maintenance: the application keeps running, or stays stopped, until it ends — the
    # runtime said "done" (exit 0) with the application still answering.
    sim, state = settled("--maintenance-on", "g", "--offline", "g")
    short = shortfall(sim.model, state, Event("offline", ("g",)))
    assert short is not None and "g is in maintenance" in short and "still runs" in short
    sim, state = settled("--offline", "g", "--maintenance-on", "g", "--online", "g")
    short = shortfall(sim.model, state, Event("online", ("g",)))
    assert short is not None and "stays stopped until crg maintenance off g" in short
    sim, state = settled("--offline", "g")
    assert shortfall(sim.model, state, Event("offline", ("g",))) is None
    sim, state = settled("--offline", "g", "--online", "g")
    assert shortfall(sim.model, state, Event("online", ("g",))) is None


def test_what_is_asked_in_maintenance_can_be_taken_back_there() -> None:
    # A switchover in maintenance waits for its end, which leaves the group not at rest
    # (its target is not where it is); a clear must still be taken, or the operator could
    # not withdraw it. Likewise an offline and the online that undoes it.
    sim, state = settled("--maintenance-on", "g", "--switchover", "g", "n2")
    assert refused(sim, state, "switchover", "g", "n3") is None  # another target instead
    short = shortfall(sim.model, state, Event("switchover", ("g", "n2")))
    assert short == ("g is in maintenance: the cluster service takes no action for it, so "
                     "it stays on n1 until crg maintenance off g")
    assert refused(sim, state, "clear", "g") is None
    assert refused(sim, state, "offline", "g") is None
    sim, state = settled("--maintenance-on", "g", "--switchover", "g", "n2", "--clear", "g",
                         "--maintenance-off", "g")
    assert placement_of(sim.model, state, 0).node == "n1"
    sim, state = settled("--maintenance-on", "g", "--offline", "g", "--online", "g",
                         "--maintenance-off", "g")
    assert outcome_line(placement_of(sim.model, state, 0)) == "g: normal on n1, application up"
    # Once the maintenance ends, what was asked there is done, and may be undone at rest.
    sim, state = settled("--maintenance-on", "g", "--offline", "g", "--maintenance-off", "g")
    assert outcome_line(placement_of(sim.model, state, 0)) == "g: offline on n1, application down"
    assert refused(sim, state, "online", "g") is None


def test_in_maintenance_a_group_far_from_rest_still_takes_a_switchover() -> None:
    # Drained under it, the group would move if it were not in maintenance; a switchover
    # was refused as "not at rest (mode normal, application up)", which contradicts itself.
    sim, state = settled("--maintenance-on", "g", "--drain", "n1")
    assert refused(sim, state, "switchover", "g", "n3") is None
    state = sim.model.apply(state, sim.action(state, Event("switchover", ("g", "n3"))))
    assert sim.model.group_vars(state, 0).target == 3
    short = shortfall(sim.model, state, Event("switchover", ("g", "n3")))
    assert short is not None and short.startswith("g is in maintenance")


def test_a_cleanup_in_maintenance_falls_short_until_it_ends() -> None:
    # A blocked group cleaned up in maintenance is not started until the maintenance ends:
    # the runtime said "done" with the group "moving ... starting".
    sim, state = settled("--fail", "n2", "--fail", "n3", "--fault", "g", "--fault", "g",
                         "--maintenance-on", "g")
    assert placement_of(sim.model, state, 0).mode.value == "blocked"
    event = Event("cleanup", ("g", "n1"))
    assert refused(sim, state, *(event.name, *event.args)) is None
    after = sim.model.apply(state, sim.action(state, event))
    assert shortfall(sim.model, after, event) == (
        "g is in maintenance: the cluster service takes no action for it, so what this "
        "asks for waits until crg maintenance off g")
    sim, state = settled("--fail", "n2", "--fail", "n3", "--fault", "g", "--fault", "g",
                         "--cleanup", "g", "n1")
    assert shortfall(sim.model, state, event) is None


def test_online_of_an_instance_away_from_home_says_why_it_is_offline() -> None:
    # Status calls it offline, so an operator tries crg online: the refusal said "not in
    # offline mode", which contradicts what status shows.
    cfg = config("nodes n1 n2 n3\n  assume at most 2 nodes down",
                 "db: kind instance preferred n1 possible n2 restarts 1")
    sim, steps = simulate(cfg, "--fail", "n1")
    assert refused(sim, steps[-1].state, "online", "db") == Refusal(
        "db is not offline by an operator: an instance group, it runs its application only "
        "on n1 and is offline until n1 can host it again (n1 is down)", busy=False)
    sim, steps = simulate(cfg, "--fault", "db", "--fault", "db")
    reason = refused(sim, steps[-1].state, "online", "db")
    assert reason is not None and reason.reason.endswith(
        "(it spent its restart budget there: crg cleanup db n1, or wait for the restart "
        "window)")
    sim, steps = simulate(cfg)
    assert refused(sim, steps[-1].state, "online", "db") == Refusal(
        "db is not in offline mode", busy=False)


def test_maintenance_for_every_group_needs_only_the_groups_not_yet_so() -> None:
    sim, state = settled("--maintenance-on", "g")
    off = [Event("maintenance-off", (g,)) for g in ("g", "h")]
    on = [Event("maintenance-on", (g,)) for g in ("g", "h")]
    assert needed(sim.model, state, off) == off[:1]
    assert needed(sim.model, state, on) == on[1:]
    sim, state = settled()
    assert needed(sim.model, state, off) == off, "none needed: each refused with its reason"


def test_a_switchover_that_failed_is_withdrawn_and_not_revived_by_the_window() -> None:
    # g moved to n2 and failed there twice (restarts 1): banned on n2, back on n1 — and the
    # switchover to n2 withdrawn, so the window passing leaves g where it is (failback
    # manual) instead of moving it back to n2 long after the operator asked.
    sim, state = settled("--switchover", "g", "n2", "--fault", "g", "--fault", "g")
    assert placement_of(sim.model, state, 0).target is None
    assert refused(sim, state, "switchover", "g", "n1") == Refusal("g is already on n1",
                                                                  busy=False)
    sim, steps = simulate(TRIO, "--switchover", "g", "n2", "--fault", "g", "--fault", "g",
                          "--forgive", "g")
    assert placement_of(sim.model, steps[-1].state, 0).node == "n1"


def test_a_switchover_home_with_another_target_pending_says_that_it_stays() -> None:
    # The switchover to n2 is taken, then n2 loses the store before g gets there: until
    # n2's lease runs out the target waits for it (a partition withdraws nothing), and a
    # switchover to n1, where g still is, cannot cancel it — and says so.
    sim, state = settled()
    for event in (Event("switchover", ("g", "n2")), Event("partition", ("n2",))):
        state = sim.model.apply(state, sim.action(state, event))
    assert placement_of(sim.model, state, 0).target == "n2"
    home = refused(sim, state, "switchover", "g", "n1")
    assert home == Refusal("g is already on n1; the switchover to n2 stays pending (it "
                           "moves once it may run there; crg clear g withdraws it)",
                           busy=False)


def test_a_clear_withdraws_the_target_and_the_placement_decides_again() -> None:
    # h (failback auto) switched over to n2: it stays there while the switchover is in
    # force, and goes home once it is cleared; g (failback manual) stays where it is.
    auto = config("nodes n1 n2 n3", "h: preferred n3 possible n2 failback auto")
    sim, steps = simulate(auto, "--switchover", "h", "n2")
    away = placement_of(sim.model, steps[-1].state, 0)
    assert (away.node, away.target) == ("n2", "n2"), "in force: no failback meanwhile"
    sim, steps = simulate(auto, "--switchover", "h", "n2", "--clear", "h")
    home = placement_of(sim.model, steps[-1].state, 0)
    assert (home.node, home.target) == ("n3", None)
    sim, state = settled("--switchover", "g", "n2", "--clear", "g")
    kept = placement_of(sim.model, state, 0)
    assert (kept.node, kept.target) == ("n2", None)
    assert refused(sim, state, "clear", "g") == Refusal(
        "g has no switchover target: nothing to clear", busy=False)


def test_a_clear_waits_while_the_switchover_is_under_way() -> None:
    # Like every command on a group, a clear is taken at rest: on the way to n2 it waits
    # (busy), and there it withdraws the target.
    sim, state = settled()
    state = sim.model.apply(state, sim.action(state, Event("switchover", ("g", "n2"))))
    moving = refused(sim, state, "clear", "g")
    assert moving is not None and moving.busy, moving
    sim, state = settled("--switchover", "g", "n2")
    assert refused(sim, state, "clear", "g") is None


def test_the_groups_linked_by_avoid_either_way_and_through_others() -> None:
    chain = config("nodes n1 n2 n3",
                   "a: preferred n1 possible n2", "b: preferred n2 possible n3 avoid a",
                   "c: preferred n3 possible n1 avoid b", "d: preferred n1 possible n3")
    model = Simulation(chain).model
    index = {g.name: g.index for g in model.groups}

    def names(*groups: str) -> list[str]:
        return [model.groups[g].name for g in linked(model, tuple(index[n] for n in groups))]

    # a switchover of a may move b (it avoids a), and so c (it avoids b)
    assert names("a") == ["b", "c"]
    assert names("c") == ["a", "b"]
    assert names("b", "c") == ["a"]
    assert names("d") == []
