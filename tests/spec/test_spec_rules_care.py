"""Unit tests of the watchdog, fencing and alert rules (spec/rules_care.py)."""

from __future__ import annotations

from spec_helpers import bits, group, nodes, running_on, topo, view

from crg.spec.rules import care as rules_care

T = topo()
PAIR = topo((0, 1))
"""A group with one standby: node 1 is the last node of its list."""


# -- watchdog-clean -----------------------------------------------------------------------


def test_watchdog_clean_peels_leftovers_in_halt_order() -> None:
    # Node 0 kept a whole stack of a group now owned by node 1.
    stray = group(owner=2, vip=bits(0), app=bits(0), mon=bits(0), wd=bits(0))
    # the watchdog retires with the last layer it removes
    expected = [stray._replace(mon=0), stray._replace(mon=0, app=0),
                stray._replace(mon=0, app=0, vip=0, wd=0)]
    g = stray
    for after_expected in expected:
        guard, g = rules_care.watchdog_clean(view(T, g), 0)
        assert guard
        assert g == after_expected
    assert not rules_care.watchdog_clean(view(T, g), 0)[0]  # nothing left


def test_fence_spawns_a_watchdog_that_stays_until_the_node_is_clean() -> None:
    # a cut owner wants nothing any more, so the watchdog is not retired between layers
    cut = nodes(cut=[0])
    guard, after = rules_care.fence(view(T, running_on(0), cut), 0)
    assert guard and after.wd == bits(0)
    assert not rules_care.watchdog_retire(view(T, after, cut), 0)[0]


def test_watchdog_clean_not_enabled() -> None:
    stray = group(owner=2, vip=bits(0), wd=bits(0))
    assert not rules_care.watchdog_clean(view(T, stray._replace(wd=0)), 0)[0]  # no watchdog
    assert not rules_care.watchdog_clean(view(T, stray, nodes(down=[0])), 0)[0]  # crashed
    assert not rules_care.watchdog_clean(view(T, stray._replace(owner=1)), 0)[0]  # the owner


def test_watchdog_clean_waits_for_contact_with_the_store() -> None:
    # A lost or cut-off node cannot write what it removed (its facts, the watchdog's
    # mark live in the store): it lets go by fencing, and cleans the rest once it heals.
    stray = group(owner=2, app=bits(0), vip=bits(0), wd=bits(0))
    for cut_off in (nodes(lost=[0]), nodes(cut=[0])):
        assert not rules_care.watchdog_clean(view(T, stray, cut_off), 0)[0]
    guard, after = rules_care.watchdog_clean(view(T, stray), 0)
    assert guard and after == stray._replace(app=0)


# -- watchdog-retire ----------------------------------------------------------------------


def test_watchdog_retire_once_the_node_is_clean() -> None:
    before = running_on(0, wd=bits(0, 1))
    guard, after = rules_care.watchdog_retire(view(T, before), 1)
    assert guard
    assert after == before._replace(wd=bits(0))
    # a healthy host holds nothing it should not: its watchdog retires too
    assert rules_care.watchdog_retire(view(T, before), 0)[0]


def test_watchdog_retire_not_enabled() -> None:
    assert not rules_care.watchdog_retire(view(T, running_on(0)), 0)[0]  # no watchdog
    stray = group(owner=2, vip=bits(0), wd=bits(0))
    assert not rules_care.watchdog_retire(view(T, stray), 0)[0]
    failed = running_on(0, mon=0, failed=True, wd=bits(0))
    assert not rules_care.watchdog_retire(view(T, failed), 0)[0]


# -- fence --------------------------------------------------------------------------------


def test_fence_peels_the_stack_of_a_cut_node() -> None:
    before = running_on(0)
    guard, after = rules_care.fence(view(T, before, nodes(cut=[0])), 0)
    assert guard
    assert after == before._replace(mon=0, wd=bits(0))


def test_fence_clears_the_owners_failure_with_the_application() -> None:
    before = running_on(0, mon=0, failed=True)
    guard, after = rules_care.fence(view(T, before, nodes(cut=[0])), 0)
    assert guard
    assert after == before._replace(app=0, failed=False, wd=bits(0))


def test_fence_not_enabled() -> None:
    assert not rules_care.fence(view(T, running_on(0)), 0)[0]  # not cut off
    no_fencing = topo(self_fencing=False)
    assert not rules_care.fence(view(no_fencing, running_on(0), nodes(cut=[0])), 0)[0]
    assert not rules_care.fence(view(T, group(owner=1), nodes(cut=[0])), 0)[0]  # holds nothing
    assert not rules_care.fence(view(T, running_on(0), nodes(lost=[0])), 0)[0]  # too late


# -- alert ----------------------------------------------------------------------------------


def test_alert_on_the_last_node() -> None:
    before = running_on(1)
    guard, after = rules_care.alert(view(PAIR, before, nodes(down=[0])), 1)
    assert guard
    assert after == before._replace(alerted=True)


def test_alert_when_every_other_candidate_is_drained() -> None:
    assert rules_care.alert(view(PAIR, running_on(1), nodes(drained=[0])), 1)[0]


def test_alert_not_enabled() -> None:
    assert not rules_care.alert(view(PAIR, running_on(1)), 1)[0]  # node 0 is up
    assert not rules_care.alert(view(PAIR, running_on(1, alerted=True), nodes(down=[0])), 1)[0]
    assert not rules_care.alert(view(PAIR, running_on(1), nodes(down=[0])), 0)[0]
    # the last node is itself being drained: the group is not staying, no alert
    assert not rules_care.alert(view(PAIR, running_on(1), nodes(down=[0], drained=[1])), 1)[0]
    assert not rules_care.alert(view(PAIR, group(), nodes(down=[0])), 1)[0]  # not placed


# -- alert-blocked -------------------------------------------------------------------------


def test_alert_blocked_when_no_candidate_is_left_within_budget() -> None:
    # node 1 is the owner and banned there; node 0 is banned too: nowhere to go
    before = running_on(1, ban=bits(0, 1))._replace(app=0, mon=0, announced=False)
    guard, after = rules_care.alert_blocked(view(PAIR, before), 1)
    assert guard
    assert after == before._replace(blocked_alerted=True)


def test_alert_blocked_on_the_last_node_once_its_budget_is_spent() -> None:
    last = running_on(1, ban=bits(1))._replace(app=0, mon=0, announced=False)
    assert rules_care.alert_blocked(view(PAIR, last, nodes(down=[0])), 1)[0]


def test_alert_blocked_not_enabled() -> None:
    spent_here = running_on(1, ban=bits(1))
    assert not rules_care.alert_blocked(view(PAIR, spent_here), 1)[0]  # node 0 is eligible
    banned_all = running_on(1, ban=bits(0, 1), blocked_alerted=True)
    assert not rules_care.alert_blocked(view(PAIR, banned_all), 1)[0]  # raised already
    assert not rules_care.alert_blocked(view(PAIR, running_on(1, ban=bits(0, 1))), 0)[0]
    # a drained owner is being emptied: the group will move, it is not blocked
    drained = view(PAIR, running_on(1, ban=bits(0, 1)), nodes(drained=[1]))
    assert not rules_care.alert_blocked(drained, 1)[0]


# -- alert-stranded ------------------------------------------------------------------------


def test_alert_stranded_by_the_first_node_in_contact_when_no_candidate_is_left() -> None:
    # both nodes of the pair are down: node 2, outside its list, is the first node up
    gone = group(announced=False)
    guard, after = rules_care.alert_stranded(view(PAIR, gone, nodes(down=[0, 1])), 2)
    assert guard
    assert after == gone._replace(stranded_alerted=True)
    # drained counts as gone: nothing may host it; node 0 is up, so it raises the alert
    assert rules_care.alert_stranded(view(PAIR, gone, nodes(drained=[0], down=[1])), 0)[0]


def test_alert_stranded_not_enabled() -> None:
    gone = nodes(down=[0, 1])
    # node 1 is drained but in contact with the store: it comes first, not node 2
    first = nodes(down=[0], drained=[1])
    assert not rules_care.alert_stranded(view(PAIR, group(), first), 2)[0]
    raised = group(stranded_alerted=True)
    assert not rules_care.alert_stranded(view(PAIR, raised, gone), 2)[0]  # raised already
    assert not rules_care.alert_stranded(view(PAIR, group(), nodes(down=[0])), 1)[0]  # 1 is up
    # an owner still holds it (lease valid, cut off): it is not stranded yet
    held = running_on(1)
    assert not rules_care.alert_stranded(view(PAIR, held, nodes(down=[0], cut=[1])), 2)[0]
    # nobody in contact with the store: nobody can tell the sinks
    assert not rules_care.alert_stranded(view(PAIR, group(), nodes(down=[0, 1], cut=[2])), 2)[0]


# -- end-episodes --------------------------------------------------------------------------


def test_end_episodes_keeps_the_alerts_of_episodes_that_last() -> None:
    last = running_on(1, alerted=True)
    assert rules_care.end_episodes(view(PAIR, last, nodes(down=[0]))) == last
    stuck = running_on(1, ban=bits(0, 1), blocked_alerted=True)
    assert rules_care.end_episodes(view(PAIR, stuck)) == stuck


def test_end_episodes_clears_the_alert_of_an_episode_that_ended() -> None:
    # a standby is back (the view is the one after the event): the episode is over
    assert not rules_care.end_episodes(view(PAIR, running_on(1, alerted=True))).alerted
    # the group lost its owner: over too
    assert not rules_care.end_episodes(view(PAIR, group(alerted=True), nodes(down=[0]))).alerted
    # a ban was lifted: the group is no longer blocked
    freed = running_on(1, ban=bits(0), blocked_alerted=True)
    assert not rules_care.end_episodes(view(PAIR, freed)).blocked_alerted
    # a node of its list is back: the group is no longer stranded
    back = group(stranded_alerted=True)
    assert not rules_care.end_episodes(view(PAIR, back, nodes(down=[0]))).stranded_alerted
    assert rules_care.end_episodes(view(PAIR, back, nodes(down=[0, 1]))).stranded_alerted
