"""Unit tests of the halt method's rules (spec/rules_halt.py) on hand-made views.

The halt method is the reverse of the run method; the same steps serve a local restart
(the VIP stays), offline mode and a move (the VIP goes, then the ownership).
"""

from __future__ import annotations

from spec_helpers import bits, group, nodes, running_on, topo, view

from crg.spec.rules import halt as rules_halt

T = topo()
PAIR = topo((0, 1))
MOVING = {"target": 2}
"""A switchover to node 1 is in force: the group must leave node 0."""


# -- stop-monitors ------------------------------------------------------------------------


def test_stop_monitors_spawns_a_watchdog() -> None:
    before = running_on(0, failed=True)
    guard, after = rules_halt.stop_monitors(view(T, before), 0)
    assert guard
    assert after == before._replace(mon=0, wd=bits(0))


def test_stop_monitors_whenever_the_application_is_not_wanted() -> None:
    assert rules_halt.stop_monitors(view(T, running_on(0, **MOVING)), 0)[0]
    assert rules_halt.stop_monitors(view(T, running_on(0, offline=True)), 0)[0]
    assert rules_halt.stop_monitors(view(T, running_on(0), nodes(down=[1], drained=[0])), 0)[0]


def test_stop_monitors_not_enabled() -> None:
    assert not rules_halt.stop_monitors(view(T, running_on(0)), 0)[0]  # healthy, staying
    assert not rules_halt.stop_monitors(view(T, running_on(0, failed=True)), 1)[0]
    assert not rules_halt.stop_monitors(view(T, running_on(0, failed=True, mon=0)), 0)[0]
    # a cut node cannot act (it fences instead)
    assert not rules_halt.stop_monitors(view(T, running_on(0, failed=True), nodes(cut=[0])), 0)[0]


# -- stop-app ---------------------------------------------------------------------------


def test_stop_app_clears_the_failure() -> None:
    # a local restart: the group stays, so the failure's watchdog retires with this step
    before = running_on(0, mon=0, failed=True, wd=bits(0))
    guard, after = rules_halt.stop_app(view(T, before), 0)
    assert guard
    assert after == before._replace(app=0, failed=False, wd=0)


def test_stop_app_spawns_a_watchdog() -> None:
    before = running_on(0, mon=0, **MOVING)
    guard, after = rules_halt.stop_app(view(T, before), 0)
    assert guard
    assert after == before._replace(app=0, wd=bits(0))


def test_stop_app_not_enabled() -> None:
    assert not rules_halt.stop_app(view(T, running_on(0, failed=True)), 0)[0]  # monitors first
    assert not rules_halt.stop_app(view(T, running_on(0, mon=0)), 0)[0]  # wanted here
    assert not rules_halt.stop_app(view(T, running_on(0, mon=0, failed=True)), 1)[0]


# -- release-vip --------------------------------------------------------------------------


def test_release_vip_when_leaving() -> None:
    before = group(owner=1, vip=bits(0), announced=True, **MOVING)
    guard, after = rules_halt.release_vip(view(T, before), 0)
    assert guard
    assert after == before._replace(vip=0, wd=bits(0))


def test_release_vip_not_enabled() -> None:
    # a local restart keeps the VIP
    assert not rules_halt.release_vip(view(T, group(owner=1, vip=bits(0), failed=True)), 0)[0]
    # the application and the monitors go first
    assert not rules_halt.release_vip(view(T, running_on(0, mon=0, **MOVING)), 0)[0]
    assert not rules_halt.release_vip(view(T, group(owner=1, vip=bits(0), **MOVING)), 1)[0]
    assert not rules_halt.release_vip(view(T, group(owner=1, **MOVING)), 0)[0]


# -- notify-down --------------------------------------------------------------------------


def test_notify_down_during_a_local_restart_keeps_the_vip() -> None:
    before = group(owner=1, vip=bits(0), announced=True, failed=True)
    guard, after = rules_halt.notify_down(view(T, before), 0)
    assert guard
    assert after == before._replace(announced=False)


def test_notify_down_when_leaving_only_after_the_vip_is_released() -> None:
    held = group(owner=1, vip=bits(0), announced=True, **MOVING)
    assert not rules_halt.notify_down(view(T, held), 0)[0]
    guard, after = rules_halt.notify_down(view(T, held._replace(vip=0)), 0)
    assert guard
    assert after == held._replace(vip=0, announced=False)


def test_notify_down_owed_by_a_crashed_host_is_sent_by_the_new_owner() -> None:
    v = view(T, group(owner=2, announced=True), nodes(down=[0]))
    assert rules_halt.notify_down(v, 1)[0]


def test_notify_down_for_a_group_left_without_candidates_comes_from_the_coordinator() -> None:
    # every candidate of PAIR (nodes 0, 1) is down; node 2, the first up node, sends it
    v = view(PAIR, group(announced=True), nodes(down=[0, 1]))
    guard, after = rules_halt.notify_down(v, 2)
    assert guard and not after.announced
    assert not rules_halt.notify_down(view(PAIR, group(announced=True), nodes(down=[0])), 1)[0]


def test_notify_down_not_enabled() -> None:
    assert not rules_halt.notify_down(view(T, group(owner=1, vip=bits(0))), 0)[0]  # nothing owed
    assert not rules_halt.notify_down(view(T, running_on(0, mon=0, failed=True)), 0)[0]
    assert not rules_halt.notify_down(view(T, group(owner=1, announced=True)), 1)[0]


# -- release-ownership --------------------------------------------------------------------


def test_release_ownership_last() -> None:
    before = group(owner=1, restarts=1, wd=bits(0), **MOVING)
    guard, after = rules_halt.release_ownership(view(T, before), 0)
    assert guard
    assert after == before._replace(owner=0, restarts=0, wd=0)  # the node is clean


def test_release_ownership_not_enabled() -> None:
    assert not rules_halt.release_ownership(view(T, group(owner=1)), 0)[0]  # staying
    assert not rules_halt.release_ownership(view(T, group(owner=1, vip=bits(0), **MOVING)), 0)[0]
    owed = group(owner=1, announced=True, **MOVING)
    assert not rules_halt.release_ownership(view(T, owed), 0)[0]
    assert not rules_halt.release_ownership(view(T, group(owner=1, **MOVING)), 1)[0]
