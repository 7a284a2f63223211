"""benchmarks/report.py (``make bench``): the shape of BENCHMARKS.md, never the speed.

One quick run of two real benchmarks (one records its tables through ``emit.py``, one only
prints), and the merging of a curve and a failed benchmark into the report. No figure is
asserted: speed targets live in the report's verdicts, not in the test suite.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]
BENCHMARKS = ROOT / "benchmarks"


def _load(name: str) -> ModuleType:
    if str(BENCHMARKS) not in sys.path:
        sys.path.insert(0, str(BENCHMARKS))  # report.py imports emit.py and ui_common.py
    spec = importlib.util.spec_from_file_location(
        f"cockpit_bench_{name}", BENCHMARKS / f"{name}.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while it is created
    spec.loader.exec_module(module)
    return module


def _table_rows(markdown: str) -> list[list[str]]:
    """The body rows of every markdown table (header and rule rows left out)."""
    rows = []
    lines = markdown.splitlines()
    for index, line in enumerate(lines):
        if not line.startswith("| ") or set(line) <= set("|- "):
            continue
        if index + 1 < len(lines) and set(lines[index + 1]) <= set("|- ") and lines[index + 1]:
            continue  # a header: the rule row follows it
        rows.append([c.strip() for c in re.split(r"(?<!\\)\|", line)[1:-1]])
    return rows


def test_a_quick_run_writes_every_section_and_a_verdict_on_every_row(tmp_path: Path) -> None:
    out = tmp_path / "BENCHMARKS.md"
    env = {k: v for k, v in os.environ.items() if k != "COCKPIT_BENCH_JSON"}
    argv = [sys.executable, str(BENCHMARKS / "report.py"), "--quick", "--out", str(out)]
    argv += ["--results", str(tmp_path / "results.json")]  # not the last real run's
    done = subprocess.run(
        [*argv, "--only", "journal_append,runner_spawn"],
        capture_output=True,
        text=True,
        check=False,
        env=env,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    text = out.read_text()
    for heading in (
        "# Benchmarks",
        "## Machine and versions",
        "## Summary",
        "## Journals: append, long sessions, open times",
        "## Printed figures (benchmarks that record no table)",
        "## Misses",
        "## Runs",
    ):
        assert heading + "\n" in text, heading
    for row in ("| Python |", "| textual |", "| tmux |", "| glances |", "| htop |", "| btop |"):
        assert row in text, row
    assert "load average (1 min)" in text
    assert "Journal.append throughput" in text
    assert "start_process() -> command exec'd" in text  # runner_spawn's output, as printed
    figures = [r for r in _table_rows(text) if len(r) == 7]  # what .. verdict, note
    assert figures, text
    for cells in figures:
        assert cells[5], f"no verdict: {cells}"
    assert "| `runner_spawn.py` | `10` |" in text


def test_a_curve_and_a_failed_benchmark_are_merged_and_counted_as_misses(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    emit = _load("emit")
    report = _load("report")
    recorded = tmp_path / "tables.jsonl"
    monkeypatch.setenv(emit.JSON_VARIABLE, str(recorded))
    emit.print_curve("cost by size", "metrics", "ms", [(8, 1.0), (16, 2.0), (32, 8.0)])
    emit.print_table("a table", [["a figure", "3 ms", "≤ 5 ms", "OK"], ["context", "1"]])
    tables = [json.loads(line) for line in recorded.read_text().splitlines()]
    assert [t["kind"] for t in tables] == ["curve", "table"]
    assert tables[0]["growth"] == pytest.approx([2.0, 4.0])

    def result(name: str, code: int | None, tables: list[dict[str, object]]) -> object:
        return report.Result(report.Bench(name), [], 1.0, 0.5, 0.6, code, tables, "", "boom")

    import datetime

    text = report.render(
        [result("ui_scale", 0, tables), result("ui_idle_cpu", 1, [])],
        quick=True,
        started=datetime.datetime.now(datetime.UTC),
    )
    assert "| 32 | 8 ms | 4.00x | SUPER-LINEAR |" in text
    misses = text.split("## Misses", 1)[1].split("## Runs", 1)[0]
    assert "cost by size, at 32" in misses
    assert "ui_idle_cpu.py failed (exit 1)" in misses
    assert "| context | 1 |  |  |  | info |  |" in text  # no verdict given: info, not blank
    assert "3 figures judged against a target: 2 met, 1 missed; 1 benchmark(s) failed" in text


def test_an_unknown_benchmark_is_one_line_and_exit_2(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(BENCHMARKS / "report.py"), "--only", "nosuch"],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
    )
    assert done.returncode == 2
    assert done.stderr == "error: --only: no benchmark named nosuch\n"
    assert not (tmp_path / "BENCHMARKS.md").exists()
