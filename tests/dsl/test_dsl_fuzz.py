"""Whatever the input, the language answers with a Config or a ConfigError, never a crash.

Three sources of input: arbitrary text and bytes, soups of the language's own tokens
(which get much deeper into the parser than random text), and small mutations of the
examples (delete, duplicate, swap or replace tokens), which land next to valid files.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crg.cli import main
from crg.dsl import ConfigError, Source, decode_source, parse, parse_document
from crg.dsl.diagnostics import render
from crg.dsl.format import canonical, format_source

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = [p.read_text(encoding="utf-8") for p in sorted((ROOT / "examples").rglob("*.crg"))]

FUZZ = settings(max_examples=200, derandomize=True, deadline=None,
                suppress_health_check=[HealthCheck.too_slow])

_TOKEN = re.compile(r'"(?:\\.|[^"\\\n])*"|#[^\n]*|\s+|[{},=]|[^\s{},="#]+')
_KEYWORDS = ["cluster", "defaults", "group", "nodes", "lease", "heartbeat", "store-timeout",
             "fence-margin", "assume", "at", "most", "node", "down", "faults", "kind", "vip",
             "dev", "app", "monitor", "preferred", "possible", "failback", "restarts",
             "within", "notify", "avoid", "alert", "hook", "fencing", "every", "timeout",
             "fails", "start", "stop", "signal", "status", "env", "shell", "dir"]
_VALUES = ["{", "}", ",", "=", "n1", "n2", "g", "all", "none", "auto", "instance", "log",
           "tcp", "process", "TERM", "sigkill", "1s", "-1s", "0ms", "1m30s", "3", "-2",
           "1.5s", "1d", "9" * 30 + "h", "10.0.0.1/24", "fe80::1/64", "fe80::1%eth0/64",
           "10.0.0.1", '"x"', '"{vip}:80"', '"http://[{vip}"', '"{bad"', '"\\q"', "#c\n",
           "\n", "'", "\\", ";", "\u00e9", "\x00", "\x1b"]


def assert_clean_outcome(text: str) -> None:
    """parse either succeeds or raises a ConfigError that renders; fmt likewise."""
    source = Source("fuzz.crg", text)
    try:
        config = parse(text, "fuzz.crg")
    except ConfigError as exc:
        assert exc.errors, "a ConfigError must hold at least one error"
        rendered = render(exc.source, exc.diagnostics)
        assert "fuzz.crg:" in rendered
        for diagnostic in exc.diagnostics:
            assert 1 <= diagnostic.span.line <= text.count("\n") + 1
        config = None
    try:
        document = parse_document(source)
    except ConfigError:
        assert config is None, "parse accepted what parse_document rejected"
        return
    # Syntax is fine, so the formatter must work and keep whatever meaning there is.
    formatted = format_source(source)
    assert format_source(Source("fuzz.crg", formatted)) == formatted
    assert parse_document(Source("fuzz.crg", formatted)).blocks == canonical(document).blocks
    if config is not None:
        assert parse(formatted) == config


@FUZZ
@given(st.text())
def test_random_text(text: str) -> None:
    assert_clean_outcome(text)


@FUZZ
@given(st.lists(st.sampled_from(_KEYWORDS + _VALUES), max_size=40),
       st.lists(st.sampled_from([" ", "\n", ""]), min_size=40, max_size=40))
def test_token_soup(tokens: list[str], gaps: list[str]) -> None:
    assert_clean_outcome("".join(t + g for t, g in zip(tokens, gaps, strict=False)))


@FUZZ
@given(st.binary())
def test_random_bytes(data: bytes) -> None:
    try:
        source = decode_source(data, "fuzz.crg")
    except ConfigError as exc:
        assert exc.errors[0].code == "encoding"
        render(exc.source, exc.diagnostics)
        return
    assert_clean_outcome(source.text)


@st.composite
def mutated_examples(draw: st.DrawFn) -> str:
    tokens = _TOKEN.findall(draw(st.sampled_from(EXAMPLES)))
    words = [i for i, t in enumerate(tokens) if not t.isspace()]
    for _ in range(draw(st.integers(1, 3))):
        i = draw(st.sampled_from(words))
        operation = draw(st.sampled_from(["delete", "duplicate", "swap", "replace"]))
        if operation == "delete":
            tokens[i] = ""
        elif operation == "duplicate":
            tokens[i] = f"{tokens[i]} {tokens[i]}"
        elif operation == "swap":
            j = draw(st.sampled_from(words))
            tokens[i], tokens[j] = tokens[j], tokens[i]
        else:
            tokens[i] = draw(st.sampled_from(_KEYWORDS + _VALUES + [tokens[w] for w in words]))
    return "".join(tokens)


@FUZZ
@given(mutated_examples())
def test_mutated_examples(text: str) -> None:
    assert_clean_outcome(text)


def test_mutation_tokenizer_round_trips() -> None:
    for text in EXAMPLES:
        assert "".join(_TOKEN.findall(text)) == text


@settings(FUZZ, max_examples=50)
@given(st.binary(max_size=300) | mutated_examples().map(str.encode))
def test_command_line_never_shows_a_traceback(data: bytes) -> None:
    handle, path = tempfile.mkstemp(suffix=".crg")
    out, err = io.StringIO(), io.StringIO()
    try:
        os.write(handle, data)
        os.close(handle)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            # parsing and validation only: a valid mutant could take the checker minutes
            assert main(["check", "--validate-only", path]) in (0, 2)
            assert main(["fmt", "--check", path]) in (0, 1, 2)
    finally:
        os.unlink(path)
    assert "Traceback" not in out.getvalue() + err.getvalue()
