"""Unit tests of the environment events (spec/events.py): node status changes, their
effect on a group, and the group events (faults and operator commands)."""

from __future__ import annotations

from spec_helpers import bits, group, nodes, running_on, topo, view

from crg.spec.rules import events
from crg.spec.vocabulary.algebra import CONCRETE as A

T = topo()
PAIR = topo((0, 1))
INSTANCE = topo(failover=False)


# -- node status ----------------------------------------------------------------------------


def test_not_up() -> None:
    assert events.not_up(A, nodes()) == 0
    ns = nodes(down=[0], cut=[1], lost=[2], drained=[3])
    assert events.not_up(A, ns) == bits(0, 1, 2, 3)


def test_drain_group_withdraws_a_switchover_to_that_node() -> None:
    before = running_on(0, target=2)
    assert events.drain_group(view(T, before), 1) == before._replace(target=0)
    assert events.drain_group(view(T, before), 2) == before


def test_within_assumption() -> None:
    assert events.within_assumption(A, nodes(), 0, 3, 1)
    assert not events.within_assumption(A, nodes(down=[1]), 0, 3, 1)
    assert events.within_assumption(A, nodes(down=[1]), 0, 3, 2)
    assert events.within_assumption(A, nodes(down=[0]), 0, 3, 1)  # counted once
    assert not events.within_assumption(A, nodes(drained=[2]), 0, 3, 1)  # drained is out


def test_crash_guard() -> None:
    assert events.crash_guard(A, nodes(), 0, 3, 1)
    assert not events.crash_guard(A, nodes(down=[0]), 0, 3, 1)
    assert not events.crash_guard(A, nodes(down=[1]), 0, 3, 1)
    assert events.crash_guard(A, nodes(cut=[0]), 0, 3, 1)  # a cut node can crash too


def test_crash_nodes() -> None:
    assert events.crash_nodes(A, nodes(), 1) == nodes(down=[1])
    assert events.crash_nodes(A, nodes(cut=[0], lost=[1]), 0) == nodes(down=[0], lost=[1])
    assert events.crash_nodes(A, nodes(lost=[0]), 0) == nodes(down=[0])
    assert events.crash_nodes(A, nodes(drained=[0]), 0) == nodes(down=[0], drained=[0])


def test_crash_group_takes_everything_on_the_node() -> None:
    before = running_on(0, target=1, wd=bits(0, 1), ban=bits(0, 2), restarts=1, failed=True)
    after = events.crash_group(view(T, before), 0)
    assert after == before._replace(owner=0, target=0, vip=0, app=0, mon=0, wd=bits(1),
                                    ban=bits(2), restarts=0, failed=False)


def test_crash_group_of_another_node_keeps_the_owner() -> None:
    before = running_on(0, target=3, wd=bits(1), restarts=1, failed=True)
    after = events.crash_group(view(T, before), 1)
    assert after == before._replace(wd=0)


def test_rejoin_guard() -> None:
    assert events.rejoin_guard(A, nodes(down=[1]), 1)
    assert not events.rejoin_guard(A, nodes(), 1)
    assert not events.rejoin_guard(A, nodes(cut=[1]), 1)


def test_rejoin_nodes() -> None:
    assert events.rejoin_nodes(A, nodes(down=[0, 1]), 1) == nodes(down=[0])
    assert events.rejoin_nodes(A, nodes(down=[1], drained=[1]), 1) == nodes(drained=[1])


def test_rejoin_group_ends_the_last_node_episode() -> None:
    last = running_on(1, alerted=True)
    assert events.rejoin_group(view(PAIR, last, nodes(down=[0])), 0) == last._replace(
        alerted=False)
    # a node that comes back drained is no standby: the episode goes on
    drained = view(PAIR, last, nodes(down=[0], drained=[0]))
    assert events.rejoin_group(drained, 0) == last


def test_partition_guard() -> None:
    assert events.partition_guard(A, nodes(), 0, 3, 1)
    assert not events.partition_guard(A, nodes(down=[0]), 0, 3, 2)
    assert not events.partition_guard(A, nodes(cut=[0]), 0, 3, 2)
    assert not events.partition_guard(A, nodes(down=[1]), 0, 3, 1)


def test_partition_nodes() -> None:
    assert events.partition_nodes(A, nodes(down=[1]), 0) == nodes(down=[1], cut=[0])


def test_partition_group_changes_nothing_of_the_group() -> None:
    # the cut-off node keeps what it runs, alerts and all: no episode ends by a partition
    for g in (running_on(0), group(owner=2, vip=bits(0, 1)), group(alerted=True)):
        assert events.partition_group(view(T, g), 0) == g


def test_heal_guard() -> None:
    assert events.heal_guard(A, nodes(cut=[0]), 0)
    assert events.heal_guard(A, nodes(lost=[0]), 0)
    assert not events.heal_guard(A, nodes(), 0)
    assert not events.heal_guard(A, nodes(down=[0]), 0)


def test_heal_nodes() -> None:
    assert events.heal_nodes(A, nodes(cut=[0], lost=[1]), 0) == nodes(lost=[1])
    assert events.heal_nodes(A, nodes(lost=[1]), 1) == nodes()


def test_heal_group_spawns_a_watchdog_for_strays() -> None:
    stray = group(owner=2, vip=bits(0, 1))
    assert events.heal_group(view(T, stray), 0) == stray._replace(wd=bits(0))
    # still the owner (healed before the lease ran out), or holding nothing: no watchdog
    assert events.heal_group(view(T, running_on(0)), 0) == running_on(0)
    assert events.heal_group(view(T, group(owner=2)), 0) == group(owner=2)


def test_expire_ready() -> None:
    assert not events.expire_ready(view(T, running_on(0)), 0)  # not fenced yet
    assert events.expire_ready(view(T, group(owner=1)), 0)
    assert events.expire_ready(view(topo(self_fencing=False), running_on(0)), 0)


def test_expire_guard() -> None:
    assert events.expire_guard(A, nodes(cut=[2]), 2)
    assert not events.expire_guard(A, nodes(lost=[2]), 2)
    assert not events.expire_guard(A, nodes(), 2)


def test_expire_nodes() -> None:
    assert events.expire_nodes(A, nodes(cut=[0, 2]), 2) == nodes(cut=[0], lost=[2])


def test_expire_group_drops_the_ownership_not_the_vip() -> None:
    before = running_on(0, target=1, restarts=1, failed=True)
    after = events.expire_group(view(T, before), 0)
    assert after == before._replace(owner=0, target=0, restarts=0, failed=False)
    assert events.expire_group(view(T, before), 1) == before


def test_drain_guard() -> None:
    assert events.drain_guard(A, nodes(), 0, 3, 1)
    assert not events.drain_guard(A, nodes(drained=[0]), 0, 3, 1)
    assert not events.drain_guard(A, nodes(down=[1]), 0, 3, 1)


def test_drain_nodes() -> None:
    assert events.drain_nodes(A, nodes(down=[1]), 0) == nodes(down=[1], drained=[0])


def test_undrain_guard() -> None:
    assert events.undrain_guard(A, nodes(drained=[0]), 0)
    assert not events.undrain_guard(A, nodes(), 0)


def test_undrain_nodes() -> None:
    assert events.undrain_nodes(A, nodes(drained=[0, 1]), 0) == nodes(drained=[1])


# -- group events ---------------------------------------------------------------------------


def test_fault_within_budget_restarts_locally() -> None:
    before = running_on(0)
    guard, after = events.fault(view(T, before), 0)
    assert guard
    assert after == before._replace(failed=True, wd=bits(0), restarts=1)


def test_fault_beyond_budget_bans_the_node() -> None:
    before = running_on(0, restarts=1)
    guard, after = events.fault(view(T, before), 0)
    assert guard
    assert after == before._replace(failed=True, wd=bits(0), restarts=0, ban=bits(0))


def test_fault_beyond_budget_withdraws_a_switchover_to_that_node_only() -> None:
    # The switchover failed there: the restart window passing must not send it back.
    on_target = running_on(1, restarts=1, target=2)
    _, after = events.fault(view(T, on_target), 1)
    assert after.target == 0 and after.ban == bits(1)
    within = running_on(1, target=2)
    assert events.fault(view(T, within), 1)[1].target == 2, "a local restart keeps it"
    elsewhere = running_on(0, restarts=1, target=3)  # a target in wait, out of reach
    assert events.fault(view(T, elsewhere), 0)[1].target == 3


def test_fault_not_enabled() -> None:
    assert not events.fault(view(T, running_on(0)), 1)[0]  # only where it runs
    assert not events.fault(view(T, running_on(0, failed=True)), 0)[0]
    assert not events.fault(view(T, running_on(0, mon=0)), 0)[0]  # not monitored yet
    assert not events.fault(view(T, running_on(0), nodes(cut=[0])), 0)[0]
    assert not events.fault(view(T, running_on(0, offline=True)), 0)[0]
    offline_mode = group(owner=2, vip=bits(1), app=bits(1), mon=bits(1))
    assert not events.fault(view(INSTANCE, offline_mode, nodes(down=[0])), 1)[0]


def test_switchover() -> None:
    before = running_on(0)
    guard, after = events.switchover(view(T, before), 2)
    assert guard
    assert after == before._replace(target=3)


def test_switchover_not_enabled() -> None:
    assert not events.switchover(view(T, running_on(0)), 0)[0]  # already there
    assert not events.switchover(view(PAIR, running_on(0)), 2)[0]  # not a candidate
    assert not events.switchover(view(T, running_on(0), nodes(down=[1])), 1)[0]
    assert not events.switchover(view(T, running_on(0, target=2)), 1)[0]  # in force
    assert not events.switchover(view(T, group()), 1)[0]  # not placed
    # the owner is the last available node: node 0 is drained, up but not available
    last = view(PAIR, running_on(1), nodes(drained=[0]))
    assert not events.switchover(last, 0)[0]


def test_switchover_to_a_drained_node_is_refused() -> None:
    # Switching is still enabled (node 2 is a live standby), but node 1 is drained: the
    # wish would lie in wait and move the group when node 1 is undrained.
    drained = view(T, running_on(0), nodes(drained=[1]))
    assert not events.switchover(drained, 1)[0]
    assert events.switchover(drained, 2)[0]


UNSETTLED = {
    "starting": group(owner=1, vip=bits(0), app=bits(0)),  # monitors not yet started
    "watchdog": running_on(0, wd=bits(0)),
    "stray": running_on(0, vip=bits(0, 1)),  # the VIP still on another node
    "failed": running_on(0, failed=True, wd=bits(0)),
}
"""Owned groups that are not at rest: operator commands wait for them."""


def test_switchover_only_when_settled() -> None:
    for name, g in UNSETTLED.items():
        assert not events.switchover(view(T, g), 1)[0], name


def test_go_offline_only_when_settled() -> None:
    for name, g in UNSETTLED.items():
        assert not events.go_offline(view(T, g), -1)[0], name


def test_go_online_only_when_settled() -> None:
    # offline mode at rest: VIP alone on the owner, nothing announced
    at_rest = group(owner=1, vip=bits(0), offline=True)
    assert events.go_online(view(T, at_rest), -1)[0]
    still_stopping = at_rest._replace(app=bits(0), wd=bits(0))
    assert not events.go_online(view(T, still_stopping), -1)[0]
    assert not events.go_online(view(T, group(offline=True)), -1)[0]  # not placed


def test_clear_withdraws_the_switchover_target_and_nothing_else() -> None:
    before = running_on(1, target=2, restarts=1)
    guard, after = events.clear(view(T, before), -1)
    assert guard
    assert after == before._replace(target=0)


def test_clear_needs_a_target_and_a_group_at_rest() -> None:
    assert not events.clear(view(T, running_on(0)), -1)[0]  # nothing to withdraw
    for name, g in UNSETTLED.items():
        assert not events.clear(view(T, g._replace(target=2)), -1)[0], name


def test_intent_taken_at_rest_or_in_maintenance() -> None:
    assert events.intent_taken(view(T, running_on(0)))
    for name, g in UNSETTLED.items():
        assert not events.intent_taken(view(T, g)), name
        assert events.intent_taken(view(T, g._replace(maintenance=True))), name
    assert events.intent_taken(view(T, group(maintenance=True)))  # not even placed


def test_in_maintenance_operator_intent_is_taken_in_any_state() -> None:
    # In maintenance nothing is on its way to rest, and a switchover or offline given there
    # leaves the group unsettled until it ends: these take it back.
    for name, g in UNSETTLED.items():
        g = g._replace(maintenance=True)
        assert events.clear(view(T, g._replace(target=2)), -1)[0], name
        assert not events.clear(view(T, g._replace(target=0)), -1)[0], name
        assert events.go_offline(view(T, g._replace(offline=False)), -1)[0], name
        assert not events.go_offline(view(T, g._replace(offline=True)), -1)[0], name
        assert events.go_online(view(T, g._replace(offline=True)), -1)[0], name
        assert not events.go_online(view(T, g._replace(offline=False)), -1)[0], name
    # And a switchover: the group may be far from rest for as long as it lasts.
    for name, g in UNSETTLED.items():
        assert not events.switchover(view(T, g), 1)[0], name
        assert events.switchover(view(T, g._replace(maintenance=True)), 1)[0], name


def test_forgive() -> None:
    for before in (group(ban=bits(1)), group(restarts=1), running_on(0, restarts=1)):
        guard, after = events.forgive(view(T, before), -1)
        assert guard
        assert after == before._replace(ban=0, restarts=0)
    assert not events.forgive(view(T, running_on(0)), -1)[0]


def test_go_offline() -> None:
    guard, after = events.go_offline(view(T, running_on(0)), -1)
    assert guard
    assert after == running_on(0, offline=True)
    assert not events.go_offline(view(T, running_on(0, offline=True)), -1)[0]
    assert not events.go_offline(view(T, group()), -1)[0]


def test_go_online() -> None:
    guard, after = events.go_online(view(T, group(owner=1, vip=bits(0), offline=True)), -1)
    assert guard
    assert after == group(owner=1, vip=bits(0))
    assert not events.go_online(view(T, running_on(0)), -1)[0]


def test_undrain_group_ends_the_last_node_episode() -> None:
    last = running_on(1, alerted=True)
    assert events.undrain_group(view(PAIR, last, nodes(drained=[0])), 0) == last._replace(
        alerted=False)
    assert events.undrain_group(view(PAIR, last, nodes(drained=[0], down=[0])), 0) == last


def test_cleanup_lifts_the_ban_on_one_node() -> None:
    before = running_on(1, ban=bits(0, 1), restarts=0)
    guard, after = events.cleanup(view(PAIR, before), 0)
    assert guard
    assert after == before._replace(ban=bits(1))


def test_cleanup_of_the_owner_restores_its_budget_and_ends_the_blocked_episode() -> None:
    stuck = running_on(1, ban=bits(0, 1), blocked_alerted=True)
    guard, after = events.cleanup(view(PAIR, stuck), 1)
    assert guard
    assert after == stuck._replace(ban=bits(0), blocked_alerted=False)
    guard, after = events.cleanup(view(PAIR, running_on(1, restarts=1)), 1)
    assert guard and after.restarts == 0


def test_cleanup_not_enabled() -> None:
    assert not events.cleanup(view(PAIR, running_on(1)), 1)[0]  # nothing to clean
    assert not events.cleanup(view(PAIR, running_on(1, restarts=1)), 0)[0]  # not the owner
    assert not events.cleanup(view(PAIR, running_on(1, ban=bits(2))), 2)[0]  # not a candidate


def test_switchover_refused_to_a_banned_node() -> None:
    banned = running_on(0, ban=bits(1))
    assert not events.switchover(view(T, banned), 1)[0]
    assert events.switchover(view(T, banned), 2)[0]


def test_maintenance_on_when_at_rest() -> None:
    guard, after = events.maintenance_on(view(T, running_on(0)), -1)
    assert guard
    assert after == running_on(0, maintenance=True)
    assert not events.maintenance_on(view(T, running_on(0, maintenance=True)), -1)[0]
    assert not events.maintenance_on(view(T, group()), -1)[0]  # not placed: not at rest


def test_maintenance_off_whatever_the_state() -> None:
    stopped = group(owner=1, vip=bits(0), maintenance=True)  # its app died meanwhile
    guard, after = events.maintenance_off(view(T, stopped), -1)
    assert guard
    assert after == stopped._replace(maintenance=False)
    assert not events.maintenance_off(view(T, running_on(0)), -1)[0]


def test_fault_is_not_charged_in_maintenance() -> None:
    assert not events.fault(view(T, running_on(0, maintenance=True)), 0)[0]


def test_owner_node() -> None:
    assert events.owner_node(view(T, running_on(2))) == 2
    assert events.owner_node(view(T, group())) == -1
