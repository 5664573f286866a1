"""`crg show --format json` for every example, compared with tests/dsl/golden/.

Regenerate after an intended change with ``CRG_UPDATE_GOLDEN=1 pytest tests/dsl``, then
read the diff: it is the change in what tools see.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from crg.dsl import values

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES_DIR = ROOT / "examples"
EXAMPLES = sorted(EXAMPLES_DIR.rglob("*.crg"))
GOLDEN = Path(__file__).parent / "golden"
SCHEMA = json.loads((ROOT / "crg" / "schemas" / "config.schema.json").read_text())
UPDATE = os.environ.get("CRG_UPDATE_GOLDEN") == "1"


def golden_path(example: Path) -> Path:
    return GOLDEN / example.relative_to(EXAMPLES_DIR).with_suffix(".json")


@pytest.mark.parametrize("example", EXAMPLES,
                         ids=lambda p: str(p.relative_to(EXAMPLES_DIR)))
def test_show_json_matches_golden(example: Path, crg: Callable[..., Any]) -> None:
    result = crg("show", "--format", "json", str(example))
    assert result.code == 0, result.err
    golden = golden_path(example)
    if UPDATE:
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(result.out, encoding="utf-8")
    assert result.out == golden.read_text(encoding="utf-8")
    jsonschema.Draft202012Validator(SCHEMA).validate(json.loads(result.out))


def test_every_golden_file_has_its_example() -> None:
    expected = {golden_path(e) for e in EXAMPLES}
    assert set(GOLDEN.rglob("*.json")) == expected


def test_schema_is_valid() -> None:
    jsonschema.Draft202012Validator.check_schema(SCHEMA)


def _integer_bounds(node: object, key: str = "") -> list[tuple[str, object]]:
    """(property name, maximum) of every integer property in the schema."""
    found: list[tuple[str, object]] = []
    if isinstance(node, dict):
        if node.get("type") == "integer":
            found.append((key, node.get("maximum")))
        for name, child in node.items():
            found += _integer_bounds(child, name)
    elif isinstance(node, list):
        for child in node:
            found += _integer_bounds(child, key)
    return found


def test_schema_maxima_are_the_validators() -> None:
    # The schema promises readers the same bounds the language enforces; a bound changed
    # in one place only would let `crg show --format json` emit what the schema rejects.
    bounds = _integer_bounds(SCHEMA)
    durations = {m for name, m in bounds if name.endswith("_ms")}
    assert durations == {values.MAX_DURATION_MS}
    assert dict(b for b in bounds if b[0] in ("restarts", "fails")) == {
        "restarts": values.MAX_RESTARTS, "fails": values.MAX_FAILS}


def test_config_at_the_maxima_fits_the_schema(tmp_path: Path,
                                              crg: Callable[..., Any]) -> None:
    # Every bound at its largest accepted value; one step beyond is the language's error.
    at_max = """\
cluster c {
  nodes n1 n2
  lease 24h
  heartbeat 1h
  store-timeout 1h
  fence-margin 1h
  assume at most 1 node down
}
group g {
  vip 127.0.0.9/8
  app { start "sleep 1" timeout 24h  stop signal TERM timeout 24h }
  monitor process every 24h timeout 24h fails 100
  preferred n1
  possible n2
  restarts 100 within 24h
}
"""
    path = tmp_path / "max.crg"
    path.write_text(at_max)
    result = crg("show", "--format", "json", str(path))
    assert result.code == 0, result.err
    jsonschema.Draft202012Validator(SCHEMA).validate(json.loads(result.out))
    path.write_text(at_max.replace("fails 100", "fails 101"))
    assert crg("show", "--format", "json", str(path)).code == 2
