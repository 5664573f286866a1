"""What an operator can change in the configuration to remove a violation, in one
sentence, for the invariants a configuration can break (SPEC.md section 9: coverage, the
VIP and the application held twice without fencing, a livelock of groups linked by
``avoid``). The others hold for every configuration the language accepts; nothing in the
file can be advised for them."""

from __future__ import annotations

from crg.checker.result import Violation
from crg.dsl import Config
from crg.dsl.model import Fencing
from crg.spec.present.words import count

_TWO_HOLDERS = ("vip-unique", "app-exclusive", "vip-held")


def advice(config: Config, violation: Violation) -> str | None:
    """The change to the configuration that would remove ``violation``, or None."""
    if violation.group is None:
        return None
    group = config.group(violation.group)
    topology = violation.trace.model.topology
    if violation.prop.liveness:
        moving = _moving(violation)
        linked = sorted({group.name, *group.avoid} & moving) if group.avoid else []
        if len(linked) < 2:
            return None
        return (f"{', '.join(sorted(moving))} keep moving because of avoid (a group moves "
                "off a node it shares with a group it avoids, which may then have to "
                "move too): drop an avoid of the cycle, or make one of them failback "
                "manual, and check again")
    if violation.prop.name == "coverage":
        n, k = len(group.candidates), topology.max_down
        fewer = (f", or assume at most {count(n - 1, 'node')} down" if n <= k else "")
        return (f"{group.name} runs on {count(n, 'node')} ({', '.join(group.candidates)}) "
                f"and the check assumes at most {count(k, 'node')} down (or drained) at "
                f"once: add possible nodes to {group.name}{fewer}")
    if violation.prop.name in _TWO_HOLDERS and group.fencing is Fencing.NONE:
        return (f"{group.name} has fencing none: a node cut off from the store keeps its "
                "VIP and application while another node takes the group over; use "
                "fencing self (the default)")
    return None


def _moving(violation: Violation) -> set[str]:
    """The groups whose steps make up the loop of a lasso."""
    trace = violation.trace
    model = trace.model
    if trace.loop is None:
        return set()
    actions = [s.action for s in trace.steps[trace.loop + 1:] if s.action is not None]
    if trace.loop_action is not None:
        actions.append(trace.loop_action)
    return {model.groups[a.group].name for a in actions if a.group >= 0}
