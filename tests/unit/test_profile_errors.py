"""Every way a profile can be wrong gets one clear message, its line, and exit status 2.

The cases live in ``tests/data/profiles/`` (one defect per file, expectation on the first line;
see the README there). Each file goes through the real ``cockpit validate`` in a subprocess.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from cockpit.cli import main
from cockpit.profile import ProfileError, load_profile

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data" / "profiles"
BAD = sorted((DATA / "bad").glob("*.toml"))
STRICT = sorted((DATA / "strict").glob("*.toml"))
DEMO = ROOT / "profiles" / "demo.toml"

_EXPECT = re.compile(r"^# expect: (?:line (\d+): )?(\S.*)$")
_EXPECT_STRICT = re.compile(r"^# expect-strict: (\S.*)$")

# Cases whose line the loader cannot find yet (case name -> why); each becomes a strict
# xfail, so the mark must come off the day the loader learns to find it.
KNOWN_LINE_MISSES: dict[str, str] = {}

KNOWN_LINT_GAPS: dict[str, str] = {}


@dataclass(frozen=True)
class Expectation:
    """What ``cockpit validate`` must say about one case file."""

    line: int | None
    fragment: str


def first_line(path: Path) -> str:
    """The first line of a case file; the header is ASCII even when the rest is not text."""
    return path.read_bytes().split(b"\n", 1)[0].decode("ascii")


def expectation(path: Path) -> Expectation:
    """Parse ``# expect: [line N: ]fragment`` from the first line."""
    match = _EXPECT.match(first_line(path))
    assert match, f"{path.name}: first line must be '# expect: [line N: ]<fragment>'"
    return Expectation(int(match.group(1)) if match.group(1) else None, match.group(2))


def strict_expectation(path: Path) -> str:
    """Parse ``# expect-strict: fragment`` from the first line."""
    match = _EXPECT_STRICT.match(first_line(path))
    assert match, f"{path.name}: first line must be '# expect-strict: <fragment>'"
    return match.group(1)


@dataclass(frozen=True)
class Run:
    """The outcome of one ``cockpit validate`` process."""

    status: int
    output: str
    stdout: str = ""
    stderr: str = ""


def validate(*args: str | Path) -> Run:
    """Run ``cockpit validate ARGS`` in a fresh interpreter."""
    done = subprocess.run(
        [sys.executable, "-m", "cockpit", "validate", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return Run(done.returncode, done.stdout + done.stderr, done.stdout, done.stderr)


def validate_all(jobs: Iterable[tuple[str | Path, ...]]) -> dict[tuple[str | Path, ...], Run]:
    """Run many validations side by side: each is a separate process, mostly start-up time."""
    todo = list(jobs)
    with ThreadPoolExecutor(max_workers=min(8, os.cpu_count() or 2)) as pool:
        return dict(zip(todo, pool.map(lambda job: validate(*job), todo), strict=True))


@pytest.fixture(scope="module")
def runs() -> dict[tuple[str | Path, ...], Run]:
    """Every bad case file through the CLI, each in its own process."""
    return validate_all([(p,) for p in BAD])


def _params(
    paths: list[Path], known: dict[str, str], *, only_with_line: bool = False
) -> list[object]:
    out: list[object] = []
    for path in paths:
        if only_with_line and expectation(path).line is None:
            continue
        reason = known.get(path.stem)
        marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
        out.append(pytest.param(path, marks=marks, id=path.stem))
    return out


# ---------------------------------------------------------------- the case files


def test_the_case_files_are_there_and_all_have_an_expectation() -> None:
    assert len(BAD) >= 40
    assert len(STRICT) >= 10
    for path in BAD:
        expectation(path)
    for path in STRICT:
        strict_expectation(path)
    names = {p.stem for p in BAD} | {p.stem for p in STRICT}
    assert set(KNOWN_LINE_MISSES) <= names
    assert set(KNOWN_LINT_GAPS) <= names


@pytest.mark.parametrize("path", BAD, ids=[p.stem for p in BAD])
def test_validate_refuses_a_bad_profile_with_a_clear_message(
    path: Path, runs: dict[tuple[str | Path, ...], Run]
) -> None:
    run = runs[(path,)]
    expected = expectation(path)
    assert run.status == 2, run.output
    assert "Traceback" not in run.output
    assert expected.fragment in run.output
    assert run.output.startswith(f"error: {path}")
    if expected.line is not None and path.stem not in KNOWN_LINE_MISSES:
        assert f"{path}:{expected.line}:" in run.output


@pytest.mark.parametrize("path", _params(BAD, KNOWN_LINE_MISSES, only_with_line=True))
def test_the_problem_points_at_the_line(path: Path) -> None:
    expected = expectation(path)
    with pytest.raises(ProfileError) as caught:
        load_profile(path)
    problems = caught.value.problems
    assert len(problems) == 1, problems
    assert expected.fragment in problems[0].message
    assert problems[0].line == expected.line


def test_unknown_source_kind_message_names_the_kind_in_use(
    runs: dict[tuple[str | Path, ...], Run],
) -> None:
    path = DATA / "bad" / "unknown-source-kind.toml"
    run = runs[(path,)]
    assert "'ftp'" in run.output
    assert "expected one of" in run.output or "use one of" in run.output


def test_unknown_source_kind_message_does_not_dump_the_table() -> None:
    with pytest.raises(ProfileError) as caught:
        load_profile(DATA / "bad" / "unknown-source-kind.toml")
    assert "unknown source kind 'ftp'" in caught.value.problems[0].message


# ---------------------------------------------------------------- files that are not profiles


def test_a_zero_byte_file_is_an_empty_profile(tmp_path: Path) -> None:
    empty = tmp_path / "empty.toml"
    empty.write_bytes(b"")
    run = validate(empty)
    assert run.status == 2
    assert f"error: {empty}: the profile is empty" in run.output


def test_a_directory_is_not_a_profile(tmp_path: Path) -> None:
    run = validate(tmp_path)
    assert run.status == 2
    assert f"error: {tmp_path}: is a directory" in run.output
    assert "Traceback" not in run.output


def test_a_missing_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.toml"
    run = validate(missing)
    assert run.status == 2
    assert f"error: {missing}: no such file" in run.output
    assert "Traceback" not in run.output


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_an_unreadable_file(tmp_path: Path) -> None:
    locked = tmp_path / "locked.toml"
    locked.write_bytes(DEMO.read_bytes())
    locked.chmod(0)
    run = validate(locked)
    assert run.status == 2
    assert f"error: {locked}: permission denied" in run.output


# ---------------------------------------------------------------- good files, many files


def test_a_valid_profile_exits_0() -> None:
    run = validate(DEMO)
    assert run.status == 0, run.output
    assert run.output.startswith(f"ok: {DEMO}: demo-web v2")
    assert "error" not in run.output


def test_many_files_exit_2_if_any_is_bad_and_every_file_is_reported(tmp_path: Path) -> None:
    syntax = DATA / "bad" / "syntax-error.toml"
    unknown = DATA / "bad" / "unknown-key-nested.toml"
    missing = tmp_path / "missing.toml"
    run = validate(DEMO, syntax, missing, unknown, DEMO)
    assert run.status == 2
    # Results on stdout, errors on stderr (as every command does), each in argument order.
    assert (
        run.stdout.splitlines() == [f"ok: {DEMO}: demo-web v2 (1 steps, 8 checks, 4 metrics)"] * 2
    ), run.output
    errors = run.stderr.splitlines()
    assert len(errors) == 3, run.output
    assert errors[0].startswith(f"error: {syntax}:{expectation(syntax).line}: TOML syntax error")
    assert errors[1].startswith(f"error: {missing}: no such file")
    assert errors[2].startswith(f"error: {unknown}:{expectation(unknown).line}:")


def test_many_good_files_exit_0() -> None:
    run = validate(DEMO, DEMO)
    assert run.status == 0
    assert run.output.count(f"ok: {DEMO}:") == 2


# ---------------------------------------------------------------- --strict


# The strict cases run the CLI in this process (same code path as `cockpit validate`, without
# a second of interpreter start-up per file); the process-level contract is proven above.


def validate_here(capsys: pytest.CaptureFixture[str], *args: str | Path) -> Run:
    """Run ``cockpit validate ARGS`` through the CLI entry point in this process."""
    status = main(["validate", *map(str, args)])
    captured = capsys.readouterr()
    return Run(status, captured.out + captured.err)


@pytest.mark.parametrize("path", _params(STRICT, KNOWN_LINT_GAPS))
def test_strict_flags_each_unsafe_profile(path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    plain = validate_here(capsys, path)
    assert plain.status == 0, f"the case must be a valid profile: {plain.output}"
    strict = validate_here(capsys, "--strict", path)
    assert strict.status == 2, strict.output
    findings = [line for line in strict.output.splitlines() if line.startswith("error:")]
    assert len(findings) == 1, strict.output
    assert findings[0].startswith(f"error: {path}: {strict_expectation(path)}")
    assert findings[0].endswith("(--strict)")


def test_demo_passes_strict() -> None:
    run = validate("--strict", DEMO)
    assert run.status == 0, run.output
    assert run.output.startswith(f"ok: {DEMO}:")


def test_a_list_item_is_named_by_its_id_where_it_has_one() -> None:
    with pytest.raises(ProfileError) as caught:
        load_profile(DATA / "bad" / "between-reversed.toml")
    (problem,) = caught.value.problems
    assert problem.where == "metrics['error-rate'].threshold"  # not metrics[0]
