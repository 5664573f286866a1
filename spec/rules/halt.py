"""The halt method and giving ownership up (SPEC.md, "Halt method").

The exact reverse of the run method: stop the monitors, stop the application, release
the VIP, send *service down*, then give the ownership key up (claims 2, 13, 16, 27, 33,
36, 40, 43). The same steps serve a local restart (the VIP stays, claims 6-8), a move to
offline mode, and a move to another node. Halting spawns the watchdog (claims 3, 34).
"""

from __future__ import annotations

from crg.spec.rules.placement import moving
from crg.spec.rules.roles import app_wanted, orphaned_down
from crg.spec.rules.run import Step
from crg.spec.rules.view import View, holds, managed, owned, up
from crg.spec.vocabulary.algebra import Word


def stop_monitors(v: View, n: Word) -> Step:
    """Halt step 1: stop the monitors; a watchdog is spawned for the halt (claims 3, 17)."""
    a, g = v.a, v.g
    guard = a.and_(owned(v, n), up(v, n), a.bit(g.mon, n), a.not_(app_wanted(v, n)),
                   managed(v))
    return guard, g._replace(mon=a.with_bit(g.mon, n, a.false), wd=a.with_bit(g.wd, n, a.true))


def stop_app(v: View, n: Word) -> Step:
    """Halt step 2: stop the application (or clean up after its failure). When the group
    stays (a local restart, or offline mode), this is the last thing to clean up: the
    watchdog retires with it; when it leaves, the watchdog stays until the node is clean."""
    a, g = v.a, v.g
    guard = a.and_(owned(v, n), up(v, n), a.bit(g.app, n), a.not_(a.bit(g.mon, n)),
                   a.not_(app_wanted(v, n)), managed(v))
    return guard, g._replace(app=a.with_bit(g.app, n, a.false), failed=a.false,
                             wd=a.with_bit(g.wd, n, moving(v)))


def release_vip(v: View, n: Word) -> Step:
    """Halt step 3: release the VIP, only when the group leaves the node (claims 33, 40)."""
    a, g = v.a, v.g
    guard = a.and_(owned(v, n), up(v, n), moving(v), a.bit(g.vip, n),
                   a.not_(a.bit(g.app, n)), a.not_(a.bit(g.mon, n)), managed(v))
    return guard, g._replace(vip=a.with_bit(g.vip, n, a.false), wd=a.with_bit(g.wd, n, a.true))


def notify_down(v: View, n: Word) -> Step:
    """Halt step 4: send *service down* (claims 13, 27, 36, 43) once the application and
    monitors are stopped and, when leaving, the VIP released. A new owner sends the one
    its crashed predecessor could not, before acquiring the VIP; and when no candidate is
    left to host the group, the cluster's coordinator sends it, so subscribers are never
    left believing a dead service is up."""
    a, g = v.a, v.g
    by_owner = a.and_(owned(v, n), up(v, n), g.announced, a.not_(a.bit(g.app, n)),
                      a.not_(a.bit(g.mon, n)),
                      a.or_(a.not_(moving(v)), a.not_(a.bit(g.vip, n))))
    guard = a.and_(a.or_(by_owner, orphaned_down(v, n)), managed(v))
    return guard, g._replace(announced=a.false)


def release_ownership(v: View, n: Word) -> Step:
    """Halt step 5: give the ownership key up once nothing of the group is left here and
    the down event is sent; only now may another node take the group. The node is clean:
    its watchdog retires."""
    a, g = v.a, v.g
    guard = a.and_(owned(v, n), up(v, n), moving(v), a.not_(holds(v, n)),
                   a.not_(g.announced), managed(v))
    return guard, g._replace(owner=a.const(0), restarts=a.const(0), failed=a.false,
                             wd=a.with_bit(g.wd, n, a.false))
