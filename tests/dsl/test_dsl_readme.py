"""README.md documents the language; keep its example and its defaults true."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from crg.dsl import Fault, parse
from crg.dsl import builtin_defaults as D
from crg.dsl.export import duration_text
from crg.dsl.templates import PLACEHOLDERS

README = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")


def section(title: str) -> str:
    start = README.index(title)
    return README[start:README.find("\n## ", start + 1)]


def row(first_cell: str) -> str:
    """The table row whose first cell starts with ``first_cell``."""
    [line] = [ln for ln in README.splitlines() if ln.startswith(f"| `{first_cell}")]
    return line


def test_language_example_is_valid() -> None:
    example = re.search(r"```\n(cluster .*?)```", section("## The language"), re.DOTALL)
    assert example is not None
    config = parse(example.group(1))
    assert config.group("web").possible == ("n2", "n3")


def code(text: str) -> str:
    return f"`{text}`"


@pytest.mark.parametrize(("statement", "default"), [
    ("lease", code(duration_text(D.LEASE_MS))),
    ("heartbeat", code(duration_text(D.HEARTBEAT_MS))),
    ("store-timeout", code(duration_text(D.STORE_TIMEOUT_MS))),
    ("fence-margin", code(duration_text(D.FENCE_MARGIN_MS))),
    ("assume at most", code(str(D.MAX_DOWN))),
    ("assume faults", code(", ".join(f.value for f in Fault if f in D.FAULTS))),
    ("kind failover", code(D.KIND.value)),
    ("failback auto", code(D.FAILBACK.value)),
    ("fencing self", code(D.FENCING.value)),
    ("restarts", code(f"{D.RESTARTS} within {duration_text(D.RESTART_WINDOW_MS)}")),
    ("start", "timeout " + code(duration_text(D.START_TIMEOUT_MS))),
    ("status", "timeout " + code(duration_text(D.STATUS_TIMEOUT_MS))),
    ("stop signal", code(f"stop signal {D.STOP_SIGNAL} timeout "
                         f"{duration_text(D.STOP_TIMEOUT_MS)}")),
])
def test_documented_defaults(statement: str, default: str) -> None:
    assert row(statement).split("|")[-2].strip() == default


def test_every_fault_and_signal_is_documented() -> None:
    for signal in D.SIGNALS:
        assert f"`{signal}`" in row("stop signal")
    assert f"`{D.MONITOR_FAILS}`" in section("**`monitor`** kinds")
    assert f"`{duration_text(D.MONITOR_INTERVAL_MS)}`" in section("**`monitor`** kinds")


def test_every_placeholder_is_documented() -> None:
    table = section("### Placeholders")
    assert re.findall(r"^\| `\{(\w+)\}` \|", table, re.MULTILINE) == list(PLACEHOLDERS)
