"""An ``instance`` group is never kept off its preferred node by ``avoid`` (SPEC.md,
section 4): its application runs there and nowhere else, so keeping apart would take it
out of service for a soft preference (Pacemaker runs it there too: a colocation penalty
does not outweigh the only node it can run on). ``avoid`` still steers where its VIP
waits in offline mode."""

from __future__ import annotations

from spec_helpers import config, simulate

from crg.spec.present.modes import placements


def where(groups: tuple[str, ...], *argv: str) -> dict[str, tuple[str | None, str]]:
    sim, steps = simulate(config("nodes n1 n2 n3", *groups), *argv)
    return {g: (p.node, p.mode.value)
            for g, p in placements(sim.model, steps[-1].state).items()}


def test_an_instance_runs_at_home_beside_a_group_it_avoids() -> None:
    groups = ("web: preferred n1 possible n2",
              "db: kind instance preferred n1 possible n2 failback auto avoid web")
    assert where(groups)["db"] == ("n1", "normal")


def test_avoid_still_steers_where_the_vip_waits_offline() -> None:
    groups = ("web: preferred n2 possible n3",
              "db: kind instance preferred n1 possible n2, n3 failback auto avoid web")
    # n1 gone: db's VIP waits in offline mode on its first candidate without web
    assert where(groups, "--fail", "n1")["db"] == ("n3", "offline")
