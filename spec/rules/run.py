"""The run method and taking ownership (SPEC.md, "Run method").

Each function is one atomic step, performed by node ``n``: it returns its guard and the
group's variables after the step. The steps of the run method are ordered by their guards:
acquire the VIP, start the application, start the monitors, send *service up* (claims 2,
14, 16, 28, 30, 37). Ownership comes first: a node may only run a group it owns, and it may
only take ownership when nobody holds it — the surviving node waits for no failed node,
only for the group to be free (claims 1, 6, 15, 20: "off the critical path").
"""

from __future__ import annotations

from crg.spec.rules.placement import may_claim, placement
from crg.spec.rules.roles import app_wanted, vip_wanted
from crg.spec.rules.view import View, has_owner, managed, up
from crg.spec.vocabulary.algebra import Bool, Word
from crg.spec.vocabulary.variables import GroupVars

Step = tuple[Bool, GroupVars]


def claim(v: View, n: Word) -> Step:
    """Take ownership of a free group on the node the placement chooses (claims 1, 6, 9),
    once the groups it avoids that are placed before it have their nodes.

    The restart budget is per tenure, so it starts afresh on the new owner."""
    a = v.a
    guard = a.and_(a.not_(has_owner(v)), a.eq(placement(v), a.add(n, 1)), up(v, n),
                   may_claim(v), managed(v))
    return guard, v.g._replace(owner=a.add(n, 1), restarts=a.const(0))


def acquire_vip(v: View, n: Word) -> Step:
    """Run method, step 1: configure the VIP (claims 14, 28; for possible nodes 31, 38).

    Any *service down* still owed for an earlier tenure goes out first."""
    a, g = v.a, v.g
    guard = a.and_(vip_wanted(v, n), up(v, n), a.not_(a.bit(g.vip, n)), a.not_(g.announced),
                   managed(v))
    return guard, g._replace(vip=a.with_bit(g.vip, n, a.true))


def start_app(v: View, n: Word) -> Step:
    """Run method, step 2: start the application where the VIP is held (claims 2, 30, 37)."""
    a, g = v.a, v.g
    guard = a.and_(app_wanted(v, n), up(v, n), a.bit(g.vip, n), a.not_(a.bit(g.app, n)),
                   a.not_(g.announced), managed(v))
    return guard, g._replace(app=a.with_bit(g.app, n, a.true))


def start_monitors(v: View, n: Word) -> Step:
    """Run method, step 3: start the application's monitors (claims 30, 37)."""
    a, g = v.a, v.g
    guard = a.and_(app_wanted(v, n), up(v, n), a.bit(g.app, n), a.not_(a.bit(g.mon, n)),
                   managed(v))
    return guard, g._replace(mon=a.with_bit(g.mon, n, a.true))


def notify_up(v: View, n: Word) -> Step:
    """Run method, step 4: send *service up* to the subscribed groups (claims 12, 26, 30,
    37); only once VIP, application and monitors are all up."""
    a, g = v.a, v.g
    guard = a.and_(app_wanted(v, n), up(v, n), a.bit(g.vip, n), a.bit(g.app, n),
                   a.bit(g.mon, n), a.not_(g.announced), managed(v))
    return guard, g._replace(announced=a.true)
