"""Broken configurations: exit 2, compiler-style diagnostics, never a traceback.

Each ``corpus/NAME.crg`` starts with a comment saying what is wrong; ``NAME.err`` is the
exact output of ``crg check NAME.crg``. Regenerate with ``CRG_UPDATE_GOLDEN=1`` and read
the diff: these files are the product's error messages.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from crg.dsl import ConfigError, decode_source, parse

HERE = Path(__file__).parent
CRGDSL = HERE.parents[1] / "crgdsl"
CORPUS = sorted((HERE / "corpus").glob("*.crg"))
UPDATE = os.environ.get("CRG_UPDATE_GOLDEN") == "1"

# Every error code the language can report, and the ones that are only ever warnings.
ERROR_CODES = {"syntax", "encoding", "missing", "duplicate", "value", "defaults", "reference",
               "unknown-node", "unknown-group", "duplicate-vip", "address", "template",
               "timing"}
WARNING_CODES = {"no-standby", "offline-forever", "unused-node", "empty", "assumption",
                 "fencing-unexplored", "too-few-nodes", "relative-dir", "unheard-hooks",
                 "dir-placeholder"}


def test_corpus_is_large_enough() -> None:
    assert len(CORPUS) >= 30


@pytest.mark.parametrize("path", CORPUS, ids=lambda p: p.stem)
def test_broken_file_is_reported(path: Path, crg: Callable[..., Any],
                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(path.parent)  # diagnostics print the path as given
    result = crg("check", path.name)
    assert result.code == 2
    assert result.out == ""
    assert "Traceback" not in result.err
    assert re.search(rf"^{re.escape(path.name)}:\d+:\d+: error: ", result.err, re.MULTILINE)
    assert re.search(r"^ +\| *\^+$", result.err, re.MULTILINE), "no caret line"
    assert re.search(rf"^{re.escape(path.name)}: \d+ errors?(, \d+ warnings?)?$",
                     result.err, re.MULTILINE), "no summary"
    expected = path.with_suffix(".err")
    if UPDATE:
        expected.write_text(result.err, encoding="utf-8")
    assert result.err == expected.read_text(encoding="utf-8")


@pytest.mark.parametrize("path", CORPUS, ids=lambda p: p.stem)
def test_broken_file_says_what_is_wrong(path: Path) -> None:
    assert path.read_bytes().startswith(b"# ")


def test_every_error_code_is_in_the_corpus() -> None:
    seen: set[str] = set()
    for path in CORPUS:
        with pytest.raises(ConfigError) as info:
            parse(decode_source(path.read_bytes(), path.name).text)
        seen |= {d.code for d in info.value.errors}
    assert seen == ERROR_CODES


def test_code_lists_cover_the_source() -> None:
    # A new diagnostic code must be added above (and, if it is an error, to the corpus).
    used = set()
    for module in CRGDSL.glob("*.py"):
        text = module.read_text()
        used |= set(re.findall(r'code="([a-z-]+)"', text))
        used |= set(re.findall(r'\bDiagnostic\((?:[^()]|\([^()]*\))*?"([a-z-]+)"\)', text))
    assert used == ERROR_CODES | WARNING_CODES
