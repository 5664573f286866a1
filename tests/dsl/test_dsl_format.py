"""crg fmt: canonical layout, comments kept, meaning unchanged, idempotent."""

from __future__ import annotations

from pathlib import Path

import pytest
from crg_strategies import configs
from hypothesis import HealthCheck, given, settings

import crg.dsl
from crg.dsl import ConfigError, Source, decode_source, parse, parse_document
from crg.dsl.format import format_checked, format_source, quote

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "examples").rglob("*.crg"))

# Generating a config draws a few hundred values, so fewer examples than elsewhere.
ROUND_TRIP = settings(max_examples=150, derandomize=True, deadline=None,
                      suppress_health_check=[HealthCheck.too_slow])


def fmt(text: str) -> str:
    return format_source(Source("t.crg", text))


def comments(text: str) -> list[str]:
    return [c.text.rstrip() for c in parse_document(Source("t.crg", text)).comments]


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.name)
def test_examples_are_formatted(example: Path) -> None:
    text = example.read_text(encoding="utf-8")
    assert fmt(text) == text


def test_canonical_layout() -> None:
    messy = (
        'cluster c { nodes a,b , c lease 3s assume at most 1 nodes down\n'
        'assume faults crash app-fault }\n'
        'group g { vip 10.0.0.1/24 dev eth0 app { start "x --a \\"b\\"\tc" stop signal TERM '
        'timeout 1m30s env { A = "1" B = "2" } shell dir "/srv" } monitor http '
        '"http://{vip}/" fails 2 timeout 1s every 2s preferred a possible b c notify none }\n'
    )
    assert fmt(messy) == (
        "cluster c {\n"
        "  nodes a b c\n"
        "  lease 3s\n"
        "  assume at most 1 node down\n"
        "  assume faults crash, app-fault\n"
        "}\n"
        "\n"
        "group g {\n"
        "  vip 10.0.0.1/24 dev eth0\n"
        "  app {\n"
        '    start "x --a \\"b\\"\\tc"\n'
        "    stop signal TERM timeout 1m30s\n"
        "    env {\n"
        '      A = "1"\n'
        '      B = "2"\n'
        "    }\n"
        "    shell\n"
        '    dir "/srv"\n'
        "  }\n"
        '  monitor http "http://{vip}/" every 2s timeout 1s fails 2\n'
        "  preferred a\n"
        "  possible b, c\n"
        "  notify none\n"
        "}\n"
    )


def test_comments_stay_where_they_were() -> None:
    text = (
        "# header\n"
        "\n"
        "\n"
        "cluster c { nodes a b  # the nodes\n"
        "  lease 3s }  # after the block\n"
        "# about defaults\n"
        "defaults {  # on the header\n"
        "  restarts 2\n"
        "\n"
        "\n"
        "  # alone in the block\n"
        "  failback auto\n"
        "  # last in the block\n"
        "}\n"
        "group g { app { start \"x\"  # on start\n"
        "  env { # on env\n"
        "  } } possible b,\n"
        "  # inside a list\n"
        "  a  # trailing after an own-line comment\n"
        "}\n"
        "# the end\n"
    )
    assert fmt(text) == (
        "# header\n"
        "\n"
        "cluster c {\n"
        "  nodes a b  # the nodes\n"
        "  lease 3s\n"
        "}  # after the block\n"
        "\n"
        "# about defaults\n"
        "defaults {  # on the header\n"
        "  restarts 2\n"
        "\n"
        "  # alone in the block\n"
        "  failback auto\n"
        "  # last in the block\n"
        "}\n"
        "\n"
        "group g {\n"
        "  app {\n"
        '    start "x"  # on start\n'
        "    env {}  # on env\n"
        "  }\n"
        "  possible b, a\n"
        "  # inside a list\n"
        "  # trailing after an own-line comment\n"
        "}\n"
        "\n"
        "# the end\n"
    )


def test_a_comment_inside_a_list_adds_no_blank_line() -> None:
    # The list's later lines were taken for a blank line after the comment.
    text = ("cluster c {\n"
            "  nodes n1  # first\n"
            "    n2  # second\n"
            "    n3\n"
            "  lease 4s\n"
            "}\n")
    assert fmt(text) == ("cluster c {\n"
                         "  nodes n1 n2 n3  # first\n"
                         "  # second\n"
                         "  lease 4s\n"
                         "}\n")


@pytest.mark.parametrize("text", ["", "\n\n", "# only a comment", "  # indented\n\n# two\n"])
def test_files_without_blocks(text: str) -> None:
    out = fmt(text)
    assert comments(out) == comments(text)
    assert fmt(out) == out


def test_crlf_line_ends_become_lf() -> None:
    text = "cluster c {\r\n  nodes a  # x\r\n}\r\n"
    assert fmt(text) == "cluster c {\n  nodes a  # x\n}\n"


def test_durations_and_counts_keep_their_spelling() -> None:
    text = "group g { restarts 007 within 90s monitor process every 1m30s timeout 0500ms }"
    assert fmt(text) == ("group g {\n  restarts 7 within 90s\n"
                         "  monitor process every 1m30s timeout 0500ms\n}\n")


def test_formatting_needs_only_valid_syntax() -> None:
    # Unknown nodes and a missing vip are for `check` to report; fmt still formats.
    assert fmt("group g{preferred nowhere}") == "group g {\n  preferred nowhere\n}\n"
    with pytest.raises(ConfigError):
        fmt("group g { preferred }")


@pytest.mark.parametrize("value", ["", "plain", 'q"uote', "back\\slash", "tab\there",
                                   "new\nline", "{vip} {{x}}", "é ü 日本"])
def test_quote_reads_back(value: str) -> None:
    document = parse_document(Source("t", f"group g {{ hook command {quote(value)} }}"))
    statement = document.blocks[0].statements[0]
    assert statement.target is not None  # type: ignore[union-attr]
    assert statement.target.value == value  # type: ignore[union-attr]


@ROUND_TRIP
@given(configs())
def test_format_keeps_meaning_and_comments(text: str) -> None:
    out = fmt(text)
    assert parse(out) == parse(text)
    assert comments(out) == comments(text)


@ROUND_TRIP
@given(configs())
def test_format_is_idempotent_and_tidy(text: str) -> None:
    out = fmt(text)
    assert fmt(out) == out
    assert out.endswith("\n") and not out.startswith("\n")
    assert "\n\n\n" not in out
    assert all(line == line.rstrip() for line in out.split("\n"))


@pytest.mark.parametrize(("written", "canonical"), [
    ("sigterm", "TERM"), ("SIGKILL", "KILL"), ("usr1", "USR1"), ("Hup", "HUP"),
    ("bogus", "bogus"),  # not a signal: kept as written, for check to report
])
def test_stop_signal_is_written_canonically(written: str, canonical: str) -> None:
    text = f'group g {{ app {{ start "x" stop signal {written} timeout 1s }} }}'
    assert f"    stop signal {canonical} timeout 1s\n" in fmt(text)


CORPUS = sorted((ROOT / "tests" / "dsl" / "corpus").glob("*.crg"))
# A monitor holds one of each option, so its second `every` has no place in the tree.
UNFORMATTABLE = {"monitor-option-twice"}


@pytest.mark.parametrize("path", CORPUS, ids=lambda p: p.stem)
def test_files_that_fail_only_validation_are_formatted(path: Path) -> None:
    # Intended (README, "Command line"): fmt needs valid syntax, not a valid configuration.
    # Misspelt statements read as names (code "syntax" too) stop it: it would join them to
    # the list they follow.
    try:
        text = decode_source(path.read_bytes(), path.name).text
    except ConfigError:
        return  # not UTF-8: nothing to format
    with pytest.raises(ConfigError) as info:
        parse(text)
    if path.stem in UNFORMATTABLE or "syntax" in {d.code for d in info.value.errors}:
        with pytest.raises(ConfigError):
            fmt(text)
        return
    out = fmt(text)
    assert fmt(out) == out
    assert comments(out) == comments(text)
    with pytest.raises(ConfigError) as again:
        parse(out)
    assert [d.code for d in again.value.errors] == [d.code for d in info.value.errors]


MESSY = "cluster c { nodes a,b }\ngroup g { vip 10.0.0.1/24 app { start \"x\" } preferred a }"


@pytest.mark.parametrize("path", [*EXAMPLES, *CORPUS], ids=lambda p: p.stem)
def test_format_checked_gives_what_parse_makes_of_its_text(path: Path) -> None:
    # crg import takes its validation from the formatter's parse instead of parsing the
    # written text again: it must be what parse says of that text, errors and all.
    try:
        text = decode_source(path.read_bytes(), path.name).text
    except ConfigError:
        return
    for written in (text, text.replace("\n", "\n\n")):  # canonical (mostly), then not
        try:
            out, checked = format_checked(Source(path.name, written))
        except ConfigError:
            continue  # fmt refuses it (a syntax error): nothing written, nothing to check
        try:
            expected: object = parse(out, path.name)
        except ConfigError as exc:
            expected = exc.diagnostics
        assert (checked.diagnostics if isinstance(checked, ConfigError) else checked
                ) == expected


def test_a_canonical_text_is_parsed_once(monkeypatch: pytest.MonkeyPatch) -> None:
    parsed: list[str] = []
    parse_tree = crg.dsl.parse_tree

    def counted(source: Source) -> object:
        parsed.append(source.text)
        return parse_tree(source)

    monkeypatch.setattr(crg.dsl, "parse_tree", counted)
    out, checked = format_checked(Source("t.crg", MESSY))
    assert parsed == [MESSY, out]  # formatted, then read back and compared
    parsed.clear()
    again, checked_again = format_checked(Source("t.crg", out))
    assert parsed == [out]  # already canonical: its parse is the formatted text's
    assert again == out
    assert isinstance(checked, ConfigError) and isinstance(checked_again, ConfigError)
    assert checked.diagnostics == checked_again.diagnostics  # "group 'g' has no monitor"
