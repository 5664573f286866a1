"""``notify all`` (the default) is one list of the other groups shared by every group, not
n² names: a sequence like any other, built in time linear in the number of groups."""

from __future__ import annotations

import pickle

from crg.dsl import parse
from crg.dsl.model import OtherGroups

TEXT = """\
cluster c { nodes n1 n2 }
defaults { app { start "/bin/true" } monitor process }
group a { vip 10.0.0.1/24 preferred n1 }
group b { vip 10.0.0.2/24 preferred n1 notify all }
group c { vip 10.0.0.3/24 preferred n2 notify a }
"""


def test_notify_all_is_a_shared_view_of_the_other_groups() -> None:
    config = parse(TEXT, "x.crg")
    a, b, c = config.groups
    assert isinstance(a.notify, OtherGroups) and isinstance(b.notify, OtherGroups)
    assert a.notify._names is b.notify._names  # one list for every group
    assert list(a.notify) == ["b", "c"] and len(a.notify) == 2
    assert "b" in a.notify and "a" not in a.notify and "z" not in a.notify
    assert a.notify == ("b", "c") and b.notify == ["a", "c"]
    assert a.notify[1] == "c" and a.notify[:1] == ("b",)
    assert hash(a.notify) == hash(("b", "c"))
    assert c.notify == ("a",)
    assert pickle.loads(pickle.dumps(a.notify)) == a.notify


def test_two_thousand_groups_hold_one_list_of_names() -> None:
    lines = ["cluster c { nodes n1 n2 }",
             'defaults { app { start "/bin/true" } monitor process }']
    lines += [f"group g{k} {{ vip 10.{k // 250}.{k % 250}.1/8 preferred n1 }}"
              for k in range(2000)]
    config = parse("\n".join(lines) + "\n", "many.crg")
    names = {id(g.notify._names) for g in config.groups  # type: ignore[attr-defined]
             if isinstance(g.notify, OtherGroups)}
    assert len(names) == 1 and len(config.groups[0].notify) == 1999
