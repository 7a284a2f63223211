"""Mutation testing of the safety core: one small change at a time, its unit tests against each.

A mutant that the tests do not notice ("survived") is a rule that no test pins. The mutants
come from an ``ast`` walk of the module (decorated functions included, unlike mutmut 3): a
flipped comparison, ``and``/``or``, a removed ``not``, a flipped boolean, a number ±1, ``+``/``-``,
a deleted ``raise`` or statement (``x += 1`` included), ``return value`` -> ``return None``.
``assert`` statements, annotations, docstrings and f-strings are left alone.

Each mutant is written into a private copy of the package (the working tree is never touched,
other processes may import it) and the module's fast unit tests run against it with
``pytest -x``, in up to ``--jobs`` processes. Survivors known to behave exactly like the
original are listed with the reason in ``tests/mutation-equivalent.txt``; they are counted out
of the score, and an entry that matches no mutant, or whose mutant is now killed, is an error.

Usage:
    python scripts/mutate.py                              # every target, 2 processes
    python scripts/mutate.py src/cockpit/engine/verdict.py
    python scripts/mutate.py --list src/cockpit/runner/redact.py   # print mutants, run nothing
    python scripts/mutate.py --sample 0.5 --seed 3        # a random half of the mutants
"""

from __future__ import annotations

import argparse
import ast
import copy
import json
import os
import queue
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "cockpit"
EQUIVALENT = ROOT / "tests" / "mutation-equivalent.txt"

# The hypothesis plugin costs about a second per run; only redact's tests use hypothesis.
_NO_HYPOTHESIS = ("-p", "no:hypothesispytest")


@dataclass(frozen=True)
class Target:
    """A module under mutation and the fast unit tests that must notice a change to it."""

    path: str
    tests: tuple[str, ...]
    pytest_args: tuple[str, ...] = _NO_HYPOTHESIS


# Fastest and most pointed first: with ``-x`` a killed mutant costs only the tests up to the
# first failure; a survivor costs them all.
_RULES_TESTS = (
    "tests/unit/test_engine_refusals.py",
    "tests/unit/test_engine_rules.py",
    "tests/unit/test_engine.py",
)
_VERDICT_TESTS = (
    "tests/unit/test_verdict.py",
    "tests/unit/test_engine_rules.py",
    "tests/unit/test_engine.py",
)
_JOURNAL_TESTS = (
    "tests/unit/test_journal_records.py",
    "tests/unit/test_journal_reader.py",
    "tests/unit/test_journal.py",
    # Last: its exhaustive byte-flip and cut tests take most of the 10 s.
    "tests/unit/test_journal_tamper.py",
)

TARGETS = (
    Target("src/cockpit/engine/rules.py", _RULES_TESTS),
    Target("src/cockpit/engine/verdict.py", _VERDICT_TESTS),
    # A fixed seed: a random search would kill a mutant in one run and miss it in the next.
    Target(
        "src/cockpit/runner/redact.py", ("tests/unit/test_redact.py",), ("--hypothesis-seed=0",)
    ),
    Target("src/cockpit/journal/reader.py", _JOURNAL_TESTS),
    Target("src/cockpit/journal/records.py", _JOURNAL_TESTS),
    Target("src/cockpit/probes/prometheus.py", ("tests/unit/test_probe_prometheus.py",)),
)


# ---------------------------------------------------------------- generating mutants


@dataclass(frozen=True)
class Mutant:
    """One change to one module: the byte span it replaces and how it reads."""

    path: str
    line: int
    scope: str
    operator: str
    original: str
    mutated: str
    start: int
    end: int
    replacement: bytes
    occurrence: int = 1

    @property
    def key(self) -> str:
        """A name that survives edits elsewhere in the file (no line number in it)."""
        suffix = f" #{self.occurrence}" if self.occurrence > 1 else ""
        return (
            f"{self.path}::{self.scope}::{self.operator}::{self.original} => {self.mutated}{suffix}"
        )

    def apply(self, source: bytes) -> bytes:
        """The module's source with this mutant in it."""
        return source[: self.start] + self.replacement + source[self.end :]


_COMPARE_FLIPS: dict[type[ast.cmpop], type[ast.cmpop]] = {
    ast.Lt: ast.LtE,
    ast.LtE: ast.Lt,
    ast.Gt: ast.GtE,
    ast.GtE: ast.Gt,
    ast.Eq: ast.NotEq,
    ast.NotEq: ast.Eq,
    ast.In: ast.NotIn,
    ast.NotIn: ast.In,
    ast.Is: ast.IsNot,
    ast.IsNot: ast.Is,
}

# Statements that can be replaced by ``pass`` on their own (compound ones hold others).
_SIMPLE_STATEMENTS = (
    ast.Assign,
    ast.AugAssign,
    ast.AnnAssign,
    ast.Expr,
    ast.Delete,
    ast.Break,
    ast.Continue,
)


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _is_text(node: ast.expr) -> bool:
    return isinstance(node, ast.JoinedStr) or (
        isinstance(node, ast.Constant) and isinstance(node.value, str | bytes)
    )


class _Finder(ast.NodeVisitor):
    """Collects (node, scope, operator, mutated node or None for ``pass``) in source order."""

    def __init__(self) -> None:
        self.found: list[tuple[ast.AST, str, str, ast.AST | None]] = []
        self._scope: list[str] = []
        self._in_function = 0

    @property
    def scope(self) -> str:
        return ".".join(self._scope) or "<module>"

    def _add(self, node: ast.AST, operator: str, new: ast.AST | None) -> None:
        self.found.append((node, self.scope, operator, new))

    def _body(self, body: list[ast.stmt]) -> None:
        for index, stmt in enumerate(body):
            docstring = (
                index == 0
                and isinstance(stmt, ast.Expr)
                and isinstance(stmt.value, ast.Constant)
                and isinstance(stmt.value.value, str)
            )
            if not docstring:
                self.visit(stmt)

    def visit_Module(self, node: ast.Module) -> None:
        self._body(node.body)

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        for expr in [*node.decorator_list, *node.bases]:
            self.visit(expr)
        self._scope.append(node.name)
        self._body(node.body)
        self._scope.pop()

    def _function(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        for expr in node.decorator_list:
            self.visit(expr)
        for default in [*node.args.defaults, *node.args.kw_defaults]:
            if default is not None:
                self.visit(default)
        self._scope.append(node.name)
        self._in_function += 1
        self._body(node.body)  # annotations are not behaviour: not visited
        self._in_function -= 1
        self._scope.pop()

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        self._function(node)

    def visit_AsyncFunctionDef(self, node: ast.AsyncFunctionDef) -> None:
        self._function(node)

    def visit_Lambda(self, node: ast.Lambda) -> None:
        self.visit(node.body)

    def visit_Assert(self, node: ast.Assert) -> None:
        pass  # type narrowing for mypy; removing one changes nothing a test could see

    def visit_JoinedStr(self, node: ast.JoinedStr) -> None:
        pass  # messages; and Python 3.11 gives no reliable positions inside f-strings

    def visit_If(self, node: ast.If) -> None:
        if isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            return
        self.generic_visit(node)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        if self._in_function:
            self._add(node, "statement", None)
        if node.value is not None:
            self.visit(node.value)

    def visit_Raise(self, node: ast.Raise) -> None:
        self._add(node, "raise", None)
        self.generic_visit(node)

    def visit_Return(self, node: ast.Return) -> None:
        value = node.value
        if value is not None and not (isinstance(value, ast.Constant) and value.value is None):
            self._add(node, "return", ast.Return(value=ast.Constant(value=None)))
        self.generic_visit(node)

    def visit_Compare(self, node: ast.Compare) -> None:
        for index, op in enumerate(node.ops):
            flipped = _COMPARE_FLIPS.get(type(op))
            if flipped is not None:
                new = copy.deepcopy(node)
                new.ops[index] = flipped()
                self._add(node, "compare", new)
        self.generic_visit(node)

    def visit_BoolOp(self, node: ast.BoolOp) -> None:
        new = copy.deepcopy(node)
        new.op = ast.Or() if isinstance(node.op, ast.And) else ast.And()
        self._add(node, "and/or", new)
        self.generic_visit(node)

    def visit_UnaryOp(self, node: ast.UnaryOp) -> None:
        if isinstance(node.op, ast.Not):
            self._add(node, "not", copy.deepcopy(node.operand))
        self.generic_visit(node)

    def visit_BinOp(self, node: ast.BinOp) -> None:
        swaps: dict[type[ast.operator], type[ast.operator]] = {ast.Add: ast.Sub, ast.Sub: ast.Add}
        swap = swaps.get(type(node.op))
        if swap is not None and not (_is_text(node.left) or _is_text(node.right)):
            new = copy.deepcopy(node)
            new.op = swap()
            self._add(node, "arith", new)
        self.generic_visit(node)

    def visit_Constant(self, node: ast.Constant) -> None:
        value = node.value
        if isinstance(value, bool):
            self._add(node, "bool", ast.Constant(value=not value))
        elif isinstance(value, int | float):
            self._add(node, "number", ast.Constant(value=value + 1))
            self._add(node, "number", ast.Constant(value=value - 1))

    def generic_visit(self, node: ast.AST) -> None:
        if self._in_function and isinstance(node, _SIMPLE_STATEMENTS):
            self._add(node, "statement", None)
        super().generic_visit(node)


def _line_starts(source: bytes) -> list[int]:
    starts = [0]
    for line in source.splitlines(keepends=True):
        starts.append(starts[-1] + len(line))
    return starts


def generate(path: str, source: bytes) -> list[Mutant]:
    """Every mutant of a module, in source order; each one parses and changes the AST."""
    tree = ast.parse(source)
    original_dump = ast.dump(tree)
    finder = _Finder()
    finder.visit(tree)
    starts = _line_starts(source)
    mutants: list[Mutant] = []
    seen: set[bytes] = set()
    for node, scope, operator, new in finder.found:
        # Positions are in UTF-8 bytes, as ``source`` is.
        lineno, col = node.lineno, node.col_offset  # type: ignore[attr-defined]
        end_lineno, end_col = node.end_lineno, node.end_col_offset  # type: ignore[attr-defined]
        start = starts[lineno - 1] + col
        end = starts[end_lineno - 1] + end_col
        original = _one_line(ast.unparse(node))
        if new is None:
            text, mutated = "pass", "pass"
        elif isinstance(new, ast.stmt):
            text = mutated = ast.unparse(new)
        else:
            # Parentheses keep the new expression's precedence whatever surrounds it.
            mutated = _one_line(ast.unparse(new))
            text = f"({mutated})"
        mutant = Mutant(path, lineno, scope, operator, original, mutated, start, end, text.encode())
        changed = mutant.apply(source)
        try:
            if ast.dump(ast.parse(changed)) == original_dump or changed in seen:
                continue
        except SyntaxError:
            continue
        seen.add(changed)
        mutants.append(mutant)
    counts: Counter[str] = Counter()
    numbered = []
    for mutant in mutants:
        counts[mutant.key] += 1
        numbered.append(replace(mutant, occurrence=counts[mutant.key]))
    return numbered


# ---------------------------------------------------------------- the equivalent list


@dataclass
class Equivalent:
    """A listed survivor and why it cannot be told apart from the original."""

    key: str
    reason: str
    line: int


def read_equivalents(path: Path) -> list[Equivalent]:
    """Entries of the list: a key line, then its reason on indented lines.

    Raises:
        SystemExit: an entry without a reason, or a reason without an entry.
    """
    entries: list[Equivalent] = []
    if not path.exists():
        return entries
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not raw.strip() or raw.startswith("#"):
            continue
        if raw[0].isspace():
            if not entries:
                raise SystemExit(f"{path}:{number}: a reason with no mutant above it")
            entries[-1].reason = (entries[-1].reason + " " + raw.strip()).strip()
        else:
            entries.append(Equivalent(raw.strip(), "", number))
    for entry in entries:
        if not entry.reason:
            raise SystemExit(f"{path}:{entry.line}: {entry.key}: say why it is equivalent")
    return entries


# ---------------------------------------------------------------- running the tests


@dataclass
class Slot:
    """A private copy of the package that one test process at a time uses."""

    root: Path

    @property
    def src(self) -> Path:
        return self.root / "src"


def _make_slot(base: Path, index: int) -> Slot:
    slot = Slot(base / f"slot{index}")
    shutil.copytree(PACKAGE, slot.src / "cockpit", ignore=shutil.ignore_patterns("__pycache__"))
    # Compiled once, so that each run compiles only the module it mutates.
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", str(slot.src)], check=True, cwd=slot.root
    )
    return slot


@dataclass(frozen=True)
class Run:
    """One run of a target's tests: 'killed', 'survived' or 'timeout', and the first failure."""

    result: str
    seconds: float
    failed: str = ""


def _pytest(slot: Slot, target: Target, timeout: float) -> Run:
    """Run the target's tests against the slot."""
    hypothesis_dir = slot.root / "hypothesis"
    shutil.rmtree(hypothesis_dir, ignore_errors=True)  # no failing example carried over
    env = dict(os.environ)
    env.update(
        PYTHONPATH=str(slot.src),
        PYTHONDONTWRITEBYTECODE="1",
        HYPOTHESIS_STORAGE_DIRECTORY=str(hypothesis_dir),
    )
    command = [
        sys.executable,
        "-m",
        "pytest",
        "-x",
        "-q",
        "-p",
        "no:cacheprovider",
        # Plugins these tests do not use; textual-snapshot alone imports all of Textual.
        *("-p", "no:textual-snapshot", "-p", "no:syrupy", "-p", "no:anyio"),
        "--rootdir",
        str(ROOT),
        "-c",
        str(ROOT / "pyproject.toml"),
        *target.pytest_args,
        *(str(ROOT / t) for t in target.tests),
    ]
    output = slot.root / "pytest.out"
    began = time.monotonic()
    with output.open("wb") as out:
        process = subprocess.Popen(
            command,
            cwd=slot.root,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # so a timeout ends the test's own children too
        )
        try:
            code = process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            return Run("timeout", time.monotonic() - began)
    seconds = time.monotonic() - began
    if code in (4, 5):  # usage error, nothing collected: the set-up is wrong, not the mutant
        raise RuntimeError(f"pytest exit {code} for {' '.join(command)}")
    if code == 0:
        return Run("survived", seconds)
    for line in output.read_text(errors="replace").splitlines():
        if line.startswith(("FAILED ", "ERROR ")):
            # "FAILED ../../work/repo/tests/x.py::test - why", relative to the slot
            kind, _, rest = line.partition(" ")
            path, _, name = rest.split(" - ")[0].partition("::")
            where = os.path.relpath(os.path.normpath(slot.root / path), ROOT)
            return Run("killed", seconds, f"{kind} {where}{'::' + name if name else ''}")
    return Run("killed", seconds, f"pytest exit {code}")


def _write_module(slot: Slot, path: str, source: bytes) -> None:
    module = slot.root / path
    module.write_bytes(source)
    # The stale .pyc could match the new source's size and mtime: never let it be read.
    for pyc in (module.parent / "__pycache__").glob(module.stem + ".*.pyc"):
        pyc.unlink()


@dataclass
class Outcome:
    """What the tests made of one mutant."""

    mutant: Mutant
    result: str
    seconds: float
    failed: str = ""


@dataclass
class Runner:
    """Runs mutants in a pool of slots, one test process per slot."""

    slots: queue.Queue[Slot]
    timeouts: dict[str, float] = field(default_factory=dict)

    def unmutated(self, target: Target) -> Run:
        """The target's tests against the unchanged package: they must pass."""
        slot = self.slots.get()
        try:
            return _pytest(slot, target, timeout=600)
        finally:
            self.slots.put(slot)

    def run(self, target: Target, mutant: Mutant, original: bytes) -> Outcome:
        slot = self.slots.get()
        try:
            _write_module(slot, target.path, mutant.apply(original))
            timeout = self.timeouts[target.path]
            run = _pytest(slot, target, timeout)
            if run.result == "timeout":  # a busy machine, or a real endless loop: look again
                run = _pytest(slot, target, 2 * timeout)
            return Outcome(mutant, run.result, run.seconds, run.failed)
        finally:
            _write_module(slot, target.path, original)
            self.slots.put(slot)


def _check_slot_is_imported(slot: Slot) -> None:
    env = dict(os.environ, PYTHONPATH=str(slot.src))
    where = subprocess.run(
        [sys.executable, "-c", "import cockpit; print(cockpit.__file__)"],
        env=env,
        cwd=slot.root,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    if not where.startswith(str(slot.src)):
        raise SystemExit(f"the tests would import cockpit from {where}, not from the copy")


# ---------------------------------------------------------------- the report


def _short(text: str, width: int = 60) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def report(
    targets: Sequence[Target],
    outcomes: list[Outcome],
    *,
    generated: dict[str, int],
    equivalents: list[Equivalent],
    all_keys: set[str],
    fail_under: float,
) -> int:
    """Print the table, the survivors and the list's problems; the exit status."""
    listed = {e.key: e for e in equivalents}
    by_path: dict[str, list[Outcome]] = {t.path: [] for t in targets}
    for outcome in outcomes:
        by_path[outcome.mutant.path].append(outcome)
    status = 0
    header = (
        f"{'module':34} {'mutants':>7} {'run':>5} {'killed':>6} {'timeout':>7} "
        f"{'survived':>8} {'equiv':>5} {'score':>7}"
    )
    print("\n" + header + "\n" + "-" * len(header))
    survivors: list[Outcome] = []
    for target in targets:
        done = by_path[target.path]
        counts = Counter(
            "equivalent" if o.result == "survived" and o.mutant.key in listed else o.result
            for o in done
        )
        detected = counts["killed"] + counts["timeout"]
        judged = detected + counts["survived"]
        score = 100.0 * detected / judged if judged else 100.0
        if score < fail_under:
            status = 1
        print(
            f"{target.path.removeprefix('src/cockpit/'):34} {generated[target.path]:>7} "
            f"{len(done):>5} {counts['killed']:>6} {counts['timeout']:>7} "
            f"{counts['survived']:>8} {counts['equivalent']:>5} {score:>6.1f}%"
        )
        survivors += [o for o in done if o.result == "survived" and o.mutant.key not in listed]
    if survivors:
        print(f"\nSurvivors ({len(survivors)}): no test noticed these changes")
        for o in sorted(survivors, key=lambda o: (o.mutant.path, o.mutant.line)):
            m = o.mutant
            print(
                f"  {m.path}:{m.line} {m.scope} [{m.operator}] "
                f"{_short(m.original)} → {_short(m.mutated)}"
            )
            print(f"      {m.key}")
    run_keys = {o.mutant.key: o for o in outcomes}
    problems = []
    for entry in equivalents:
        if entry.key.split("::", 1)[0] not in by_path:
            continue  # a module not mutated in this run
        listed_run = run_keys.get(entry.key)
        if entry.key not in all_keys:
            problems.append(f"  line {entry.line}: no such mutant (the code changed): {entry.key}")
        elif listed_run is not None and listed_run.result != "survived":
            problems.append(
                f"  line {entry.line}: {listed_run.result}, not equivalent: remove it: {entry.key}"
            )
    if problems:
        status = 1
        print(f"\n{EQUIVALENT.relative_to(ROOT)} is out of date:")
        print("\n".join(problems))
    return status


# ---------------------------------------------------------------- main


def _targets(paths: Sequence[str]) -> list[Target]:
    if not paths:
        return list(TARGETS)
    known = {t.path: t for t in TARGETS}
    chosen = []
    for path in paths:
        relative = str(Path(path).resolve().relative_to(ROOT))
        if relative not in known:
            raise SystemExit(f"{path}: not a target ({', '.join(known)})")
        chosen.append(known[relative])
    return chosen


def _progress(outcomes: Iterator[Outcome], total: int, began: float) -> Iterator[Outcome]:
    for done, outcome in enumerate(outcomes, start=1):
        if outcome.result == "survived" or done % 50 == 0 or done == total:
            m = outcome.mutant
            print(
                f"[{done}/{total} {time.monotonic() - began:.0f}s] "
                f"{m.path.removeprefix('src/cockpit/')}:{m.line} [{m.operator}] {outcome.result}",
                file=sys.stderr,
                flush=True,
            )
        yield outcome


def main(argv: Sequence[str] | None = None) -> int:
    """Generate, run and report; exit 1 below ``--fail-under`` or with a stale list."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("modules", nargs="*", help="target modules (default: all six)")
    parser.add_argument("--jobs", type=int, default=2, help="test processes at once")
    parser.add_argument("--sample", type=float, default=1.0, help="fraction of mutants to run")
    parser.add_argument("--seed", type=int, default=0, help="seed of --sample")
    parser.add_argument("--fail-under", type=float, default=90.0, help="lowest score per module")
    parser.add_argument("--list", action="store_true", help="print the mutants, run nothing")
    parser.add_argument(
        "--match",
        metavar="TEXT",
        help="only mutants whose key or path:line holds TEXT; print each with the test that failed",
    )
    parser.add_argument("--json", type=Path, metavar="FILE", help="write every outcome to FILE")
    parser.add_argument(
        "--tests",
        nargs="+",
        metavar="TEST",
        help="run these tests (paths or node ids) instead of the modules' own",
    )
    args = parser.parse_args(argv)
    targets = _targets(args.modules)
    if args.tests:
        targets = [replace(t, tests=tuple(args.tests)) for t in targets]
    equivalents = read_equivalents(EQUIVALENT)

    sources = {t.path: (ROOT / t.path).read_bytes() for t in targets}
    mutants = {t.path: generate(t.path, sources[t.path]) for t in targets}
    if args.match:
        mutants = {
            path: [m for m in ms if args.match in m.key or args.match in f"{m.path}:{m.line}"]
            for path, ms in mutants.items()
        }
    if args.list:
        for ms in mutants.values():
            for m in ms:
                print(f"{m.path}:{m.line} [{m.operator}] {m.original} → {m.mutated}")
        return 0
    rng = random.Random(args.seed)
    chosen = [
        (target, m)
        for target in targets
        for m in mutants[target.path]
        if args.sample >= 1.0 or rng.random() < args.sample
    ]
    if args.sample < 1.0:
        print(f"sampled {len(chosen)} of {sum(len(ms) for ms in mutants.values())} mutants")

    began = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="cockpit-mutate-") as base:
        slots: queue.Queue[Slot] = queue.Queue()
        for index in range(args.jobs):
            slots.put(_make_slot(Path(base), index))
        runner = Runner(slots)
        first = slots.get()
        _check_slot_is_imported(first)
        slots.put(first)
        with ThreadPoolExecutor(max_workers=args.jobs) as pool:
            for target, run in zip(targets, pool.map(runner.unmutated, targets), strict=True):
                if run.result != "survived":
                    raise SystemExit(f"the tests of {target.path} fail without any mutant")
                # A busy machine must not turn a slow run into a "detected" mutant; a mutant
                # that times out is run once more with twice the time (Runner.run).
                runner.timeouts[target.path] = max(10.0, 4 * run.seconds)
                print(
                    f"{target.path}: {len(mutants[target.path])} mutants, tests {run.seconds:.1f}s"
                )
        with ThreadPoolExecutor(max_workers=args.jobs) as pool:
            futures = pool.map(lambda tm: runner.run(tm[0], tm[1], sources[tm[0].path]), chosen)
            outcomes = list(_progress(futures, len(chosen), began))
    print(f"\n{len(outcomes)} mutants in {time.monotonic() - began:.0f}s with {args.jobs} jobs")
    if args.json:
        rows = [
            {
                "key": o.mutant.key,
                "line": o.mutant.line,
                "result": o.result,
                "seconds": round(o.seconds, 2),
                "failed": o.failed,
            }
            for o in outcomes
        ]
        args.json.write_text(json.dumps(rows, indent=1, ensure_ascii=False) + "\n")
    if args.match:
        for o in outcomes:
            m = o.mutant
            print(f"{m.path}:{m.line} [{m.operator}] {m.original} → {m.mutated}")
            print(f"    {o.result}{': ' + o.failed if o.failed else ''}")
        return 0
    generated = {path: len(ms) for path, ms in mutants.items()}
    all_keys = {m.key for ms in mutants.values() for m in ms}
    return report(
        targets,
        outcomes,
        generated=generated,
        equivalents=equivalents,
        all_keys=all_keys,
        fail_under=args.fail_under,
    )


if __name__ == "__main__":
    sys.exit(main())
