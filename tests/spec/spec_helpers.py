"""Small hand-made models, views and scenarios for the spec's tests.

Node indices are 0, 1, 2...; masks are built with :func:`bits`. Variables not named are
zero (no owner, nothing held, flags off), so each test states only what matters to it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from crg.dsl import Config, parse
from crg.spec import Action, ActionKind, GroupTopology, GroupVars, Model, NodeVars, State
from crg.spec.present.simulation import Event, Simulation, Step
from crg.spec.rules.view import View
from crg.spec.vocabulary.algebra import CONCRETE
from crg.spec.vocabulary.variables import FLAG_FIELDS, avoided_vars

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES_DIR = ROOT / "examples"
EXAMPLES = sorted(EXAMPLES_DIR.glob("*.crg"))
"""The examples that should be safe (examples/broken/ are unsafe on purpose)."""
ALL_EXAMPLES = sorted(EXAMPLES_DIR.rglob("*.crg"))


def bits(*nodes: int) -> int:
    mask = 0
    for n in nodes:
        mask |= 1 << n
    return mask


def topo(candidates: Sequence[int] = (0, 1, 2), *, failover: bool = True,
         auto_failback: bool = True, budget: int = 1, self_fencing: bool = True,
         avoid: tuple[int, ...] = (), index: int = 0, name: str = "g",
         subscribers: tuple[str, ...] = ()) -> GroupTopology:
    return GroupTopology(index=index, name=name, failover=failover,
                         candidates=tuple(candidates), auto_failback=auto_failback,
                         budget=budget, self_fencing=self_fencing, subscribers=subscribers,
                         avoid=avoid)


def nodes(**masks: Iterable[int]) -> NodeVars:
    """``nodes(down=[0], cut=[2])``; fields not named are empty (every node up)."""
    unknown = set(masks) - set(NodeVars._fields)
    assert not unknown, f"no such node variable: {unknown}"
    return NodeVars(**{f: bits(*masks.get(f, ())) for f in NodeVars._fields})


def group(**values: Any) -> GroupVars:
    """``group(owner=1, vip=bits(0))``; fields not named are 0/False."""
    base = GroupVars(**{f: 0 for f in GroupVars._fields})
    base = base._replace(**{f: False for f in FLAG_FIELDS})
    return base._replace(**values)


def running_on(n: int, **values: Any) -> GroupVars:
    """A group settled on node ``n``: owned, VIP, application and monitors up, announced."""
    b = bits(n)
    return group(owner=n + 1, vip=b, app=b, mon=b, announced=True)._replace(**values)


def view(t: GroupTopology, g: GroupVars, ns: NodeVars | None = None,
         avoided: dict[int, int | GroupVars] | None = None, n_nodes: int = 3) -> View:
    """``avoided`` gives each avoided group's owner (index + 1), or its variables."""
    seen = {h: avoided_vars(x if isinstance(x, GroupVars) else group(owner=x))
            for h, x in (avoided or {}).items()}
    return View(CONCRETE, t, ns if ns is not None else nodes(), g, seen, n_nodes)


# -- configs and scenarios ----------------------------------------------------------------

_APP = 'app { start "/bin/true" }\n  monitor process'


def config(cluster: str, *groups: str) -> Config:
    """A config from a cluster body and group bodies; each group body gets an app and a
    monitor unless it has its own. ``config("nodes n1 n2", "g: preferred n1 possible n2")``"""
    text = f"cluster c {{\n  {cluster}\n}}\n"
    for index, body in enumerate(groups):
        name, _, statements = body.partition(":")
        vip = f"10.0.0.{index + 1}/24"
        extra = "" if "app" in statements else _APP
        text += f"group {name.strip()} {{\n  vip {vip}\n  {extra}\n  {statements}\n}}\n"
    return parse(text, "test.crg")


def events(*argv: str) -> list[Event]:
    """``events("--fail", "n1", "--switchover", "g", "n2")`` as the command line reads them."""
    from crg.spec.present.simulation import EVENTS_BY_NAME

    out: list[Event] = []
    items = list(argv)
    while items:
        name = items.pop(0).removeprefix("--")
        arity = len(EVENTS_BY_NAME[name].args)
        out.append(Event(name, tuple(items[:arity])))
        del items[:arity]
    return out


def simulate(cfg: Config, *argv: str) -> tuple[Simulation, list[Step]]:
    sim = Simulation(cfg)
    return sim, sim.run(events(*argv))


def kinds(steps: Iterable[Action]) -> list[str]:
    return [a.kind.label for a in steps]


def system_path(m: Model, state: State, limit: int = 10_000) -> list[tuple[Action, State]]:
    """The settling path in the model's fixed order, with the state after each step."""
    out: list[tuple[Action, State]] = []
    for _ in range(limit):
        transitions = m.system_transitions(state)
        if not transitions:
            return out
        action, state, _ = transitions[0]
        out.append((action, state))
    raise AssertionError(f"did not settle within {limit} steps")


def node_kind_action(kind: ActionKind, n: int) -> Action:
    return Action(kind, -1, n)
