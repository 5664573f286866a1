"""The stages a check says as it goes (crg.checker.stages): to the listener of the
moment, and nowhere once it is gone."""

from __future__ import annotations

from types import SimpleNamespace

from crg.checker import stages


def test_stages_go_to_the_listener_of_the_moment_and_nowhere_after() -> None:
    outer: list[str] = []
    inner: list[str] = []
    stages.say("before anyone listens")  # nothing to tell: no error either
    with stages.listening(outer.append):
        stages.say("one")
        with stages.listening(inner.append):
            stages.say("two")
        stages.say("three")
    stages.say("after")
    assert (outer, inner) == (["one", "three"], ["two"])


def test_a_component_is_named_by_its_groups() -> None:
    groups = [SimpleNamespace(name="web"), SimpleNamespace(name="db")]
    assert stages.label(groups) == "web+db"
