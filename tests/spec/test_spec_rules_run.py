"""Unit tests of the run method's rules (spec/rules_run.py) on hand-made views.

Each rule: when it is enabled, when it is not, and exactly what it changes. Three nodes,
0 preferred, then 1 and 2, unless a test says otherwise.
"""

from __future__ import annotations

from spec_helpers import bits, group, nodes, running_on, topo, view

from crg.spec.rules import run as rules_run

T = topo()
INSTANCE = topo(failover=False)


# -- claim ------------------------------------------------------------------------------


def test_claim_free_group_on_first_candidate() -> None:
    guard, after = rules_run.claim(view(T, group(restarts=1)), 0)
    assert guard
    assert after == group(owner=1, restarts=0)


def test_claim_only_by_the_node_the_placement_chooses() -> None:
    v = view(T, group())
    assert not rules_run.claim(v, 1)[0]
    assert not rules_run.claim(v, 2)[0]


def test_claim_skips_down_and_banned_candidates() -> None:
    assert rules_run.claim(view(T, group(), nodes(down=[0])), 1)[0]
    assert rules_run.claim(view(T, group(ban=bits(0))), 1)[0]
    assert rules_run.claim(view(T, group(ban=bits(0, 1))), 2)[0]


def test_claim_not_enabled_when_owned() -> None:
    v = view(T, group(owner=1))
    assert not any(rules_run.claim(v, n)[0] for n in range(3))


def test_claim_waits_for_a_cut_preferred_node_to_expire() -> None:
    # A cut node's lease is still valid (it may still hold the VIP): nobody may take the
    # group yet, and the cut node itself cannot act.
    v = view(T, group(), nodes(cut=[0]))
    assert not any(rules_run.claim(v, n)[0] for n in range(3))
    assert rules_run.claim(view(T, group(), nodes(lost=[0])), 1)[0]


def test_claim_prefers_a_node_free_of_avoided_groups() -> None:
    t = topo(avoid=(1,))
    assert rules_run.claim(view(t, group(), avoided={1: 1}), 1)[0]  # group 1 is on node 0
    assert not rules_run.claim(view(t, group(), avoided={1: 1}), 0)[0]


# -- acquire-vip -----------------------------------------------------------------------


def test_acquire_vip_on_owner() -> None:
    guard, after = rules_run.acquire_vip(view(T, group(owner=1)), 0)
    assert guard
    assert after == group(owner=1, vip=bits(0))


def test_acquire_vip_not_enabled() -> None:
    assert not rules_run.acquire_vip(view(T, group(owner=1)), 1)[0]  # not the owner
    assert not rules_run.acquire_vip(view(T, group(owner=1, vip=bits(0))), 0)[0]  # held
    # a service down is still owed (the previous host could not send it)
    assert not rules_run.acquire_vip(view(T, group(owner=1, announced=True)), 0)[0]
    assert not rules_run.acquire_vip(view(T, group(owner=1), nodes(cut=[0])), 0)[0]
    # the group is leaving (a switchover to node 1): no VIP here
    assert not rules_run.acquire_vip(view(T, group(owner=1, target=2)), 0)[0]


# -- start-app --------------------------------------------------------------------------


def test_start_app_where_the_vip_is() -> None:
    before = group(owner=1, vip=bits(0))
    guard, after = rules_run.start_app(view(T, before), 0)
    assert guard
    assert after == before._replace(app=bits(0))


def test_start_app_not_enabled() -> None:
    assert not rules_run.start_app(view(T, group(owner=1)), 0)[0]  # no VIP yet
    held = group(owner=1, vip=bits(0))
    assert not rules_run.start_app(view(T, held._replace(failed=True)), 0)[0]
    assert not rules_run.start_app(view(T, held._replace(offline=True)), 0)[0]
    assert not rules_run.start_app(view(T, held._replace(app=bits(0))), 0)[0]
    assert not rules_run.start_app(view(T, held, nodes(cut=[0])), 0)[0]


def test_start_app_of_an_instance_only_on_its_preferred_node() -> None:
    assert rules_run.start_app(view(INSTANCE, group(owner=1, vip=bits(0))), 0)[0]
    # node 0 is gone: node 1 holds the VIP in offline mode, without the application
    away = view(INSTANCE, group(owner=2, vip=bits(1)), nodes(down=[0]))
    assert not rules_run.start_app(away, 1)[0]


# -- start-monitors ---------------------------------------------------------------------


def test_start_monitors_after_the_application() -> None:
    before = group(owner=1, vip=bits(0), app=bits(0))
    guard, after = rules_run.start_monitors(view(T, before), 0)
    assert guard
    assert after == before._replace(mon=bits(0))


def test_start_monitors_not_enabled() -> None:
    assert not rules_run.start_monitors(view(T, group(owner=1, vip=bits(0))), 0)[0]
    assert not rules_run.start_monitors(view(T, running_on(0)), 0)[0]  # already running
    failed = group(owner=1, vip=bits(0), app=bits(0), failed=True)
    assert not rules_run.start_monitors(view(T, failed), 0)[0]


# -- notify-up ---------------------------------------------------------------------------


def test_notify_up_once_the_whole_stack_is_up() -> None:
    before = running_on(0, announced=False)
    guard, after = rules_run.notify_up(view(T, before), 0)
    assert guard
    assert after == before._replace(announced=True)


def test_notify_up_not_enabled() -> None:
    assert not rules_run.notify_up(view(T, running_on(0)), 0)[0]  # already announced
    no_monitors = running_on(0, announced=False, mon=0)
    assert not rules_run.notify_up(view(T, no_monitors), 0)[0]
    assert not rules_run.notify_up(view(T, running_on(0, announced=False)), 1)[0]
    leaving = running_on(0, announced=False, target=2)
    assert not rules_run.notify_up(view(T, leaving), 0)[0]
