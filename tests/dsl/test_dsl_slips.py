"""Values that are almost right get a precise fix instead of "unexpected" (crg.dsl.slips)."""

from __future__ import annotations

import pytest

from crg.dsl import ConfigError, parse


def first_error(text: str) -> tuple[str, str, str | None]:
    with pytest.raises(ConfigError) as info:
        parse(text, "t.crg")
    error = info.value.errors[0]
    return str(error.span), error.message, error.hint


def position(text: str, word: str) -> str:
    """``line:column`` of the last ``word`` in ``text``."""
    index = text.rindex(word)
    return f"{text.count(chr(10), 0, index) + 1}:{index - text.rfind(chr(10), 0, index)}"


def group(body: str) -> str:
    return f"cluster c {{ nodes n1 n2 }}\ngroup g {{ {body} }}\n"


RULE = "durations are whole numbers with a unit (ms, s, m or h)"


@pytest.mark.parametrize(("written", "hint"), [
    ("1.5s", f"{RULE}: write 1500ms"), ("1.5m", f"{RULE}: write 1m30s"),
    ("2.25h", f"{RULE}: write 2h15m"), ("1d", f"{RULE}: write 24h"),
    ("3d", f"{RULE}; there is no unit for days, and the longest duration is 24h"),
    ("10sec", f"{RULE}: write 10s"), ("5mins", f"{RULE}: write 5m"),
    ("0.5ms", f"{RULE}; the shortest is 1ms"), ("1h30", f"{RULE}; every number needs its own "
                                                       "unit, as in 1h30m"),
    ("1.5", f"{RULE}, such as 500ms, 2s or 1m30s"),
])
def test_almost_a_duration(written: str, hint: str) -> None:
    for text in (f"cluster c {{ nodes n1 lease {written} }}",
                 group(f"restarts 2 within {written}"),
                 group(f'app {{ start "x" timeout {written} }}'),
                 group(f"monitor process every {written}")):
        assert first_error(text) == (position(text, written), f"'{written}' is not a duration",
                                     hint)


def test_a_number_without_unit_is_still_called_a_number() -> None:
    assert first_error("cluster c { nodes n1 lease 2 }") == (
        "1:28", "unexpected number '2'",
        "a duration needs its unit (ms, s, m or h), as in 2ms or 2s")


@pytest.mark.parametrize(("written", "meant"), [("10 m", "10m"), ("3 s", "3s"),
                                               ("30 seconds", "30s"), ("2\tmins", "2m")])
def test_a_unit_a_space_away_is_written_together(written: str, meant: str) -> None:
    # "within 10 m" was told "a duration needs its unit, as in 10ms or 10s"
    text = group(f"restarts 2 within {written}")
    number = written.split()[0]
    assert first_error(text) == (position(text, number), f"unexpected number '{number}'",
                                 "write the unit right after the number, without a space: "
                                 f"{meant}")


@pytest.mark.parametrize("body", ["restarts 1.5", "monitor process fails 2.5"])
def test_almost_a_count(body: str) -> None:
    text = group(body)
    span, message, hint = first_error(text)
    number = body.split()[-1]
    assert span == position(text, number)
    assert (message, hint) == (f"'{number}' is not a whole number",
                               "counts are whole numbers, such as 3")


@pytest.mark.parametrize(("vip", "zone", "fix"), [
    ("fe80::1%eth0/64", "%eth0", "vip fe80::1/64 dev eth0"),
    ("fe80::1%2", "%2", "vip fe80::1/64 dev 2"),
    ("fe80::1%/64", "%", "vip fe80::1/64 dev IFACE"),
])
def test_zone_id(vip: str, zone: str, fix: str) -> None:
    text = group(f"vip {vip}")
    assert first_error(text) == (position(text, "%"),
                                     f"a VIP cannot have a zone id ('{zone}')",
                                     f"give the interface with dev: {fix}")


NAME_RULE = ("names are ASCII letters, digits, '_', '.' and '-', and start with a letter or "
             "'_'")


@pytest.mark.parametrize(("text", "char", "span"), [
    ("cluster c { nodes n1 n2 }\ngroup wéb { }", "é", "2:8"),
    ("cluster c { nodes n1 nœud }", "œ", "1:23"),
    ("cluster c { nodes n1 ñ }", "ñ", "1:22"),
    ("cluster c { nodes n1 n2@host }", "@", "1:24"),
])
def test_character_a_name_cannot_hold(text: str, char: str, span: str) -> None:
    assert first_error(text) == (span, f"'{char}' cannot be used in a name", NAME_RULE)


def test_punctuation_after_a_name_is_not_called_part_of_it() -> None:
    assert first_error("cluster c { nodes n1 n2; }")[1] == "unexpected character ';'"


@pytest.mark.parametrize(("body", "word", "keyword"), [
    ('vip 10.0.0.5/24 app { start "a" } monitor tcp "{vip}:80" interval 10s', "interval",
     "every"),
    ('vip 10.0.0.5/24 app { start "a" } monitor process migration-threshold 3',
     "migration-threshold", "restarts"),
    ('vip 10.0.0.5/24 app { start "a" } monitor process stickiness 100', "stickiness",
     "failback"),
    ('ip 10.0.0.5/24', "ip", "vip"),
    ('vip 10.0.0.5/24 app { start "a" } monitor process nopreempt', "nopreempt", "failback"),
])
def test_a_word_of_another_cluster_manager_is_told_crg_s(body: str, word: str,
                                                         keyword: str) -> None:
    # An operator who knows Pacemaker or keepalived writes its words first; "unexpected
    # 'interval'" and every keyword listed did not say that `every` is the word (an
    # outside tester's finding).
    text = group(body)
    span, message, hint = first_error(text)
    assert span.startswith(position(text, word))
    assert message == f"unknown statement '{word}'"
    assert hint is not None and hint.startswith(f"crg writes it '{keyword}', as in: ")


def test_an_interval_outside_a_monitor_is_told_it_is_a_monitor_s() -> None:
    # Only on a monitor's line was `interval` told `every`; as a statement of its own the
    # error listed every keyword (an outside tester's finding).
    text = group('vip 10.0.0.5/24 interval 2s app { start "a" } monitor process')
    span, message, hint = first_error(text)
    assert span.startswith(position(text, "interval"))
    assert (message, hint) == ("unknown statement 'interval'", "an interval is a monitor's "
                               "in crg, written 'every': monitor process every 10s")
