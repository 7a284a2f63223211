"""scripts/mutate.py: which mutants it makes, and how it counts and reports them.

Runs no mutant: ``make mutation`` does that. These tests keep the tool honest, so that a score
cannot come from mutants it silently skipped or an equivalent list that rotted.
"""

from __future__ import annotations

import ast
import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("cockpit_mutate", ROOT / "scripts" / "mutate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while it is created
    spec.loader.exec_module(module)
    return module


mutate = _load()

SOURCE = '''"""A module."""

LIMIT = 3


def _rule(fn):
    return fn


@_rule
def judge(value: int, items: list[int], ok: bool = True) -> bool:
    """Docstring."""
    assert value is not None
    count = 0
    count += 1
    if value < LIMIT and value in items or not ok:
        raise ValueError(f"bad {value + 1}")
    return value - count == 2
'''


def mutants_of(source: str = SOURCE) -> list[Any]:
    return list(mutate.generate("m.py", source.encode()))


def test_every_operator_is_applied_also_inside_a_decorated_function() -> None:
    found = {(m.scope, m.operator, m.original, m.mutated) for m in mutants_of()}
    expected = {
        ("judge", "compare", "value < LIMIT", "value <= LIMIT"),
        ("judge", "compare", "value in items", "value not in items"),
        ("judge", "compare", "value - count == 2", "value - count != 2"),
        ("judge", "and/or", "value < LIMIT and value in items", "value < LIMIT or value in items"),
        (
            "judge",
            "and/or",
            "value < LIMIT and value in items or not ok",
            "(value < LIMIT and value in items) and (not ok)",
        ),
        ("judge", "not", "not ok", "ok"),
        ("<module>", "bool", "True", "False"),  # a default is evaluated where the def is
        ("judge", "number", "0", "1"),
        ("judge", "number", "1", "0"),
        ("judge", "number", "2", "3"),
        ("judge", "arith", "value - count", "value + count"),
        ("judge", "raise", "raise ValueError(f'bad {value + 1}')", "pass"),
        ("judge", "statement", "count += 1", "pass"),
        ("judge", "statement", "count = 0", "pass"),
        ("judge", "return", "return value - count == 2", "return None"),
        ("<module>", "number", "3", "4"),
        ("_rule", "return", "return fn", "return None"),
    }
    assert expected <= found


def test_asserts_docstrings_annotations_and_f_strings_are_left_alone() -> None:
    originals = [m.original for m in mutants_of()]
    assert not [o for o in originals if "assert" in o or "Docstring" in o]
    assert not [o for o in originals if o in ("int", "list[int]", "bool", "value + 1")]
    assert "LIMIT = 3" not in originals  # a statement outside a function is not deleted


def test_each_mutant_parses_and_changes_only_its_own_span() -> None:
    source = SOURCE.encode()
    original = ast.dump(ast.parse(source))
    seen = set()
    for m in mutants_of():
        changed = m.apply(source)
        assert ast.dump(ast.parse(changed)) != original, m.key
        assert changed[: m.start] == source[: m.start]
        assert changed[len(changed) - (len(source) - m.end) :] == source[m.end :]
        seen.add(changed)
    assert len(seen) == len(mutants_of())


def test_positions_are_bytes_so_text_after_non_ascii_is_not_shifted() -> None:
    source = 'def f(x):\n    return "é±" if x < 1 else "ü"\n'
    (flip,) = [m for m in mutants_of(source) if m.operator == "compare"]
    assert flip.apply(source.encode()).decode() == (
        'def f(x):\n    return "é±" if (x <= 1) else "ü"\n'
    )


def test_keys_are_unique_and_carry_no_line_number() -> None:
    twice = "def f(x):\n    y = x * 1\n    return y * 1\n"
    keys = [m.key for m in mutants_of(twice)]
    assert len(keys) == len(set(keys))
    assert "m.py::f::number::1 => 2" in keys
    assert "m.py::f::number::1 => 2 #2" in keys
    moved = [m.key for m in mutants_of("\n\n" + twice)]  # the same code two lines lower
    assert moved == keys


def test_the_equivalent_list_needs_a_reason_for_each_entry(tmp_path: Path) -> None:
    listed = tmp_path / "equivalent.txt"
    listed.write_text("# comment\n\nm.py::judge::not::not ok => ok\n    because\n    of this\n")
    (entry,) = mutate.read_equivalents(listed)
    assert (entry.key, entry.reason) == ("m.py::judge::not::not ok => ok", "because of this")
    listed.write_text("m.py::judge::not::not ok => ok\n")
    with pytest.raises(SystemExit, match="say why"):
        mutate.read_equivalents(listed)


def outcome(key_part: str, result: str) -> Any:
    (m,) = [m for m in mutants_of() if m.key.endswith(key_part)]
    return mutate.Outcome(m, result, 0.1)


def run_report(
    outcomes: list[Any], listed: list[str], capsys: pytest.CaptureFixture[str]
) -> tuple[int, str]:
    target = mutate.Target("m.py", ("tests/x.py",))
    equivalents = [mutate.Equivalent(key, "why", n) for n, key in enumerate(listed, 1)]
    status = mutate.report(
        [target],
        outcomes,
        generated={"m.py": len(outcomes)},
        equivalents=equivalents,
        all_keys={m.key for m in mutants_of()},
        fail_under=90.0,
    )
    return status, capsys.readouterr().out


def test_the_score_counts_equivalents_out_and_timeouts_as_detected(
    capsys: pytest.CaptureFixture[str],
) -> None:
    outcomes = [outcome(f"number::{n}", "killed") for n in ("3 => 4", "3 => 2", "0 => 1")]
    outcomes += [
        outcome("not::not ok => ok", "timeout"),
        outcome("bool::True => False", "survived"),
    ]
    status, out = run_report(outcomes, ["m.py::<module>::bool::True => False"], capsys)
    assert status == 0
    assert "m.py" in out and "100.0%" in out
    status, out = run_report(outcomes, [], capsys)
    assert status == 1  # 4 of 5: below 90 %
    assert "80.0%" in out and "m.py::<module>::bool::True => False" in out


def test_a_stale_or_killed_entry_in_the_list_fails_the_run(
    capsys: pytest.CaptureFixture[str],
) -> None:
    outcomes = [outcome("not::not ok => ok", "killed")]
    status, out = run_report(outcomes, ["m.py::judge::not::not ok => ok"], capsys)
    assert status == 1
    assert "killed, not equivalent: remove it" in out
    status, out = run_report(outcomes, ["m.py::judge::not::gone => away"], capsys)
    assert status == 1
    assert "no such mutant" in out
